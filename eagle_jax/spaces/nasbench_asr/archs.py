"""The NAS-Bench-ASR cell space: arch vectors, NB-ASR graph hashes, Eagle's encoding, FLOPs and params.

An arch is three nodes `[[op, s0], [op, s0, s1], [op, s0, s1, s2]]`: op indexes OPS and the skip bits of node k
are identity edges from nodes 0..k of the cell's outputs (the input, then earlier nodes) added to node k's
output. As a graph (NAS-Bench-ASR's op-on-node DAG, 5 vertices): input, the three op nodes, output; the main
chain i -> i+1, and node k's skip bits become edges into the vertex after it (the next op or the output).
Minimising (NB-ASR's rule) cuts every edge of a zero op and then every vertex off an input -> output path.

The key of an arch is NB-ASR's graph hash of the minimised graph (dangling vertices deleted), computed exactly
as NAS-Bench-ASR does, float degrees included. The 13,824 vectors give 8,242 keys. A key's *spec* is the last
vector with that hash in NB-ASR's enumeration order (the first op changes fastest), the one Eagle keeps: Eagle's
encoding keeps every vertex in place (dead ones zeroed), and two vectors of one hash can place the same graph
on different vertices, so keeping the same vector as Eagle gives a hash the same encoding in both tools.
"""
import functools
from typing import List, Sequence, Tuple

import numpy as np

from eagle_jax.spaces import space as space_lib

# What the space package re-exports (its public contract): everything defined here but the helpers.
__all__ = ('OPS', 'LINEAR', 'CONV5', 'CONV5D2', 'CONV7', 'CONV7D2', 'ZERO', 'CONV_SHAPES', 'CELL_NODES', 'DIMS',
           'OP_POSITIONS', 'NUM_VECTORS', 'NUM_ARCHS', 'GRAPH_VERTICES', 'NUM_NODES', 'NUM_FEATURES', 'INPUT_CODE',
           'OUTPUT_CODE', 'DEAD', 'Vector', 'nested', 'flat_vector', 'all_vectors', 'graphs', 'graph_hash',
           'vector_hash', 'enumerated', 'encode_vectors', 'FUTURE_CONTEXT', 'conv_padding', 'conv_frames',
           'cell_vertices', 'network_cost')

OPS = ('linear', 'conv5', 'conv5d2', 'conv7', 'conv7d2', 'zero')
LINEAR, CONV5, CONV5D2, CONV7, CONV7D2, ZERO = range(6)
CONV_SHAPES = {CONV5: (5, 1), CONV5D2: (5, 2), CONV7: (7, 1), CONV7D2: (7, 2)}  # kernel, dilation
CELL_NODES = 3
# The flat vector: op0, its skip bit; op1, 2 skip bits; op2, 3 skip bits (NB-ASR's search-space shape).
DIMS = (6, 2, 6, 2, 2, 6, 2, 2, 2)
OP_POSITIONS = (0, 2, 5)
NUM_VECTORS = int(np.prod(DIMS))  # 13,824
NUM_ARCHS = 8242
GRAPH_VERTICES = CELL_NODES + 2
NUM_NODES = GRAPH_VERTICES + 1  # with the global node
NUM_FEATURES = 8  # linear, conv5, conv5d2, conv7, conv7d2, input, output, global
INPUT_CODE, OUTPUT_CODE, DEAD = 5, 6, -1  # vertex codes besides the op indices 0..4

Vector = Tuple[int, ...]


# ----- arch vectors -----

def nested(vector: Sequence[int]) -> List[List[int]]:
  """NB-ASR's nested form [[op, s0], [op, s0, s1], [op, s0, s1, s2]] of a flat vector."""
  vector = [int(v) for v in vector]
  return [vector[0:2], vector[2:5], vector[5:9]]


def flat_vector(arch, where: str = 'NB-ASR arch') -> Vector:
  """The flat 9-int vector of an arch given nested ([[op, s0], ...], ops as indices or names) or flat; ValueError
  naming what is wrong."""
  try:
    if len(arch) == CELL_NODES and all(isinstance(node, (list, tuple, np.ndarray)) for node in arch):
      if [len(node) for node in arch] != [2, 3, 4]:
        raise ValueError(f'nodes must hold an op and 1, 2, 3 skip bits, got lengths {[len(n) for n in arch]}')
      values = [v for node in arch for v in node]
    else:
      values = list(arch)
  except TypeError:
    raise ValueError(f'{where}: {arch!r} is neither an NB-ASR graph hash nor an arch vector') from None
  if len(values) != len(DIMS):
    raise ValueError(f'{where}: {arch!r} is not [[op, s0], [op, s0, s1], [op, s0, s1, s2]] (or 9 ints)')
  out = []
  for position, (value, size) in enumerate(zip(values, DIMS)):
    if position in OP_POSITIONS and isinstance(value, (str, np.str_)):
      if value not in OPS:
        raise ValueError(f'{where}: unknown op {value!r}; NB-ASR ops are {", ".join(OPS)}')
      value = OPS.index(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
      kind = f'an op index 0..{size - 1} or name' if position in OP_POSITIONS else 'a skip bit 0 or 1'
      raise ValueError(f'{where}: {value!r} at position {position} of {arch!r} is not {kind}')
    out.append(int(value))
  return tuple(out)


def all_vectors() -> np.ndarray:
  """The 13,824 flat vectors (n, 9) in NB-ASR's enumeration order: the first entry changes fastest."""
  grid = np.indices(DIMS[::-1]).reshape(len(DIMS), -1)[::-1]
  return grid.T.astype(np.int8)


# ----- graphs: NB-ASR's DAG, minimised with the vertices kept in place -----

def graphs(vectors) -> Tuple[np.ndarray, np.ndarray]:
  """Minimised graphs of flat vectors (n, 9): float64 adjacency (n, 5, 5) with dead vertices' edges removed, and
  vertex codes (n, 5): 0..4 ops, 5 input, 6 output, -1 dead (a zero op, or off every input -> output path;
  input and output too when the output cannot be reached)."""
  vectors = np.asarray(vectors, np.int64).reshape(-1, len(DIMS))
  n, size = len(vectors), GRAPH_VERTICES
  matrix = np.zeros((n, size, size))
  codes = np.empty((n, size), np.int64)
  codes[:, 0], codes[:, -1] = INPUT_CODE, OUTPUT_CODE
  skips = {0: (1, 2), 1: (3, 5), 2: (6, 9)}  # node -> slice of its skip bits
  for node, position in enumerate(OP_POSITIONS):
    codes[:, node + 1] = vectors[:, position]
    matrix[:, node, node + 1] = 1.0
    start, stop = skips[node]
    for source in range(stop - start):
      matrix[:, source, node + 2] = vectors[:, start + source]
  matrix[:, size - 2, size - 1] = 1.0
  zero = np.zeros((n, size), bool)
  zero[:, 1:-1] = codes[:, 1:-1] == ZERO
  matrix[zero] = 0.0
  matrix.transpose(0, 2, 1)[zero] = 0.0
  forward = np.zeros((n, size), bool)
  forward[:, 0] = True
  backward = np.zeros((n, size), bool)
  backward[:, -1] = True
  for v in range(1, size):  # edges go from lower to higher vertices
    forward[:, v] = (forward[:, :v] & (matrix[:, :v, v] > 0)).any(1)
  for v in range(size - 2, -1, -1):
    backward[:, v] = (backward[:, v + 1:] & (matrix[:, v, v + 1:] > 0)).any(1)
  dead = ~(forward & backward)
  matrix[dead] = 0.0
  matrix.transpose(0, 2, 1)[dead] = 0.0
  codes[dead] = DEAD
  return matrix, codes


def graph_hash(matrix: np.ndarray, codes: np.ndarray) -> str:
  """NB-ASR's hash of one minimised graph: dead vertices deleted, labels -1 input, op index, -2 output."""
  alive = np.nonzero(codes != DEAD)[0]
  labels = [{INPUT_CODE: -1, OUTPUT_CODE: -2}.get(int(c), int(c)) for c in codes[alive]]
  return space_lib.graph_hash(matrix[np.ix_(alive, alive)], labels)


def vector_hash(vector) -> str:
  matrix, codes = graphs([flat_vector(vector)])
  return graph_hash(matrix[0], codes[0])


@functools.lru_cache(maxsize=None)
def enumerated() -> dict:
  """The whole space: `hashes` (8242,) sorted, `vectors` (8242, 9) the spec of each (the last vector of the
  hash in NB-ASR's order), and `counts`, how many of the 13,824 vectors share each hash."""
  vectors = all_vectors()
  matrix, codes = graphs(vectors)
  packed = np.concatenate([matrix.reshape(len(vectors), -1), codes], axis=1)
  _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
  hashes = np.array([graph_hash(matrix[row], codes[row]) for row in first], dtype='<U32')[inverse.reshape(-1)]
  keys, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
  last = np.zeros(len(keys), np.int64)
  last[inverse] = np.arange(len(vectors))  # later rows overwrite: the last vector of each hash
  arrays = {'hashes': keys, 'vectors': vectors[last], 'counts': counts}
  for value in arrays.values():
    value.setflags(write=False)
  return arrays


# ----- encoding -----

def encode_vectors(vectors) -> Tuple[np.ndarray, np.ndarray]:
  """Eagle's GCN inputs: adjacency (n, 6, 6) with the global node and self loops; features (n, 6, 8) one-hot
  [linear, conv5, conv5d2, conv7, conv7d2, input, output, global], dead vertices all zero."""
  matrix, codes = graphs(vectors)
  n = len(matrix)
  adjacency = space_lib.with_global_node(matrix.astype(np.float32))
  features = np.zeros((n, NUM_NODES, NUM_FEATURES), np.float32)
  features[:, 0, NUM_FEATURES - 1] = 1.0
  rows, vertices = np.nonzero(codes != DEAD)
  features[rows, vertices + 1, codes[rows, vertices]] = 1.0
  return adjacency, features


# ----- the NB-ASR network (NAS-Bench-ASR's model): FLOPs and parameters -----

FUTURE_CONTEXT = 4  # frames of look-ahead NB-ASR's padded convolutions allow (40 ms)


def conv_padding(kernel: int, dilation: int, stride: int) -> Tuple[int, int]:
  """(left, right) zero padding of NB-ASR's padded convolution: at most FUTURE_CONTEXT / stride frames on the
  right, the rest on the left."""
  span = kernel * dilation - stride
  right = FUTURE_CONTEXT // stride
  if right >= span:
    return 0, span
  return (kernel - 1) * dilation - right, right


def conv_frames(frames: int, kernel: int, dilation: int, stride: int) -> int:
  left, right = conv_padding(kernel, dilation, stride)
  return (frames + left + right - dilation * (kernel - 1) - 1) // stride + 1


def cell_vertices(vector) -> Tuple[np.ndarray, np.ndarray]:
  """The minimised graph (adjacency (5, 5), codes (5,)) the network of `vector` computes."""
  matrix, codes = graphs([vector])
  return matrix[0], codes[0]


def network_cost(vector, input_size=(1, 150, 80), filters=(600, 800, 1000, 1200),
                 cells=(3, 4, 5, 6), kernel: int = 8, strides=(1, 1, 2, 2), groups: int = 100,
                 rnn_units: int = 500, num_classes: int = 48, seed: int = 0) -> Tuple[int, int]:
  """(MACs, trainable params) of the NB-ASR network of one arch on input_size = (1, frames, filterbank features):
  per block a padded
  kernel-8 convolution (ReLU clipped at 20) and LayerNorm, then the block's cells (the minimised graph's ops,
  each cell ending in LayerNorm); an LSTM (`rnn_units`, 0 for none) and the projection to num_classes + blank.
  Parameters count as Keras does (one LSTM bias); MACs count convolutions, dense layers and the LSTM."""
  del seed
  _, frames, channels = input_size
  _, codes = cell_vertices(vector)
  ops = [int(c) for c in codes[1:-1] if c != DEAD]
  macs = params = 0
  for width, count, stride in zip(filters, cells, strides):
    frames = conv_frames(frames, kernel, 1, stride)
    macs += kernel * channels * width * frames
    params += kernel * channels * width + width + 2 * width
    cell_macs = cell_params = 0
    for op in ops:
      if op == LINEAR:
        cell_macs, cell_params = cell_macs + width * width * frames, cell_params + width * width + width
      else:
        k = CONV_SHAPES[op][0]
        weights = k * (width // groups) * width
        cell_macs, cell_params = cell_macs + weights * frames, cell_params + weights + width
    macs += count * cell_macs
    params += count * (cell_params + 2 * width)
    channels = width
  if rnn_units:
    macs += 4 * rnn_units * (channels + rnn_units) * frames
    params += 4 * (rnn_units * (channels + rnn_units) + rnn_units)
    channels = rnn_units
  macs += channels * (num_classes + 1) * frames
  params += channels * (num_classes + 1) + num_classes + 1
  return macs, params
