"""Seeded train / validation / test splits of a dataset's rows."""
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Splits:
  train: np.ndarray
  valid: np.ndarray
  test: np.ndarray


def _count(points, total: int, what: str) -> int:
  if points is None:
    return int(0.1 * total)
  if isinstance(points, float) and 0 < points < 1:
    return int(round(points * total))
  if float(points) != int(points) or points < 0:
    raise ValueError(f'config.data.{what} must be a count or a fraction in (0, 1), got {points!r}')
  return int(points)


def split_rows(total: int, training_points, validation_points, seed: int) -> Splits:
  """A seeded random split into training, validation and test rows (the rest)."""
  n_train = _count(training_points, total, 'training_points')
  n_valid = _count(validation_points, total, 'validation_points')
  if n_train + n_valid > total or n_train < 2:
    raise ValueError(f'{n_train} training + {n_valid} validation points do not fit in {total} models '
                     '(need at least 2 training points)')
  order = np.random.default_rng(seed).permutation(total)
  return Splits(order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])
