"""NAS-Bench-201: op-vector keys, arch strings, Eagle's encoding, costs (archs), the measured Keras network and
its supernet (network), and the Space that joins them.

The module functions of `archs` (arch_vectors, encode, ...) are this package's own, as the public contract has them.
"""
import numpy as np

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench201.archs import *  # pylint: disable=wildcard-import,unused-wildcard-import


class NasBench201(space_lib.Space):
  """NB201 behind the Space interface: keys are op-vector tuples, strings are NB201 arch strings."""
  name = 'nasbench201'
  num_nodes = NUM_NODES
  num_features = NUM_FEATURES
  prior = 'zc/nb201'  # the project's data-free proxies of every cell (one set serves every NB201 benchmark)
  csv_key_columns = tuple(f'op{k}' for k in range(NUM_EDGES))
  csv_index_columns = ('nb201_index',)
  prior_column = 'synflow'  # chosen by replay on CIFAR-100, reported on CIFAR-10 (experiments/README.md)

  def network(self):
    from eagle_jax.spaces.nasbench201 import network  # pylint: disable=g-import-not-at-top  (TF)
    return network

  def supernet_choices(self, keys) -> np.ndarray:
    """The live ops of each cell: cells with equal live ops run the same network."""
    return live_ops(keys)


  def as_keys(self, archs) -> np.ndarray:
    return as_vectors(archs)

  def hashable(self, keys) -> list:
    return [tuple(v) for v in np.asarray(keys, np.int64).reshape(-1, NUM_EDGES).tolist()]

  def to_str(self, key) -> str:
    return to_arch_str(key)

  def from_str(self, text: str) -> tuple:
    return from_arch_str(text)

  def is_valid(self, keys) -> np.ndarray:
    return is_valid(keys)

  def encode(self, keys) -> tuple:
    return encode(keys)

  def linear_features(self, keys) -> np.ndarray:
    return one_hot_pair_features(keys)

  def enumerate(self) -> np.ndarray:
    return arch_vectors()

  def index_of(self, keys) -> np.ndarray:
    return np.asarray(index_of(as_vectors(keys)), np.int64)

  def mutate(self, key, rng: np.random.Generator) -> tuple:
    mutated = list(key)
    edge = rng.integers(NUM_EDGES)
    mutated[edge] = int(rng.choice([o for o in range(len(OPS)) if o != key[edge]]))
    return tuple(mutated)

  def flops(self, keys, **network) -> np.ndarray:
    return flops(keys, **network)

  def params(self, keys, **network) -> np.ndarray:
    return params(keys, **network)


SPACE = NasBench201()


def group_identical_encodings(vecs) -> tuple:
  """Groups archs whose encodings are identical (the same network for Eagle): (representatives, inverse), see
  `Space.group_identical_encodings`."""
  return SPACE.group_identical_encodings(vecs)
