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


def split_rows(total: int, training_points, validation_points, seed: int, min_test: int = 0) -> Splits:
  """A seeded random split into training, validation and test rows (the rest, at least `min_test`)."""
  n_train = _count(training_points, total, 'training_points')
  n_valid = _count(validation_points, total, 'validation_points')
  if n_train + n_valid + min_test > total or n_train < 2:
    raise ValueError(f'config.data.training_points={training_points!r} ({n_train}) and validation_points='
                     f'{validation_points!r} ({n_valid}) do not fit the {total} models of the data (need at least 2 '
                     f'training points{f" and {min_test} left to test on" if min_test else ""}): set them lower, '
                     'e.g. as fractions (0.7 and 0.1)')
  order = np.random.default_rng(seed).permutation(total)
  return Splits(order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])
