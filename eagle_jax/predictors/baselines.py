"""Baseline predictors behind the same predict() interface: FLOPs, linear (the space's one-hot features; NB201:
ops and op pairs), the layer-wise lookup (`lut`: the sum of a profiled layer table over an arch's layers, not
fitted), random."""
import dataclasses
from typing import Optional

import numpy as np

from eagle_jax import spaces
from eagle_jax.data import layer_table

BASELINES = ('flops', 'flops_unpruned', 'linear', 'lut', 'random')


@dataclasses.dataclass
class Baseline:
  """A fitted baseline. `log_target` fits log(values) (positive targets such as latency)."""
  kind: str
  space: spaces.Space
  coefficients: Optional[np.ndarray] = None
  log_target: bool = False
  seed: int = 0
  lookup: Optional[tuple] = None  # lut: (network settings, {layer tag: seconds}) of a layer-profiling workdir

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
    if self.kind in ('random', 'lut'):
      return self
    x = self.features(keys)
    y = np.log(values) if self.log_target else np.asarray(values, np.float64)
    self.coefficients = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return self

  def predict(self, keys) -> np.ndarray:
    keys = self.space.as_keys(keys)
    if self.kind == 'random':
      return np.random.default_rng(self.seed).random(len(keys))
    if self.kind == 'lut':
      return layer_table.lookup_latency(self.space, keys, *self.lookup)
    y = self.features(keys) @ self.coefficients
    return np.exp(y) if self.log_target else y


def read_lookup(layers_workdir: str, space) -> tuple:
  """(network settings, {tag: seconds}) of a layer-profiling workdir of `space`, for the `lut` baseline."""
  if not layers_workdir:
    raise ValueError("baseline 'lut' needs config.data.layers: a layer-profiling workdir "
                     '(python -m eagle_jax.measure --config=configs/measure/layers_<space>.py)')
  network, profiled_space, seconds = layer_table.read_lookup(layers_workdir)
  if profiled_space != space.reference:
    raise ValueError(f'config.data.layers {layers_workdir} profiled the {profiled_space} network, not {space.reference}')
  return network, seconds


def fit_baseline(kind: str, space, keys, values, seed: int = 0, layers_workdir: str = '') -> Baseline:
  """Baseline `kind` of `space` (a Space or its name) fitted to keys -> values (`lut` reads `layers_workdir`)."""
  if kind not in BASELINES:
    raise ValueError(f'unknown baseline {kind!r}; baselines: {BASELINES}')
  values, space = np.asarray(values, np.float64), spaces.get(space)
  lookup = read_lookup(layers_workdir, space) if kind == 'lut' else None
  return Baseline(kind, space, log_target=bool(np.all(values > 0)), seed=seed, lookup=lookup).fit(keys, values)
