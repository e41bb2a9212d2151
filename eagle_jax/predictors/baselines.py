"""Baseline predictors behind the same predict() interface: FLOPs, linear (the space's one-hot features; NB201:
ops and op pairs), random."""
import dataclasses
from typing import Optional

import numpy as np

from eagle_jax import spaces

BASELINES = ('flops', 'flops_unpruned', 'linear', 'random')


@dataclasses.dataclass
class Baseline:
  """A fitted baseline. `log_target` fits log(values) (positive targets such as latency)."""
  kind: str
  space: spaces.Space
  coefficients: Optional[np.ndarray] = None
  log_target: bool = False
  seed: int = 0

  def features(self, keys) -> np.ndarray:
    space = self.space
    if self.kind in ('flops', 'flops_unpruned'):
      try:
        counts = space.flops(keys, prune=False) if self.kind == 'flops_unpruned' else space.flops(keys)
      except TypeError:  # a network with no `prune` setting: its keys are the cells as run
        raise ValueError(f"baseline 'flops_unpruned' needs a network with dead ops to keep (NB201's prune=False); "
                         f"{space.name} keys are the cells as run: use 'flops'") from None
      return np.stack([np.ones_like(counts), np.log(counts) if self.log_target else counts / 1e6], axis=1)
    return space.linear_features(keys)

  def fit(self, keys, values, ridge: float = 1e-3) -> 'Baseline':
    if self.kind == 'random':
      return self
    x = self.features(keys)
    y = np.log(values) if self.log_target else np.asarray(values, np.float64)
    self.coefficients = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return self

  def predict(self, keys) -> np.ndarray:
    keys = self.space.as_keys(keys)
    if self.kind == 'random':
      return np.random.default_rng(self.seed).random(len(keys))
    y = self.features(keys) @ self.coefficients
    return np.exp(y) if self.log_target else y


def fit_baseline(kind: str, space, keys, values, seed: int = 0) -> Baseline:
  """Baseline `kind` of `space` (a Space or its name) fitted to keys -> values."""
  if kind not in BASELINES:
    raise ValueError(f'unknown baseline {kind!r}; baselines: {BASELINES}')
  values = np.asarray(values, np.float64)
  return Baseline(kind, spaces.get(space), log_target=bool(np.all(values > 0)), seed=seed).fit(keys, values)
