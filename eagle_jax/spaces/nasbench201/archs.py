"""The NAS-Bench-201 cell space: op vectors, arch strings, validity, Eagle's graph encoding, FLOPs and params.

An architecture is a 6-vector of op ids (none=0, skip_connect=1, nor_conv_1x1=2, nor_conv_3x3=3,
avg_pool_3x3=4), one per cell edge in arch-string order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
Every function here is vectorised over a leading batch axis.
"""
import functools
import importlib.resources
import re
from typing import Iterable, Sequence, Union

import numpy as np

from eagle_jax.spaces import space as space_lib

# What the space package re-exports (its public contract): everything defined here but the helpers.
__all__ = ('OPS', 'NONE', 'SKIP', 'CONV1X1', 'CONV3X3', 'AVG_POOL', 'NUM_EDGES', 'NUM_ARCHS', 'EDGES',
           'NUM_DAG_NODES', 'NUM_NODES', 'NUM_FEATURES', 'ArchLike', 'check_vectors', 'arch_vectors',
           'from_arch_str', 'to_arch_str', 'as_vectors', 'index_of', 'is_valid', 'live_ops', 'encode',
           'one_hot_pair_features', 'flops', 'params')

OPS = ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')
NONE, SKIP, CONV1X1, CONV3X3, AVG_POOL = range(5)
NUM_EDGES = 6
NUM_ARCHS = len(OPS) ** NUM_EDGES
# (target cell node, source cell node) of each edge, in arch-string order.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

# Eagle's op-on-node DAG: node 0 = input, nodes 1..6 = ops o0..o5, node 7 = output.
NUM_DAG_NODES = 8
_DAG_EDGES = ((0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7))
NUM_NODES = NUM_DAG_NODES + 1  # with the global node
NUM_FEATURES = 6  # nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, input, output, global

ArchLike = Union[str, Sequence[int], np.ndarray]
_ARCH_STR_RE = re.compile(r'^\|([^|~]+)~0\|\+\|([^|~]+)~0\|([^|~]+)~1\|\+\|([^|~]+)~0\|([^|~]+)~1\|([^|~]+)~2\|$')


@functools.lru_cache(maxsize=None)
def _index_order() -> np.ndarray:
  """Base-5 codes (o0 least significant) of the 15625 archs in NB201 index order."""
  with importlib.resources.files(__package__).joinpath('order.npy').open('rb') as f:
    codes = np.load(f).astype(np.int64)
  codes.setflags(write=False)
  return codes


@functools.lru_cache(maxsize=None)
def _code_to_index() -> np.ndarray:
  lookup = np.empty(NUM_ARCHS, np.int64)
  lookup[_index_order()] = np.arange(NUM_ARCHS)
  lookup.setflags(write=False)
  return lookup


def _codes(vecs: np.ndarray) -> np.ndarray:
  return (vecs.astype(np.int64) * len(OPS) ** np.arange(NUM_EDGES)).sum(-1)


def check_vectors(vecs) -> np.ndarray:
  """Returns `vecs` as an int array (..., 6), or raises ValueError naming the bad entry."""
  arr = np.asarray(vecs)
  if arr.dtype.kind not in 'iu' and not (arr.dtype.kind == 'f' and np.all(np.mod(arr, 1) == 0)):
    raise ValueError(f'NB201 op vectors must hold integers, got dtype {arr.dtype}')
  arr = arr.astype(np.int64)
  if arr.ndim == 0 or arr.shape[-1] != NUM_EDGES:
    raise ValueError(f'NB201 op vectors must have {NUM_EDGES} entries, got shape {arr.shape}')
  bad = (arr < 0) | (arr >= len(OPS))
  if bad.any():
    where = np.argwhere(bad)[0]
    raise ValueError(f'op id {arr[tuple(where)]} at position {tuple(where)} is out of range 0..{len(OPS) - 1} '
                     f'({", ".join(f"{i}={n}" for i, n in enumerate(OPS))})')
  return arr


def arch_vectors() -> np.ndarray:
  """All 15625 op vectors, shape (15625, 6), in NAS-Bench-201 index order."""
  codes = _index_order()
  return (codes[:, None] // len(OPS) ** np.arange(NUM_EDGES)) % len(OPS)


def from_arch_str(arch_str: str) -> tuple:
  """Parses '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' into an op-vector tuple."""
  match = _ARCH_STR_RE.match(arch_str.strip()) if isinstance(arch_str, str) else None
  if match is None:
    raise ValueError(f'malformed NB201 arch string {arch_str!r}; expected '
                     "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'")
  unknown = [name for name in match.groups() if name not in OPS]
  if unknown:
    raise ValueError(f'unknown op {unknown[0]!r} in arch string {arch_str!r}; known ops: {", ".join(OPS)}')
  return tuple(OPS.index(name) for name in match.groups())


def to_arch_str(vec: Sequence[int]) -> str:
  """Inverse of `from_arch_str` for one op vector."""
  o = [OPS[i] for i in check_vectors(vec).reshape(NUM_EDGES)]
  return f'|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|'


def as_vectors(archs: Union[ArchLike, Iterable[ArchLike]]) -> np.ndarray:
  """Op vectors (n, 6) from one or many arch strings or vectors."""
  if isinstance(archs, str):
    return np.asarray([from_arch_str(archs)])
  if not isinstance(archs, np.ndarray):
    archs = [from_arch_str(a) if isinstance(a, str) else a for a in archs]
  arr = check_vectors(archs if len(archs) else np.zeros((0, NUM_EDGES), np.int64))
  return arr.reshape(-1, NUM_EDGES)


def index_of(archs: Union[ArchLike, Iterable[ArchLike]]):
  """NB201 index of one arch (str or vector: returns an int) or of many (returns an int array)."""
  single = isinstance(archs, str) or np.asarray(archs).ndim == 1
  indices = _code_to_index()[_codes(as_vectors(archs))]
  return int(indices[0]) if single else indices


def _dag_base() -> np.ndarray:
  base = np.zeros((NUM_DAG_NODES, NUM_DAG_NODES), bool)
  for src, dst in _DAG_EDGES:
    base[src, dst] = True
  return base


def _bool_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  return np.einsum('...ij,...jk->...ik', a.astype(np.int32), b.astype(np.int32)) > 0


def _transitive_closure(adj: np.ndarray) -> np.ndarray:
  """Paths of length >= 1 in a batch of DAGs on NUM_DAG_NODES nodes."""
  reach = adj.copy()
  for _ in range(NUM_DAG_NODES):
    step = reach | _bool_matmul(reach, adj)
    if np.array_equal(step, reach):
      break
    reach = step
  return reach


def _pruned_dag(vecs: np.ndarray):
  """Eagle's pruned op-on-node DAG for each arch.

  Returns (edges (n, 8, 8) bool, alive (n, 8) bool, connected (n,) bool). `none` nodes lose their edges, skip
  nodes are bypassed (an edge u->v for every path u->...->v through skip nodes only), and nodes off every
  input->output path are removed; when the output is unreachable, every node is removed.
  """
  n = vecs.shape[0]
  ops = np.concatenate([np.full((n, 1), -1), vecs, np.full((n, 1), -1)], axis=1)  # -1: input/output
  present = ops != NONE
  is_skip = ops == SKIP
  adj = _dag_base()[None] & present[:, :, None] & present[:, None, :]
  # Paths whose intermediate nodes are all skip nodes: adj + adj S adj + adj S adj S adj + ...
  through_skip = adj & is_skip[:, None, :]
  bypass, term = adj.copy(), adj
  for _ in range(NUM_EDGES):
    term = _bool_matmul(through_skip, term)
    bypass |= term
  kept = present & ~is_skip
  edges = bypass & kept[:, :, None] & kept[:, None, :]
  reach = _transitive_closure(edges)
  eye = np.eye(NUM_DAG_NODES, dtype=bool)[None]
  from_input = (reach | eye)[:, 0, :]
  to_output = (reach | eye)[:, :, -1]
  connected = reach[:, 0, -1]
  alive = from_input & to_output & kept & connected[:, None]
  edges = edges & alive[:, :, None] & alive[:, None, :]
  return edges, alive, connected


def is_valid(vecs) -> np.ndarray:
  """False exactly for the cells whose output is cut off from the input (341 of 15625)."""
  vecs = as_vectors(vecs)
  return _pruned_dag(vecs)[2]


def live_ops(vecs) -> np.ndarray:
  """Op vectors with every dead op (on no input->output path) set to none; all none for invalid cells."""
  vecs = as_vectors(vecs)
  n = vecs.shape[0]
  present = np.concatenate([np.ones((n, 1), bool), vecs != NONE, np.ones((n, 1), bool)], axis=1)
  adj = _dag_base()[None] & present[:, :, None] & present[:, None, :]
  reach = _transitive_closure(adj) | np.eye(NUM_DAG_NODES, dtype=bool)[None]
  on_path = reach[:, 0, :] & reach[:, :, -1] & reach[:, 0, -1:]
  return np.where(on_path[:, 1:-1], vecs, NONE)


def encode(vecs) -> tuple:
  """Eagle's GCN inputs: adjacency (n, 9, 9) and features (n, 9, 6), float32.

  Node 0 is the global node (edges to every node), then the 8 DAG nodes; A[i, j] = 1 for an edge i -> j, with a
  self loop on every node. Features one-hot [nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, input, output, global];
  removed and skip nodes have zero rows; input and output rows are set even for disconnected cells.
  """
  vecs = as_vectors(vecs)
  n = vecs.shape[0]
  edges, alive, _ = _pruned_dag(vecs)
  adjacency = space_lib.with_global_node(edges)
  features = np.zeros((n, NUM_NODES, NUM_FEATURES), np.float32)
  features[:, 0, 5] = 1.0
  features[:, 1, 3] = 1.0
  features[:, NUM_NODES - 1, 4] = 1.0
  op_alive = alive[:, 1:-1]
  rows, cols = np.nonzero(op_alive)
  features[rows, cols + 2, vecs[rows, cols] - CONV1X1] = 1.0
  return adjacency, features


def one_hot_pair_features(vecs) -> np.ndarray:
  """One-hot op per edge (30) and one-hot op pair per edge pair (15 x 25), plus a constant."""
  vecs = as_vectors(vecs)
  n, num_ops = len(vecs), len(OPS)
  singles = np.zeros((n, NUM_EDGES, num_ops))
  singles[np.arange(n)[:, None], np.arange(NUM_EDGES)[None], vecs] = 1
  i, j = np.triu_indices(NUM_EDGES, k=1)
  pairs = np.zeros((n, len(i), num_ops * num_ops))
  pairs[np.arange(n)[:, None], np.arange(len(i))[None], vecs[:, i] * num_ops + vecs[:, j]] = 1
  return np.concatenate([np.ones((n, 1)), singles.reshape(n, -1), pairs.reshape(n, -1)], axis=1)


# ----- FLOPs and parameters of the NB201 network (NATS-Bench conventions) -----

def _network_counts(vecs, prune: bool, num_classes: int, image_size: int, channels: int, cells_per_stage: int):
  vecs = as_vectors(vecs)
  ops = live_ops(vecs) if prune else vecs
  n_conv1 = (ops == CONV1X1).sum(-1).astype(np.float64)
  n_conv3 = (ops == CONV3X3).sum(-1).astype(np.float64)
  flops = np.zeros(len(vecs))
  params = np.zeros(len(vecs))
  c, size = channels, image_size
  flops += 27 * c * size * size  # stem conv 3x3, 3 -> C (+ BN)
  params += 27 * c + 2 * c
  for stage in range(3):
    if stage:
      c_in, c = c, 2 * c
      size = (size + 1) // 2
      area = size * size
      # residual reduction block: ReLU-Conv3x3(s2)-BN, ReLU-Conv3x3-BN, shortcut AvgPool2x2 + Conv1x1
      flops += (9 * c_in * c + 9 * c * c + c_in * c) * area
      params += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c + c_in * c
    area = size * size
    per_cell_flops = (n_conv1 * c * c + n_conv3 * 9 * c * c) * area
    per_cell_params = n_conv1 * (c * c + 2 * c) + n_conv3 * (9 * c * c + 2 * c)
    flops += cells_per_stage * per_cell_flops
    params += cells_per_stage * per_cell_params
  params += 2 * c + c * num_classes + num_classes  # last BN, classifier
  flops += c * num_classes + num_classes
  return flops, params


def flops(vecs, prune: bool = True, num_classes: int = 100, image_size: int = 32, channels: int = 16,
          cells_per_stage: int = 5) -> np.ndarray:
  """Multiply-accumulates of the NB201 network per arch (NATS-Bench's count: convs and classifier).

  prune=True drops dead ops (what Eagle's graphs run and its latency data follows); prune=False keeps every
  edge (what NB201/NATS report).
  """
  return _network_counts(vecs, prune, num_classes, image_size, channels, cells_per_stage)[0]


def params(vecs, prune: bool = True, num_classes: int = 100, image_size: int = 32, channels: int = 16,
           cells_per_stage: int = 5) -> np.ndarray:
  """Trainable parameters of the NB201 network per arch (convs, BatchNorm affine, classifier)."""
  return _network_counts(vecs, prune, num_classes, image_size, channels, cells_per_stage)[1]
