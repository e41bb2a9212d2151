"""NAS-Bench-ASR: graph-hash keys, the enumerated archs, Eagle's encoding, costs (archs), NAS-Bench-ASR's
pickles (files), the ASR network in Keras (network), and the Space."""
from typing import List, Tuple

import numpy as np

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench_asr import files
from eagle_jax.spaces.nasbench_asr.archs import *  # pylint: disable=wildcard-import,unused-wildcard-import


class NasBenchASR(space_lib.HashKeyedSpace):
  """NB-ASR behind the Space interface: keys and strings are NB-ASR graph hashes; specs are arch vectors."""
  name = 'nasbench_asr'
  prior, prior_column = 'costs', 'params'  # data-free, as NB101 and DARTS; unchecked here: no public NB-ASR
  # accuracies to replay on (experiments/validations/replay_suite.md)
  num_nodes = NUM_NODES
  num_features = NUM_FEATURES
  hash_name = 'NB-ASR graph hash'

  def is_single_spec(self, arch) -> bool:
    """One arch: flat (9 ints or op names) or nested ([[op, s0], [op, s0, s1], [op, s0, s1, s2]])."""
    if isinstance(arch, np.ndarray):
      return arch.ndim == 1 and arch.dtype.kind in 'iu'
    if not isinstance(arch, (list, tuple)) or not arch:
      return False
    first = arch[0]
    if isinstance(first, (list, tuple, np.ndarray)):
      return len(arch) == CELL_NODES and len(first) == 2 and not isinstance(first[0], (list, tuple, np.ndarray))
    return isinstance(first, (int, np.integer)) or first in OPS

  def spec_key(self, arch) -> str:
    return vector_hash(flat_vector(arch))

  def as_keys(self, archs) -> np.ndarray:
    if isinstance(archs, np.ndarray) and archs.dtype.kind in 'iu' and archs.ndim == 2:
      archs = list(archs)
    return super().as_keys(archs)

  def vectors(self, keys) -> np.ndarray:
    """The kept vector (n, 9) of each key; KeyError naming a hash outside the space."""
    rows = self.index_of(keys)
    return enumerated()['vectors'][rows]

  def spec(self, key) -> List[List[int]]:
    """The nested arch vector of one key (the last of its hash in NB-ASR's order, as Eagle keeps)."""
    return nested(self.vectors([key])[0])

  def encode(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    return encode_vectors(self.vectors(keys))

  def linear_features(self, keys) -> np.ndarray:
    """A constant, the minimised graph's edges and each vertex's one-hot op (dead vertices all zero)."""
    matrix, codes = graphs(self.vectors(keys))
    n = len(matrix)
    upper = matrix[:, np.triu_indices(GRAPH_VERTICES, 1)[0], np.triu_indices(GRAPH_VERTICES, 1)[1]]
    ops = np.zeros((n, CELL_NODES, len(OPS) - 1))
    rows, nodes = np.nonzero(codes[:, 1:-1] != DEAD)
    ops[rows, nodes, codes[:, 1:-1][rows, nodes]] = 1
    return np.concatenate([np.ones((n, 1)), upper, ops.reshape(n, -1)], axis=1)

  def enumerate(self) -> np.ndarray:
    return enumerated()['hashes']

  def read_file(self, path, column=None, where=None):
    """NAS-Bench-ASR's own pickles (a header, then rows) and Eagle's nbasr_inv_avg_val_per.pickle, chosen by
    content; see files."""
    return files.read_benchmark_file(path, column, **(where or {}))

  def network(self):
    from eagle_jax.spaces.nasbench_asr import network  # pylint: disable=g-import-not-at-top  (TF)
    return network

  def mutate(self, key, rng: np.random.Generator) -> str:
    """Changes one op or flips one skip bit of the key's vector until the hash changes."""
    vector = list(self.vectors([key])[0])
    for _ in range(1000):
      mutated = list(vector)
      position = int(rng.integers(len(DIMS)))
      mutated[position] = int(rng.choice([v for v in range(DIMS[position]) if v != vector[position]]))
      new = vector_hash(mutated)
      if new != key:
        return new
    raise RuntimeError(f'no mutation of {key} with another hash found in 1000 tries')

  def network_costs(self, keys, **network) -> np.ndarray:
    """MACs (convolutions, dense layers, LSTM) and parameters (Keras's count) of the NB-ASR network per arch."""
    return np.array([network_cost(v, **network) for v in self.vectors(keys)], np.float64)


SPACE = NasBenchASR()
