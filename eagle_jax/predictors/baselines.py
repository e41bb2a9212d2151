"""Baseline predictors behind the same predict() interface: FLOPs, linear one-hot + pairs, random."""
import dataclasses
from typing import Optional

import numpy as np

from eagle_jax.spaces import nasbench201

BASELINES = ('flops', 'flops_unpruned', 'linear', 'random')


def one_hot_pair_features(vecs) -> np.ndarray:
  """One-hot op per edge (30) and one-hot op pair per edge pair (15 x 25), plus a constant."""
  vecs = nasbench201.as_vectors(vecs)
  n, num_ops = len(vecs), len(nasbench201.OPS)
  singles = np.zeros((n, nasbench201.NUM_EDGES, num_ops))
  singles[np.arange(n)[:, None], np.arange(nasbench201.NUM_EDGES)[None], vecs] = 1
  i, j = np.triu_indices(nasbench201.NUM_EDGES, k=1)
  pairs = np.zeros((n, len(i), num_ops * num_ops))
  pairs[np.arange(n)[:, None], np.arange(len(i))[None], vecs[:, i] * num_ops + vecs[:, j]] = 1
  return np.concatenate([np.ones((n, 1)), singles.reshape(n, -1), pairs.reshape(n, -1)], axis=1)


@dataclasses.dataclass
class Baseline:
  """A fitted baseline. `log_target` fits log(values) (positive targets such as latency)."""
  kind: str
  coefficients: Optional[np.ndarray] = None
  log_target: bool = False
  seed: int = 0

  def features(self, vecs) -> np.ndarray:
    if self.kind in ('flops', 'flops_unpruned'):
      counts = nasbench201.flops(vecs, prune=self.kind == 'flops')
      return np.stack([np.ones_like(counts), np.log(counts) if self.log_target else counts / 1e6], axis=1)
    return one_hot_pair_features(vecs)

  def fit(self, vecs, values, ridge: float = 1e-3) -> 'Baseline':
    if self.kind == 'random':
      return self
    x = self.features(vecs)
    y = np.log(values) if self.log_target else np.asarray(values, np.float64)
    self.coefficients = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return self

  def predict(self, vecs) -> np.ndarray:
    vecs = nasbench201.as_vectors(vecs)
    if self.kind == 'random':
      return np.random.default_rng(self.seed).random(len(vecs))
    y = self.features(vecs) @ self.coefficients
    return np.exp(y) if self.log_target else y


def fit_baseline(kind: str, vecs, values, seed: int = 0) -> Baseline:
  if kind not in BASELINES:
    raise ValueError(f'unknown baseline {kind!r}; baselines: {BASELINES}')
  values = np.asarray(values, np.float64)
  return Baseline(kind, log_target=bool(np.all(values > 0)), seed=seed).fit(vecs, values)
