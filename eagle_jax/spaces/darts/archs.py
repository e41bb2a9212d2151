"""The DARTS cell space: genotypes, their text, Eagle's and a fast seeded sampler, Eagle's encoding, FLOPs and params.

A genotype is two cells (normal, then reduction), each 8 (op, input) pairs, two per intermediate node 2..5; an
input is 0 or 1 (the cell's two inputs) or an earlier intermediate node; both concats are nodes 2..5. Ops are the
seven DARTS ops without `none`. Key arrays are int8 (n, 32): per cell op0, input0, ..., op7, input7, op codes
indexing OPS. The string form is DARTS's `Genotype(normal=[...], normal_concat=range(2, 6), reduce=[...],
reduce_concat=range(2, 6))` text, read without eval.
"""
import ast
import collections
import random
from typing import Iterator, Tuple

import numpy as np

from eagle_jax.spaces import space as space_lib

# What the space package re-exports (its public contract): everything defined here but the helpers.
__all__ = ('OPS', 'MAX_POOL', 'AVG_POOL', 'SKIP', 'SEP3', 'SEP5', 'DIL3', 'DIL5', 'STEPS', 'EDGES', 'KEY_WIDTH',
           'CONCAT', 'CELL_NODES', 'NUM_NODES', 'NUM_FEATURES', 'ADDITION', 'INPUT', 'OUTPUT', 'GLOBAL', 'Genotype',
           'genotype_key', 'to_genotype', 'to_text', 'parse_text', 'check_key_array', 'fingerprints',
           'sample_chunks', 'sample_eagle', 'encode_keys', 'network_costs')

OPS = ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
       'dil_conv_5x5')
MAX_POOL, AVG_POOL, SKIP, SEP3, SEP5, DIL3, DIL5 = range(7)
STEPS = 4          # intermediate nodes per cell
EDGES = 2 * STEPS  # (op, input) pairs per cell
KEY_WIDTH = 2 * 2 * EDGES
CONCAT = tuple(range(2, 2 + STEPS))
CELL_NODES = 2 + 3 * STEPS + 1  # 2 inputs, (op, op, addition) per intermediate node, the output
NUM_NODES = 2 * CELL_NODES + 1  # both cells and the global node
NUM_FEATURES = 10  # max_pool, avg_pool, sep3, sep5, dil3, dil5, addition, input, output, global
_FEATURE = {MAX_POOL: 0, AVG_POOL: 1, SEP3: 2, SEP5: 3, DIL3: 4, DIL5: 5}
ADDITION, INPUT, OUTPUT, GLOBAL = 6, 7, 8, 9

Genotype = collections.namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')


# ----- genotypes, keys and text -----

def _check_cell(pairs, name: str, where: str) -> list:
  try:
    pairs = [tuple(p) for p in pairs]
  except TypeError:
    raise ValueError(f'{where}: {name} must be 8 (op, input) pairs, got {pairs!r:.80}') from None
  if len(pairs) != EDGES or any(len(p) != 2 for p in pairs):
    raise ValueError(f'{where}: {name} must be 8 (op, input) pairs, got {len(pairs)} entries')
  out = []
  for edge, (op, source) in enumerate(pairs):
    if op not in OPS:
      raise ValueError(f'{where}: {name}[{edge}] has op {op!r}; DARTS ops are {", ".join(OPS)}')
    node = 2 + edge // 2
    if isinstance(source, bool) or not isinstance(source, (int, np.integer)) or not 0 <= source < node:
      raise ValueError(f'{where}: {name}[{edge}] reads {source!r}; node {node} reads nodes 0..{node - 1}')
    out += [OPS.index(op), int(source)]
  for step in range(STEPS):
    if out[4 * step + 1] == out[4 * step + 3]:
      raise ValueError(f'{where}: {name} node {step + 2} reads node {out[4 * step + 1]} twice; its two inputs '
                       'must differ')
  return out


def genotype_key(genotype, where: str = 'DARTS genotype') -> Tuple[int, ...]:
  """The 32-int key of a Genotype (or any 4-tuple of normal, normal_concat, reduce, reduce_concat)."""
  try:
    normal, normal_concat, reduce, reduce_concat = genotype
  except (TypeError, ValueError):
    raise ValueError(f'{where}: {genotype!r:.80} is not a Genotype(normal, normal_concat, reduce, '
                     'reduce_concat)') from None
  for name, concat in (('normal_concat', normal_concat), ('reduce_concat', reduce_concat)):
    if not isinstance(concat, (range, list, tuple)) or tuple(concat) != CONCAT:
      raise ValueError(f'{where}: {name} is {concat!r}; the DARTS space concatenates nodes {list(CONCAT)}')
  return tuple(_check_cell(normal, 'normal', where) + _check_cell(reduce, 'reduce', where))


def to_genotype(key) -> Genotype:
  key = [int(v) for v in key]
  cells = [[(OPS[key[c + 2 * e]], key[c + 2 * e + 1]) for e in range(EDGES)] for c in (0, 2 * EDGES)]
  return Genotype(cells[0], range(2, 2 + STEPS), cells[1], range(2, 2 + STEPS))


def to_text(key) -> str:
  g = to_genotype(key)
  return (f'Genotype(normal={g.normal}, normal_concat=range(2, {2 + STEPS}), reduce={g.reduce}, '
          f'reduce_concat=range(2, {2 + STEPS}))')


def _literal(node, where: str):
  try:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'range':
      return range(*[_literal(a, where) for a in node.args])
    return ast.literal_eval(node)
  except (ValueError, TypeError):
    raise ValueError(f'{where}: only literals and range(...) of integers may appear in a Genotype') from None


def parse_text(text: str, where: str = 'DARTS genotype') -> Tuple[int, ...]:
  """The key of DARTS's Genotype(...) text, parsed without eval."""
  try:
    tree = ast.parse(text.strip(), mode='eval').body
  except SyntaxError:
    raise ValueError(f'{where}: {text[:60]!r} is not Genotype(...) text') from None
  if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == 'Genotype'):
    raise ValueError(f'{where}: {text[:60]!r} is not Genotype(...) text')
  fields = dict(zip(Genotype._fields, [_literal(a, where) for a in tree.args]))
  for keyword in tree.keywords:
    if keyword.arg not in Genotype._fields:
      raise ValueError(f'{where}: Genotype has no field {keyword.arg!r}')
    fields[keyword.arg] = _literal(keyword.value, where)
  if set(fields) != set(Genotype._fields):
    raise ValueError(f'{where}: Genotype text lacks {sorted(set(Genotype._fields) - set(fields))}')
  return genotype_key(Genotype(**fields), where)


def check_key_array(keys: np.ndarray) -> np.ndarray:
  """int8 (n, 32) keys; ValueError naming the first row with an op outside OPS or a bad pair of inputs."""
  keys = np.asarray(keys)
  ops, inputs = keys[:, 0::2], keys[:, 1::2].reshape(len(keys), 2, STEPS, 2)
  node = np.arange(2, 2 + STEPS)[None, None, :, None]
  bad = ((ops < 0) | (ops >= len(OPS))).any(1) | ((inputs < 0) | (inputs >= node)).any((1, 2, 3))
  bad |= (inputs[..., 0] == inputs[..., 1]).any((1, 2))
  if bad.any():
    row = int(np.argmax(bad))
    values = keys[row].tolist()
    cells = [[(OPS[o] if 0 <= o < len(OPS) else o, i) for o, i in zip(values[c:c + 16:2], values[c + 1:c + 16:2])]
             for c in (0, 16)]
    genotype_key((cells[0], CONCAT, cells[1], CONCAT), f'DARTS key array row {row}')
  return keys.astype(np.int8)


# ----- sampling -----

def _eagle_draws(rng: random.Random, n: int) -> np.ndarray:
  """`n` genotypes drawn as Eagle's `get_random_model` draws them: per genotype the normal, then
  the reduction cell; per cell one `choices(OPS, k=8)` for the ops, then for nodes 2..5 their two distinct inputs
  `sample(possible, k=2)` in the order drawn, with `possible` = [0, 1] growing by each node."""
  out = np.empty((n, KEY_WIDTH), np.int8)
  op_index = {op: i for i, op in enumerate(OPS)}
  for row in range(n):
    key = []
    for _ in range(2):
      ops = rng.choices(OPS, k=EDGES)
      possible, inputs = [0, 1], []
      for node in range(2, 2 + STEPS):
        inputs += rng.sample(possible, k=2)
        possible.append(node)
      for op, source in zip(ops, inputs):
        key += (op_index[op], source)
    out[row] = key
  return out


def _random_keys(rng: np.random.Generator, n: int) -> np.ndarray:
  keys = np.empty((n, KEY_WIDTH), np.int8)
  keys[:, 0::2] = rng.integers(0, len(OPS), (n, 2 * EDGES))
  for cell in range(2):
    for step in range(STEPS):
      node = 2 + step
      first = rng.integers(0, node, n)
      second = rng.integers(0, node - 1, n)
      second += second >= first
      base = cell * 2 * EDGES + 4 * step
      keys[:, base + 1], keys[:, base + 3] = first, second
  return keys


def fingerprints(keys: np.ndarray) -> np.ndarray:
  """A 64-bit fingerprint per key (splitmix64 over its 32 entries), for skipping duplicates in a stream."""
  keys = np.asarray(keys, np.int64).reshape(-1, KEY_WIDTH).astype(np.uint64)
  h = np.zeros(len(keys), np.uint64)
  with np.errstate(over='ignore'):
    for column in range(KEY_WIDTH):
      h = h * np.uint64(0x9E3779B97F4A7C15) + keys[:, column] + np.uint64(column + 1)
      h ^= h >> np.uint64(31)
      h *= np.uint64(0xBF58476D1CE4E5B9)
      h ^= h >> np.uint64(29)
  return h


def sample_chunks(n: int, seed: int, chunk: int = 100_000, mode: str = 'fast', exclude=()) -> Iterator[np.ndarray]:
  """`n` distinct genotypes in chunks of at most `chunk` (never all held at once), the same for the same seed and
  chunk size. `fast`: chunk k is drawn by numpy's generator seeded (seed, k), vectorised. `eagle`: Eagle's sampler
  (`_eagle_draws` from Python's `random` seeded once with `seed`), the same sequence whatever the chunk size.
  A genotype met before in the stream (or in `exclude`) is skipped, as Eagle skips known ones; repeats are found
  by a 64-bit fingerprint (for 10M genotypes a false match has a probability near 3e-6)."""
  if n < 1 or chunk < 1:
    raise ValueError(f'sampling needs n >= 1 and chunk >= 1, got n={n}, chunk={chunk}')
  if mode not in ('fast', 'eagle'):
    raise ValueError(f"DARTS sampling mode must be 'fast' or 'eagle', got {mode!r}")
  seen = np.unique(fingerprints(np.asarray(exclude, np.int64).reshape(-1, KEY_WIDTH)))
  python_rng = random.Random(seed)
  made, part = 0, 0
  while made < n:
    size = min(chunk, n - made)
    keys = _eagle_draws(python_rng, size) if mode == 'eagle' else _random_keys(
        np.random.default_rng([seed, part]), size)
    part += 1
    prints = fingerprints(keys)
    _, first = np.unique(prints, return_index=True)
    fresh = np.zeros(len(keys), bool)
    fresh[first] = True
    if len(seen):
      fresh &= seen[np.minimum(np.searchsorted(seen, prints), len(seen) - 1)] != prints
    keys, prints = keys[fresh], np.sort(prints[fresh])
    seen = np.insert(seen, np.searchsorted(seen, prints), prints)
    made += len(keys)
    yield keys


def sample_eagle(n: int, seed: int, exclude=()) -> np.ndarray:
  """Eagle's sampler: `n` distinct genotypes (see `sample_chunks`, mode 'eagle')."""
  return np.concatenate(list(sample_chunks(n, seed, mode='eagle', exclude=exclude)))


# ----- Eagle's encoding -----

_FEATURE_OF_OP = np.array([_FEATURE.get(op, -1) for op in range(len(OPS))])


def encode_keys(keys) -> Tuple[np.ndarray, np.ndarray]:
  """Eagle's GCN inputs: adjacency (n, 31, 31) and features (n, 31, 10). Node 0 is the global node, then each
  cell's 15 nodes (normal, then reduction): its 2 inputs, per intermediate node its two op nodes and an addition
  node, the output. An op node reads its input (a cell input or the addition node of an earlier node) and feeds
  its addition node; the additions of nodes 2..5 feed the output; a skip op is bypassed (its input feeds the
  addition node directly) and its node keeps no edges and an all-zero row. Self loops on every node."""
  keys = np.asarray(keys, np.int64).reshape(-1, KEY_WIDTH)
  n, rows = len(keys), np.arange(len(keys))
  edges = np.zeros((n, 2 * CELL_NODES, 2 * CELL_NODES), np.float32)
  features = np.zeros((n, NUM_NODES, NUM_FEATURES), np.float32)
  features[:, 0, GLOBAL] = 1.0
  for cell in range(2):
    offset = cell * CELL_NODES
    features[:, 1 + offset + np.array([0, 1]), INPUT] = 1.0
    features[:, 1 + offset + CELL_NODES - 1, OUTPUT] = 1.0
    for step in range(STEPS):
      addition = offset + 4 + 3 * step
      features[:, 1 + addition, ADDITION] = 1.0
      edges[:, addition, offset + CELL_NODES - 1] = 1.0
    for edge in range(EDGES):
      op, source = keys[:, cell * 2 * EDGES + 2 * edge], keys[:, cell * 2 * EDGES + 2 * edge + 1]
      node, addition = offset + 2 + 3 * (edge // 2) + edge % 2, offset + 4 + 3 * (edge // 2)
      source_node = offset + np.where(source < 2, source, 4 + 3 * (source - 2))
      skip = op == SKIP
      edges[rows, source_node, np.where(skip, addition, node)] = 1.0
      edges[rows[~skip], node, addition] = 1.0
      features[rows[~skip], 1 + node, _FEATURE_OF_OP[op[~skip]]] = 1.0
  return space_lib.with_global_node(edges), features


# ----- FLOPs and parameters of the DARTS CIFAR network -----

def _op_cost(op: int, channels: int, stride: int, size: int) -> Tuple[int, int]:
  """(MACs, params) of one op on `channels` channels whose output is size x size; BatchNorm affine (2C)."""
  area = size * size
  if op in (SEP3, SEP5):
    k = 3 if op == SEP3 else 5
    return 2 * (k * k * channels + channels * channels) * area, 2 * (k * k * channels + channels * channels
                                                                      + 2 * channels)
  if op in (DIL3, DIL5):
    k = 3 if op == DIL3 else 5
    return (k * k * channels + channels * channels) * area, k * k * channels + channels * channels + 2 * channels
  if op == SKIP and stride == 2:  # factorized reduce: two strided 1x1 convs to half the channels each
    return channels * channels * area, channels * channels + 2 * channels
  return 0, 0  # pools and identity


def network_costs(keys, init_channels: int = 16, layers: int = 8, num_classes: int = 10, image_size: int = 32,
                  input_size=None, seed: int = 0) -> np.ndarray:
  """(n, 2) float64: MACs and trainable params of DARTS's CIFAR network (NetworkCIFAR, no auxiliary head) for
  each key: a 3x3 stem to 3 x init_channels, `layers` cells with reduction cells at layers // 3 and 2 * layers // 3
  (channels doubled), each cell's inputs preprocessed (1x1 ReLU-conv-BN, or a factorized reduce after a reduction
  cell: the same cost), global pooling and a classifier. MACs count convolutions and the classifier. Every op's
  cost depends only on its layer, op and stride, so keys are costed by table lookups, all at once."""
  del seed
  if input_size is not None:
    image_size = int(input_size[1])
  keys = np.asarray(keys, np.int64).reshape(-1, 4 * EDGES)
  size = image_size
  stem = 3 * init_channels
  fixed = np.array([9 * 3 * stem * size * size, 9 * 3 * stem + 2 * stem], np.float64)
  costs = np.zeros((len(keys), 2), np.float64)
  prev_prev, prev, channels = stem, stem, init_channels
  for layer in range(layers):
    reduction = layer in (layers // 3, 2 * layers // 3)
    if reduction:
      channels *= 2
    in_size = size
    fixed += [(prev_prev * channels + prev * channels) * in_size * in_size,
              prev_prev * channels + prev * channels + 4 * channels]
    out_size = (in_size + 1) // 2 if reduction else in_size
    table = np.array([[_op_cost(op, channels, stride, out_size) for stride in (1, 2)] for op in range(len(OPS))],
                     np.float64)  # (op, stride - 1, [MACs, params])
    cell = keys[:, 2 * EDGES:] if reduction else keys[:, :2 * EDGES]
    ops, sources = cell[:, 0::2], cell[:, 1::2]
    strided = (reduction & (sources < 2)).astype(np.int64)
    costs += table[ops, strided].sum(axis=1)
    size = out_size
    prev_prev, prev = prev, STEPS * channels
  return costs + fixed + [prev * num_classes, prev * num_classes + num_classes]
