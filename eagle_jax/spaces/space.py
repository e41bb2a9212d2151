"""The interface every search space provides, and the registry that finds a space by name or import path.

Keys are a space's canonical architecture ids (hashable: NB201 op-vector tuples, NB101 module hashes). Functions
over many archs take and return *key arrays*: numpy arrays whose first axis indexes archs (NB201 (n, 6) ints,
NB101 (n,) 32-character strings), so rows can be selected with index arrays.
"""
import hashlib
import importlib
from typing import Callable, Dict, Iterable, List, NamedTuple, Sequence, Tuple

import numpy as np


class Layer(NamedTuple):
  """One distinct layer of a space's network: its place (`tag`, unique), what it computes (`op`), the shapes of
  its inputs (batch first), and `apply(list of Keras tensors) -> tensor`, which builds fresh Keras layers."""
  tag: str
  op: str
  inputs: Tuple[tuple, ...]
  apply: Callable


def with_global_node(edges: np.ndarray) -> np.ndarray:
  """Eagle's adjacency from cell edges (n, N, N): a global node 0 with an edge to every node, and
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
  """A search space. What a new space must define (everything else has a working default):

  - `name`, `num_nodes` (graph nodes in `encode`, with Eagle's global node) and `num_features`;
  - `as_keys(archs)`: a key array (first axis = archs) from keys, strings or specs, ValueError naming a bad one;
  - `hashable(keys)`: the dict keys of Eagle-format files; `to_str(key)` / `from_str(text)`: the text form;
  - `encode(keys)`: (adjacency (n, num_nodes, num_nodes), features (n, num_nodes, num_features)), float32;
  - `enumerate()` for a finite space, or `sample(n, seed)` for one that is not;
  - `mutate(key, rng)` for the evolution baselines.
  Optional: `is_valid` (default all valid), `network_costs` (FLOPs and params: cost baselines and proxies),
  `network()` (a Keras builder: without it the space cannot be measured or scored by network proxies; with
  `layers(**config.model) -> [Layer]` and `layer_counts(keys, **config.model) -> (n, len(layers))` it can be
  profiled layer by layer and predicted by the layer-wise lookup baseline),
  `read_file` (file formats of its own), `prior` (a data-free prior for its default search),
  `csv_key_columns` (a key as CSV columns), `supernet_choices` (proxies through one traced supernet).
  Register a space with `eagle_jax.spaces.register(space)`, or name it `MODULE:ATTRIBUTE` wherever a space name
  is taken (`--config.space=my_spaces:CHAIN`).
  """
  name: str = ''
  num_nodes: int = 0          # graph nodes per arch in `encode`, with the global node
  num_features: int = 0       # feature columns per node
  unique_encodings: bool = False  # distinct keys always have distinct encodings (no grouping needed)
  prior: str = ''             # the data-free prior its default search uses: bundled proxies (zc/...), 'costs' (its
                              # network's FLOPs or params, computed per arch), or '' for none
  prior_column: str = ''      # the proxy (or proxies joined by '+') of `prior` that the default search reads
  csv_key_columns: Tuple[str, ...] = ()  # integer CSV columns that hold a key beside arch_str (NB201: op0..op5)
  csv_index_columns: Tuple[str, ...] = ()  # CSV columns that name an arch but hold no value (NB201's index)
  _reference: str = ''        # how `get` found it, when not by its name (MODULE:ATTRIBUTE)

  @property
  def reference(self) -> str:
    """What `get` resolves to this space in any process: its name, or the MODULE:ATTRIBUTE it came from."""
    return self._reference or self.name

  def __reduce__(self):
    """Pickled as its reference, so that worker processes get the same space from `get`; a space that was only
    registered in Python (no import path) is pickled whole."""
    if self._reference or self.name in BUILT_IN:
      return get, (self.reference,)
    return object.__reduce__(self)

  def __repr__(self) -> str:
    return f'<search space {self.reference}>'

  def network(self):
    """The module that builds this space's networks in Keras: `build(spec, **config.model) -> tf.keras.Model`."""
    raise ValueError(f'the {self.name} space has no Keras network (Space.network): it cannot be measured or scored '
                     'by network proxies')

  def supernet_choices(self, keys):
    """For a space whose `network()` has `build_supernet`: the network choice of each key (rows that run the same
    network have equal rows); None (the default) scores proxies one network at a time."""
    return None

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

  def sample_chunks(self, n: int, seed: int, chunk: int = 100_000, mode: str = 'fast'):
    """`sample(n, seed)` in chunks of at most `chunk` keys (a space of its own streamer, such as DARTS, never holds
    all at once); `mode` is the space's sampler (the default space has one)."""
    if mode != 'fast':
      raise ValueError(f"the {self.name} space has one sampler ('fast'), got {mode!r}")
    keys = self.sample(n, seed)
    for start in range(0, len(keys), chunk):
      yield keys[start:start + chunk]

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


def check_hash(text, hash_name: str, where: str) -> str:
  """`text` if it is 32 lowercase hex digits, else ValueError naming it."""
  if not isinstance(text, (str, np.str_)) or len(text.strip()) != 32 or not set(text.strip()) <= _HASH_CHARS:
    raise ValueError(f'{where}: {text!r} is not an {hash_name} (32 lowercase hex digits)')
  return str(text).strip()


class HashKeyedSpace(Space):
  """A space keyed by 32-hex graph hashes (NB101, NB-ASR): key arrays are (n,) '<U32' string arrays,
  `enumerate()` returns the hashes sorted, and specs are turned into keys by `spec_key`."""
  unique_encodings = True
  hash_name = 'graph hash'

  def check_hash(self, text, where: str = '') -> str:
    """`text` if it is 32 lowercase hex digits, else ValueError naming it."""
    return check_hash(text, self.hash_name, where or self.name + ' key')

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


# ----- the registry -----

BUILT_IN = ('nasbench201', 'nasbench101', 'nasbench_asr', 'darts')  # packages of eagle_jax.spaces
# The space of whatever does not name its own (a file given to the library's load/save functions or to the data
# tool without --space, a predictor card written before cards named spaces): NB201, as in Eagle.
DEFAULT = BUILT_IN[0]
_REGISTERED: Dict[str, Space] = {}


def register(space: Space) -> Space:
  """Makes `space` available to `get` (and every binary) under its name; returns it."""
  if not isinstance(space, Space):
    raise TypeError(f'register() takes a Space instance, got {type(space).__name__}')
  if not space.name or not space.num_nodes or not space.num_features:
    raise ValueError(f'space {space!r} must set name, num_nodes and num_features')
  if space.name in BUILT_IN or _REGISTERED.get(space.name, space) is not space:
    raise ValueError(f'a space named {space.name!r} is already known; give yours another name')
  _REGISTERED[space.name] = space
  return space


def get(name) -> Space:
  """The space named `name`: a built-in space, one registered with `register`, or 'MODULE:ATTRIBUTE' (a Space
  instance importable from Python's path). A Space is returned as it is."""
  if isinstance(name, Space):
    return name
  if not isinstance(name, str) or not name:
    raise ValueError(f'no search space given ({name!r}): set config.space (or --space) to one of '
                     f'{", ".join(BUILT_IN + tuple(_REGISTERED))}, or MODULE:ATTRIBUTE for your own')
  if name in _REGISTERED:
    return _REGISTERED[name]
  if name in BUILT_IN:
    return importlib.import_module(f'{__package__}.{name}').SPACE
  if ':' not in name:
    known = ', '.join(BUILT_IN + tuple(_REGISTERED))
    raise ValueError(f'unknown search space {name!r}; spaces: {known}, or MODULE:ATTRIBUTE for your own')
  module_name, attribute = name.split(':', 1)
  try:
    space = getattr(importlib.import_module(module_name), attribute)
  except ImportError as e:
    raise ValueError(f'search space {name!r}: cannot import {module_name!r} ({e})') from None
  except AttributeError:
    raise ValueError(f'search space {name!r}: module {module_name!r} has no {attribute!r}') from None
  if not isinstance(space, Space):
    raise ValueError(f'search space {name!r} is a {type(space).__name__}, not an eagle_jax.spaces.Space')
  if _REGISTERED.get(space.name, space) is not space or space.name in BUILT_IN:
    raise ValueError(f'search space {name!r} is named {space.name!r}, as another known space is')
  space._reference = name  # pylint: disable=protected-access
  _REGISTERED[space.name] = space
  _REGISTERED[name] = space
  return space
