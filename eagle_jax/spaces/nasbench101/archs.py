"""The NAS-Bench-101 cell space: module hashes, pruning, enumeration, Eagle's encoding, FLOPs and params.

A cell (module) is an upper-triangular adjacency matrix of 2..7 vertices with at most 9 edges and a label per
vertex: 'input', then ops from OPS, then 'output'. Its key is NAS-Bench-101's module hash: the 32-hex MD5
fingerprint of the pruned module (vertices off every input->output path removed), computed exactly as
NAS-Bench-101 computes it, so isomorphic cells share one key. The space's 423,624 keys are enumerated as
NAS-Bench-101 generated them (vertices, then edge bits, then labelings, first spec kept per hash) and cached.
"""
import functools
import hashlib
import itertools
import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import auto as tqdm

from eagle_jax import files
from eagle_jax.spaces import space as space_lib

# What the space package re-exports (its public contract): everything defined here but the helpers.
__all__ = ('OPS', 'CONV3X3', 'CONV1X1', 'MAXPOOL', 'INPUT', 'OUTPUT', 'MAX_VERTICES', 'MAX_EDGES', 'NUM_CELLS',
           'NUM_NODES', 'NUM_FEATURES', 'SPACE_SHA256', 'Spec', 'prune', 'check_spec', 'module_hash', 'spec_hash',
           'canonical_spec', 'check_hash', 'register', 'registered_spec', 'encode_padded', 'hashes_sha256',
           'cache_dir', 'enumerated', 'vertex_channels', 'network_cost')

OPS = ('conv3x3-bn-relu', 'conv1x1-bn-relu', 'maxpool3x3')
CONV3X3, CONV1X1, MAXPOOL = range(3)
INPUT, OUTPUT = 'input', 'output'
MAX_VERTICES = 7
MAX_EDGES = 9
NUM_CELLS = 423_624
NUM_NODES = MAX_VERTICES + 1  # with the global node
NUM_FEATURES = 7  # none, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, input, output, global
# SHA-256 of the enumerated hashes, sorted, one per line: the check that a cache holds the whole space.
SPACE_SHA256 = 'a7f10bf770c1b5b8a221e37824e42b3b1a237a5d21ccf545bbe8e23abd933403'

Spec = Tuple[np.ndarray, Tuple[str, ...]]  # (adjacency V x V int8, ops with 'input' ... 'output')


# ----- specs: validation, pruning, NAS-Bench-101's hash -----

def prune(matrix, ops: Sequence[str]) -> Optional[Spec]:
  """Removes the vertices that are not on an input->output path; None when the output is cut off."""
  matrix = np.asarray(matrix, np.int8)
  n = len(matrix)
  reach = matrix.astype(bool) | np.eye(n, dtype=bool)
  for _ in range(n):
    reach = reach | ((reach.astype(np.int32) @ reach.astype(np.int32)) > 0)
  alive = reach[0] & reach[:, n - 1]
  if not alive[n - 1]:
    return None
  keep = np.nonzero(alive)[0]
  return matrix[np.ix_(keep, keep)], tuple(ops[k] for k in keep)


def check_spec(matrix, ops: Sequence[str], where: str = 'NB101 cell') -> Spec:
  """The pruned spec of (adjacency, op names); ValueError naming what breaks NAS-Bench-101's rules."""
  try:
    matrix = np.asarray(matrix)
    if matrix.dtype.kind == 'b':
      matrix = matrix.astype(np.int8)
    if matrix.dtype.kind not in 'iuf' or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
      raise ValueError(f'adjacency must be a square 0/1 matrix, got shape {matrix.shape} of {matrix.dtype}')
  except (TypeError, ValueError) as e:
    raise ValueError(f'{where}: {e}') from e
  ops = tuple(ops)
  n = len(matrix)
  if not np.isin(matrix, (0, 1)).all():
    raise ValueError(f'{where}: adjacency entries must be 0 or 1')
  matrix = matrix.astype(np.int8)
  if len(ops) != n:
    raise ValueError(f'{where}: {len(ops)} ops for a {n}x{n} adjacency')
  if np.tril(matrix).any():
    raise ValueError(f'{where}: adjacency must be upper triangular (edges go from lower to higher vertices)')
  if n < 2 or ops[0] != INPUT or ops[-1] != OUTPUT:
    raise ValueError(f"{where}: ops must start with 'input' and end with 'output', got {list(ops)}")
  unknown = [op for op in ops[1:-1] if op not in OPS]
  if unknown:
    raise ValueError(f'{where}: unknown op {unknown[0]!r}; NB101 ops are {", ".join(OPS)}')
  pruned = prune(matrix, ops)
  if pruned is None:
    raise ValueError(f'{where}: the output is not reachable from the input')
  matrix, ops = pruned
  if len(ops) > MAX_VERTICES:
    raise ValueError(f'{where}: {len(ops)} vertices after pruning, NB101 allows {MAX_VERTICES}')
  if matrix.sum() > MAX_EDGES:
    raise ValueError(f'{where}: {int(matrix.sum())} edges after pruning, NB101 allows {MAX_EDGES}')
  return matrix, ops


def _labeling(ops: Sequence[str]) -> List[int]:
  return [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]


def module_hash(matrix, ops: Sequence[str]) -> str:
  """NAS-Bench-101's isomorphism-invariant hash of a *pruned* spec (`space.graph_hash` of its int matrix)."""
  return space_lib.graph_hash(np.asarray(matrix), _labeling(ops))


def spec_hash(matrix, ops: Sequence[str], where: str = 'NB101 cell') -> Tuple[str, Spec]:
  """(hash, pruned spec) of any NB101 cell, pruned first as NAS-Bench-101 does."""
  spec = check_spec(matrix, ops, where)
  return module_hash(*spec), spec


def canonical_spec(matrix, ops: Sequence[str]) -> Spec:
  """The vertex order NAS-Bench-101 stores a pruned module in: of all orders of its interior vertices that keep
  the adjacency upper triangular, the first in NB101's generation order (smallest edge bits, then smallest op
  labels, first vertex most significant). Isomorphic inputs give the same spec, so encodings and the channel
  split of the built network do not depend on how a file happened to order the vertices."""
  matrix = np.asarray(matrix, np.int8)
  n = len(matrix)
  if n <= 3:
    return matrix, tuple(ops)
  perms = np.array([(0,) + p + (n - 1,) for p in itertools.permutations(range(1, n - 1))])  # new -> old vertex
  permuted = matrix[perms[:, :, None], perms[:, None, :]]
  upper = ~np.tril(permuted).any((1, 2))
  weights = np.zeros((n, n), np.int64)
  for k, (x, y) in enumerate(_edge_bits(n)):
    weights[x, y] = 1 << k
  bits = (permuted * weights).sum((1, 2))
  labels = np.array([OPS.index(op) for op in ops[1:-1]])[perms[:, 1:-1] - 1]
  candidates = np.nonzero(upper)[0]
  order = np.lexsort(tuple(labels[candidates].T[::-1]) + (bits[candidates],))
  best = perms[candidates[order[0]]]
  return permuted[candidates[order[0]]], tuple(ops[v] for v in best)


def check_hash(text, where: str = 'NB101 key') -> str:
  """`text` if it looks like a module hash (32 lowercase hex digits), else ValueError naming it."""
  return space_lib.check_hash(text, 'NB101 module hash', where)


_SPECS = {}  # hash -> (padded, codes) of cells met outside the enumeration (files, builders)


def register(matrix, ops, where: str = 'NB101 cell') -> str:
  """The hash of a cell given as (adjacency, op names); its spec, in NB101's stored vertex order
  (`canonical_spec`), is remembered for `encode` and the Keras builder."""
  key, spec = spec_hash(matrix, ops, where)
  if key not in _SPECS:
    _SPECS[key] = _pad(*canonical_spec(*spec))
  return key


def registered_spec(key: str) -> Spec:
  """(adjacency as lists, op names) of a cell `register` has seen, as NAS-Bench-101 stores the module."""
  matrix, ops = _unpad(*_SPECS[key])
  return matrix.tolist(), ops


# ----- compact spec arrays: padded to 7 vertices with the output last (Eagle's layout) -----

def _pad(matrix: np.ndarray, ops: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
  """(7x7 adjacency, 7 op codes) with padding vertices inserted before the output; codes: -1 none, 0..2 OPS,
  3 input, 4 output."""
  n = len(ops)
  where = list(range(n - 1)) + [MAX_VERTICES - 1]
  padded = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int8)
  padded[np.ix_(where, where)] = matrix
  codes = np.full(MAX_VERTICES, -1, np.int8)
  codes[where] = [3] + [OPS.index(op) for op in ops[1:-1]] + [4]
  return padded, codes


def _unpad(padded: np.ndarray, codes: np.ndarray) -> Spec:
  keep = np.nonzero(codes >= 0)[0]
  names = OPS + (INPUT, OUTPUT)
  return padded[np.ix_(keep, keep)].copy(), tuple(names[c] for c in codes[keep])


def encode_padded(padded: np.ndarray, codes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """Eagle's GCN inputs from padded specs (n, 7, 7), (n, 7): adjacency (n, 8, 8) and features (n, 8, 7).

  Node 0 is the global node (edges to every node), then the 7 cell vertices (padding before the output); a self
  loop on every node; features one-hot [none, conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3, input, output,
  global], padding vertices one-hot none.
  """
  n = len(padded)
  adjacency = space_lib.with_global_node(padded)
  features = np.zeros((n, NUM_NODES, NUM_FEATURES), np.float32)
  features[:, 0, 6] = 1.0
  column = np.where(codes < 0, 0, codes + 1)  # none -> 0, ops -> 1..3, input -> 4, output -> 5
  rows, vertices = np.indices(codes.shape)
  features[rows, vertices + 1, column] = 1.0
  return adjacency, features


# ----- the whole space: enumeration as NAS-Bench-101 generated it, cached -----

def _edge_bits(n: int) -> List[Tuple[int, int]]:
  """(source, target) of each bit, NAS-Bench-101's column-major order: bit x + y(y-1)/2 is the edge x -> y."""
  return [(x, y) for y in range(n) for x in range(y)]


def _full_dags(n: int) -> np.ndarray:
  """Every n-vertex adjacency (bits ascending) whose vertices all lie on an input->output path, <= 9 edges."""
  edges = _edge_bits(n)
  bits = np.arange(2 ** len(edges), dtype=np.int64)
  matrices = np.zeros((len(bits), n, n), np.int8)
  for k, (x, y) in enumerate(edges):
    matrices[:, x, y] = (bits >> k) & 1
  full = (matrices[:, :n - 1].any(2).all(1) & matrices[:, :, 1:].any(1).all(1)
          & (matrices.sum((1, 2)) <= MAX_EDGES))
  return matrices[full]


def _mix(x: np.ndarray) -> np.ndarray:
  """splitmix64's finaliser: a well-spread uint64 -> uint64 map (wrap-around arithmetic)."""
  x = x ^ (x >> np.uint64(30))
  x = x * np.uint64(0xBF58476D1CE4E5B9)
  x = x ^ (x >> np.uint64(27))
  x = x * np.uint64(0x94D049BB133111EB)
  return x ^ (x >> np.uint64(31))


def _fingerprints(matrices: np.ndarray, labels: np.ndarray) -> np.ndarray:
  """A 64-bit Weisfeiler-Lehman fingerprint per labelled graph, refined as NAS-Bench-101's hash is (so both
  group graphs alike); used to find the distinct cells before computing their MD5 hashes."""
  n = matrices.shape[1]
  a = matrices.astype(np.uint64)
  with np.errstate(over='ignore'):
    h = _mix(a.sum(2) * np.uint64(1000003) + a.sum(1) * np.uint64(7919) + (labels + 3).astype(np.uint64))
    for _ in range(n):
      from_in = np.einsum('gwv,gw->gv', a, _mix(h ^ np.uint64(0x9E3779B97F4A7C15)))
      from_out = np.einsum('gvw,gw->gv', a, _mix(h ^ np.uint64(0x632BE59BD9B4E019)))
      h = _mix(_mix(from_in) * np.uint64(31) + _mix(from_out ^ np.uint64(0xD6E8FEB86659FD93)) + h)
    return _mix(_mix(h).sum(1) + np.uint64(n))


def _generate(progress: bool = True) -> dict:
  """Every distinct cell with its first spec in NAS-Bench-101's generation order; sorted by hash."""
  hashes, padded_all, codes_all = [], [], []
  seen = set()
  for n in range(2, MAX_VERTICES + 1):
    matrices = _full_dags(n)
    labelings = np.array(list(itertools.product(range(len(OPS)), repeat=n - 2)), np.int64).reshape(
        len(OPS) ** (n - 2), n - 2)
    graph_rows = np.repeat(np.arange(len(matrices)), len(labelings))
    labels = np.concatenate([np.full((len(graph_rows), 1), -1), np.tile(labelings, (len(matrices), 1)),
                             np.full((len(graph_rows), 1), -2)], axis=1)
    prints = _fingerprints(matrices[graph_rows], labels)
    _, first = np.unique(prints, return_index=True)
    first.sort()
    for row in tqdm.tqdm(first, desc=f'NB101 cells with {n} vertices', disable=not progress, leave=False):
      matrix = matrices[graph_rows[row]]
      ops = (INPUT,) + tuple(OPS[c] for c in labels[row, 1:-1]) + (OUTPUT,)
      key = module_hash(matrix, ops)
      if key in seen:
        continue
      seen.add(key)
      hashes.append(key)
      padded, codes = _pad(matrix, ops)
      padded_all.append(padded)
      codes_all.append(codes)
  order = np.argsort(hashes)
  return {'hashes': np.array(hashes)[order], 'padded': np.stack(padded_all)[order],
          'codes': np.stack(codes_all)[order]}


def hashes_sha256(hashes: Iterable[str]) -> str:
  return hashlib.sha256('\n'.join(sorted(hashes)).encode()).hexdigest()


def cache_dir() -> Path:
  """$EAGLE_JAX_CACHE, or ~/.cache/eagle_jax."""
  return Path(os.environ.get('EAGLE_JAX_CACHE', Path.home() / '.cache' / 'eagle_jax'))


def _cache_path() -> Path:
  return cache_dir() / 'nasbench101_space.npz'


def _read_cache(path: Path) -> Optional[dict]:
  try:
    with np.load(path, allow_pickle=False) as npz:
      arrays = {k: npz[k] for k in ('hashes', 'padded', 'codes')}
  except (OSError, ValueError, KeyError):
    return None
  if len(arrays['hashes']) != NUM_CELLS or (SPACE_SHA256 and hashes_sha256(arrays['hashes']) != SPACE_SHA256):
    return None
  return arrays


@functools.lru_cache(maxsize=None)
def enumerated(progress: bool = True) -> dict:
  """The whole space: `hashes` (423624,) sorted, `padded` (n, 7, 7) int8 and `codes` (n, 7) int8 specs.

  Generated on first use (about a minute) and cached under cache_dir(); a cache whose count or checksum is wrong
  is rebuilt.
  """
  path = _cache_path()
  arrays = _read_cache(path) if path.exists() else None
  if arrays is None:
    arrays = _generate(progress)
    if len(arrays['hashes']) != NUM_CELLS:
      raise RuntimeError(f'NB101 enumeration found {len(arrays["hashes"])} cells, expected {NUM_CELLS}')
    with files.atomic_open(path, 'wb') as f:
      np.savez(f, **arrays)
  for value in arrays.values():
    value.setflags(write=False)
  return arrays


# ----- FLOPs and parameters of the NB101 network (stem, 3 stacks of 3 modules, NB101's channel rules) -----

def vertex_channels(input_channels: int, output_channels: int, matrix: np.ndarray) -> List[int]:
  """Channels of each vertex of a pruned module: the output's channels are split over the vertices feeding it
  (the first ones get one more when uneven); other interior vertices take the largest of their successors."""
  n = len(matrix)
  channels = [0] * n
  channels[0], channels[n - 1] = input_channels, output_channels
  if n == 2:
    return channels
  fan_in = int(matrix[1:, n - 1].sum())
  share, extra = divmod(output_channels, fan_in)
  for v in range(1, n - 1):
    if matrix[v, n - 1]:
      channels[v] = share + (1 if extra > 0 else 0)
      extra -= 1
  for v in range(n - 3, 0, -1):
    if not matrix[v, n - 1]:
      channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v, w])
  return channels


def _conv(k: int, c_in: int, c_out: int, area: int) -> Tuple[int, int]:
  """(MACs, params) of a bias-free k x k convolution followed by BatchNorm (gamma, beta)."""
  return k * k * c_in * c_out * area, k * k * c_in * c_out + 2 * c_out


def network_cost(matrix, ops: Sequence[str], image_size: int = 32, stem_channels: int = 128, num_stacks: int = 3,
                 modules_per_stack: int = 3, num_classes: int = 10) -> Tuple[int, int]:
  """(MACs, trainable params) of the NB101 network built from one pruned module."""
  matrix = np.asarray(matrix)
  n = len(matrix)
  size, channels = image_size, stem_channels
  macs, params = _conv(3, 3, stem_channels, size * size)
  c_in = stem_channels
  for stack in range(num_stacks):
    if stack:
      size, channels = (size + 1) // 2, 2 * channels
    area = size * size
    for _ in range(modules_per_stack):
      vc = vertex_channels(c_in, channels, matrix)
      for v in range(1, n):
        if matrix[0, v]:  # the input is projected (1x1 conv-bn-relu) wherever it feeds a vertex
          cost = _conv(1, c_in, vc[v], area)
          macs, params = macs + cost[0], params + cost[1]
        if v < n - 1 and ops[v] != 'maxpool3x3':
          cost = _conv(3 if ops[v] == 'conv3x3-bn-relu' else 1, vc[v], vc[v], area)
          macs, params = macs + cost[0], params + cost[1]
      c_in = channels
  return macs + channels * num_classes, params + channels * num_classes + num_classes
