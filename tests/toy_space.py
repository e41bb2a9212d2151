"""A search space written outside eagle_jax (the README's "your own space"): a chain of 4 positions, each one of
3 ops, 81 archs. Keys are (n, 4) int arrays; strings are 'conv3-pool-skip-conv3'.

Use it as --config.space=toy_space:SPACE on any binary (with this folder on PYTHONPATH), or
eagle_jax.spaces.register(toy_space.SPACE) in Python.
"""
import itertools

import numpy as np

from eagle_jax import spaces

OPS = ('conv3', 'pool', 'skip')
POSITIONS = 4


class ChainSpace(spaces.Space):
  """input -> op -> op -> op -> op -> output, plus Eagle's global node: 7 graph nodes, features = op one-hot,
  input, output, global."""
  name = 'toy_chain'
  num_nodes = POSITIONS + 3
  num_features = len(OPS) + 3

  def as_keys(self, archs) -> np.ndarray:
    if isinstance(archs, str) or (len(archs) == POSITIONS and np.isscalar(archs[0])):
      archs = [archs]
    keys = np.array([self.from_str(a) if isinstance(a, str) else tuple(a) for a in archs], np.int64)
    if keys.ndim != 2 or keys.shape[1] != POSITIONS or ((keys < 0) | (keys >= len(OPS))).any():
      raise ValueError(f'toy_chain keys are {POSITIONS} op ids in 0..{len(OPS) - 1}, got {archs!r:.80}')
    return keys

  def hashable(self, keys) -> list:
    return [tuple(k) for k in np.asarray(keys).reshape(-1, POSITIONS).tolist()]

  def to_str(self, key) -> str:
    return '-'.join(OPS[int(op)] for op in key)

  def from_str(self, text: str) -> tuple:
    names = text.strip().split('-')
    if len(names) != POSITIONS or any(n not in OPS for n in names):
      raise ValueError(f'{text!r} is not {POSITIONS} of {OPS} joined by "-"')
    return tuple(OPS.index(n) for n in names)

  def encode(self, keys):
    keys = self.as_keys(keys)
    n, size = len(keys), self.num_nodes - 1
    edges = np.zeros((n, size, size), np.float32)
    edges[:, np.arange(size - 1), np.arange(1, size)] = 1.0  # the chain
    features = np.zeros((n, self.num_nodes, self.num_features), np.float32)
    features[np.arange(n)[:, None], np.arange(2, POSITIONS + 2)[None], keys] = 1.0  # ops: nodes 2..5
    features[:, 1, len(OPS)] = features[:, -1, len(OPS) + 1] = features[:, 0, len(OPS) + 2] = 1.0
    return spaces.space.with_global_node(edges), features

  def enumerate(self) -> np.ndarray:
    return np.array(list(itertools.product(range(len(OPS)), repeat=POSITIONS)), np.int64)

  def mutate(self, key, rng: np.random.Generator) -> tuple:
    key = list(key)
    position = int(rng.integers(POSITIONS))
    key[position] = int(rng.choice([o for o in range(len(OPS)) if o != key[position]]))
    return tuple(key)


SPACE = ChainSpace()


def accuracy(key) -> float:
  """A made-up accuracy with structure to learn: conv3 helps, more at later positions; pool helps a little."""
  return 50.0 + sum((3.0 + 2 * p) * (op == 0) + 1.0 * (op == 1) for p, op in enumerate(key))
