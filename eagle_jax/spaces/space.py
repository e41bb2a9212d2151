"""The interface every search space provides (design.md, "Search spaces (plug-ins)").

Keys are a space's canonical architecture ids (hashable: NB201 op-vector tuples, NB101 module hashes). Functions
over many archs take and return *key arrays*: numpy arrays whose first axis indexes archs (NB201 (n, 6) ints,
NB101 (n,) 32-character strings), so rows can be selected with index arrays.
"""
import hashlib
from typing import Iterable, List, Sequence, Tuple

import numpy as np


def with_global_node(edges: np.ndarray) -> np.ndarray:
  """Eagle's adjacency (reference 2.4) from cell edges (n, N, N): a global node 0 with an edge to every node, and
  a self loop on every node; float32 (n, N + 1, N + 1)."""
  n, size = len(edges), edges.shape[1] + 1
  adjacency = np.zeros((n, size, size), np.float32)
  adjacency[:, 1:, 1:] = edges
  adjacency[:, 0, :] = 1.0
  adjacency[:, np.arange(size), np.arange(size)] = 1.0
  return adjacency


def graph_hash(matrix: np.ndarray, labels: Sequence[int]) -> str:
  """The isomorphism-invariant MD5 hash NAS-Bench-101 and NAS-Bench-ASR key graphs by: per-vertex MD5 of
  (out-degree, in-degree, label), refined once per vertex from the sorted hashes of in- and out-neighbours, then
  the MD5 of the sorted vertex hashes. Degrees are printed as the matrix's dtype gives them (NB101's int
  matrices print 1, NB-ASR's float ones 1.0), so pass the matrix as the benchmark builds it."""
  n = len(matrix)
  in_degree, out_degree = matrix.sum(0).tolist(), matrix.sum(1).tolist()
  hashes = [hashlib.md5(str((out_degree[v], in_degree[v], labels[v])).encode()).hexdigest() for v in range(n)]
  sources = [[w for w in range(n) if matrix[w, v]] for v in range(n)]
  targets = [[w for w in range(n) if matrix[v, w]] for v in range(n)]
  for _ in range(n):
    hashes = [hashlib.md5((''.join(sorted(hashes[w] for w in sources[v])) + '|' +
                           ''.join(sorted(hashes[w] for w in targets[v])) + '|' + hashes[v]).encode()).hexdigest()
              for v in range(n)]
  return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()


class Space:
  """Base class of a search space; subclasses fill in the space-specific parts."""
  name: str = ''
  num_nodes: int = 0          # graph nodes per arch in `encode`, with the global node
  num_features: int = 0       # feature columns per node
  keras_builder: str = ''     # module with build(key, **config) -> tf.keras.Model and trainable_params(model)
  unique_encodings: bool = False  # distinct keys always have distinct encodings (no grouping needed)

  # --- keys and strings ---
  def as_keys(self, archs) -> np.ndarray:
    """A key array from one or many keys, strings or specs; ValueError naming a bad entry."""
    raise NotImplementedError

  def key(self, arch):
    """The canonical (hashable) key of one key, string or spec."""
    return self.hashable(self.as_keys([arch]))[0]

  def hashable(self, keys: np.ndarray) -> list:
    """Hashable keys (dict keys of Eagle-format files) from a key array."""
    raise NotImplementedError

  def to_str(self, key) -> str:
    raise NotImplementedError

  def from_str(self, text: str):
    raise NotImplementedError

  # --- validity, encodings ---
  def is_valid(self, keys) -> np.ndarray:
    return np.ones(len(self.as_keys(keys)), bool)

  def encode(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    """Eagle's GCN inputs: adjacency (n, num_nodes, num_nodes) and features (n, num_nodes, num_features)."""
    raise NotImplementedError

  def group_identical_encodings(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    """(representatives, inverse): keys[representatives] holds one arch per distinct encoding (first
    occurrence) and inverse[i] is the group of arch i."""
    keys = self.as_keys(keys)
    if self.unique_encodings:
      return np.arange(len(keys)), np.arange(len(keys))
    adjacency, features = self.encode(keys)
    flat = np.concatenate([adjacency.reshape(len(keys), -1), features.reshape(len(keys), -1)], axis=1)
    packed = np.packbits(flat.astype(bool), axis=1)
    _, representatives, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(representatives, kind='stable')  # number groups by first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return representatives[order], rank[inverse.reshape(-1)]

  def linear_features(self, keys) -> np.ndarray:
    """Features of the linear (ridge) baseline: a constant, the adjacency and the one-hot node features."""
    adjacency, features = self.encode(keys)
    n = len(adjacency)
    return np.concatenate([np.ones((n, 1)), adjacency.reshape(n, -1), features.reshape(n, -1)], axis=1)

  # --- the space's architectures ---
  def enumerate(self) -> np.ndarray:
    """Every key of a finite space, in a fixed order."""
    raise ValueError(f'the {self.name} space is not enumerable; use sample(n, seed)')

  def sample(self, n: int, seed: int) -> np.ndarray:
    """`n` distinct valid keys, the same for the same seed."""
    keys = self.enumerate()
    keys = keys[self.is_valid(keys)]
    if not 0 < n <= len(keys):
      raise ValueError(f'cannot sample {n} distinct {self.name} archs: the space has {len(keys)} valid ones')
    return keys[np.random.default_rng(seed).choice(len(keys), n, replace=False)]

  def index_of(self, keys) -> np.ndarray:
    """Position of each key in `enumerate()`; KeyError naming the first key outside it."""
    lookup = {k: i for i, k in enumerate(self.hashable(self.enumerate()))}
    out = []
    for key in self.hashable(self.as_keys(keys)):
      if key not in lookup:
        raise KeyError(f'{self.to_str(key)} is not in the {self.name} space')
      out.append(lookup[key])
    return np.asarray(out, np.int64)

  def mutate(self, key, rng: np.random.Generator):
    """A random neighbour of `key` (one edge or op changed), for evolution baselines."""
    raise NotImplementedError

  # --- cost of the network as measured ---
  def network_costs(self, keys, **network) -> np.ndarray:
    """(n, 2) float64: multiply-accumulates and trainable parameters of each arch's network as measured."""
    raise NotImplementedError

  def flops(self, keys, **network) -> np.ndarray:
    """Multiply-accumulates of each arch's network (see the space's network_costs)."""
    return self.network_costs(keys, **network)[:, 0]

  def params(self, keys, **network) -> np.ndarray:
    """Trainable parameters of each arch's network (see the space's network_costs)."""
    return self.network_costs(keys, **network)[:, 1]

  def spec(self, key):
    """A picklable description of `key` that `key()` and the Keras builder accept with no lookups."""
    return key

  def read_file(self, path, column=None, where=None):
    """{key: value} from a file format of this space's own (chosen by suffix), or None for the common formats
    (Eagle pickle, CSV, npz) that eagle_jax.data reads."""
    return None

  def spec_arrays(self, keys) -> dict:
    """Arrays that let `register_spec_arrays` encode these keys later with no lookups (files ship them)."""
    return {}

  def register_spec_arrays(self, keys, arrays: dict) -> None:
    """Remembers the specs of `keys` from `spec_arrays` output (nothing to do where keys are specs)."""

  def strs(self, keys: Iterable) -> List[str]:
    return [self.to_str(k) for k in self.hashable(self.as_keys(keys))]


_HASH_CHARS = frozenset('0123456789abcdef')


class HashKeyedSpace(Space):
  """A space keyed by 32-hex graph hashes (NB101, NB-ASR): key arrays are (n,) '<U32' string arrays,
  `enumerate()` returns the hashes sorted, and specs are turned into keys by `spec_key`."""
  unique_encodings = True
  hash_name = 'graph hash'

  def check_hash(self, text, where: str = '') -> str:
    """`text` if it is 32 lowercase hex digits, else ValueError naming it."""
    if not isinstance(text, (str, np.str_)) or len(text.strip()) != 32 or not set(text.strip()) <= _HASH_CHARS:
      raise ValueError(f'{where or self.name + " key"}: {text!r} is not an {self.hash_name} '
                       '(32 lowercase hex digits)')
    return str(text).strip()

  def is_single_spec(self, arch) -> bool:
    """Whether `arch` is one spec (not a list of them)."""
    raise NotImplementedError

  def spec_key(self, arch) -> str:
    """The hash of one spec; ValueError naming what is wrong with it."""
    raise NotImplementedError

  def _one(self, arch) -> str:
    if isinstance(arch, (str, np.str_)):
      return self.check_hash(arch)
    return self.spec_key(arch)

  def as_keys(self, archs) -> np.ndarray:
    if isinstance(archs, np.ndarray) and archs.dtype.kind == 'U':
      keys = np.char.strip(archs.reshape(-1))
      bad = (np.char.str_len(keys) != 32) | (np.char.strip(keys, '0123456789abcdef') != '')
      if bad.any():
        self.check_hash(str(keys[np.argmax(bad)]))
      return keys
    if isinstance(archs, (str, np.str_)) or self.is_single_spec(archs):
      archs = [archs]
    return np.array([self._one(a) for a in archs], dtype='<U32').reshape(-1)

  def hashable(self, keys) -> list:
    return [str(k) for k in np.asarray(keys).reshape(-1)]

  def to_str(self, key) -> str:
    return self.check_hash(str(key))

  def from_str(self, text: str) -> str:
    return self.check_hash(text)

  def index_of(self, keys) -> np.ndarray:
    keys, hashes = self.as_keys(keys), self.enumerate()
    rows = np.minimum(np.searchsorted(hashes, keys), len(hashes) - 1)
    if (hashes[rows] != keys).any():
      raise KeyError(f'{keys[np.argmax(hashes[rows] != keys)]} is not in the {self.name} space')
    return rows.astype(np.int64)
