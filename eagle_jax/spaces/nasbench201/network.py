"""The NB201 network in Keras: stem, 3 stacks of cells (16/32/64 channels) with residual reductions between
them, ReLU-Conv-BN ops, BN-ReLU, global pooling and a classifier (NB201's TinyNetwork).

`prune=True` (default) drops dead ops, as Eagle's graphs do and its latency data follows; `prune=False` keeps every
edge (`none` as a zero op), as NB201/NATS run it. Trainable parameters equal `nasbench201.params`.

`build_supernet` is the same network with every cell edge an `EdgeChoice` of the five ops, chosen by an integer
input: one model (traced once) runs any cell, which is how the zero-cost proxies score the whole space.
"""
from typing import Callable, List, Sequence

import keras
import numpy as np
import tensorflow as tf

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench201 import archs as nb


class InvalidArchError(ValueError):
  """The cell's output is cut off from its input: there is no network to build."""


def _relu_conv_bn_layers(channels: int, kernel: int, stride: int = 1) -> list:
  return [tf.keras.layers.ReLU(), tf.keras.layers.Conv2D(channels, kernel, stride, padding='same', use_bias=False),
          tf.keras.layers.BatchNormalization(epsilon=1e-5)]


def _op_layers(op: int, channels: int) -> list:
  """The layers of one cell op, applied in order (none for skip_connect)."""
  if op == nb.SKIP:
    return []
  if op == nb.NONE:
    return [tf.keras.layers.Lambda(lambda t: t * 0.0)]
  if op == nb.AVG_POOL:
    return [tf.keras.layers.AveragePooling2D(3, 1, padding='same')]
  return _relu_conv_bn_layers(channels, 1 if op == nb.CONV1X1 else 3)


def _apply(layers: list, x):
  for layer in layers:
    x = layer(x)
  return x


def _sum(tensors):
  return tensors[0] if len(tensors) == 1 else tf.keras.layers.Add()(tensors)


def _cell(x, ops: np.ndarray, channels: int, prune: bool):
  nodes = [x]
  for target in (1, 2, 3):
    inputs = [_apply(_op_layers(ops[k], channels), nodes[src]) for k, (dst, src) in enumerate(nb.EDGES)
              if dst == target and not (prune and ops[k] == nb.NONE)]
    nodes.append(_sum(inputs) if inputs else None)
  return nodes[3]


class EdgeChoice(keras.layers.Layer):
  """A cell edge holding all five ops; `[x, op]` runs op number `op` only (`keras.ops.switch`)."""

  def __init__(self, channels: int, edge: int, **kwargs):
    super().__init__(**kwargs)
    self.edge = edge
    self.branches = [keras.Sequential(_op_layers(op, channels) or [keras.layers.Identity()])
                     for op in range(len(nb.OPS))]
    # Whether each op starts with a ReLU, whose input is then this edge's input (the NASWOT proxy reads it).
    self.relu_first = [isinstance(b.layers[0], keras.layers.ReLU) for b in self.branches]

  def build(self, input_shape):
    for branch in self.branches:
      branch.build(input_shape[0])

  def call(self, inputs, training=None):
    x, op = inputs
    return keras.ops.switch(op, [lambda t, b=b: b(t, training=training) for b in self.branches], x)


def _choice_cell(x, ops, channels: int):
  nodes = [x]
  for target in (1, 2, 3):
    nodes.append(_sum([EdgeChoice(channels, k)([nodes[src], ops[k]]) for k, (dst, src) in enumerate(nb.EDGES)
                       if dst == target]))
  return nodes[3]


def _stem_layers(channels: int) -> list:
  return [tf.keras.layers.Conv2D(channels, 3, padding='same', use_bias=False),
          tf.keras.layers.BatchNormalization(epsilon=1e-5)]


def _reduction_layers(channels: int) -> dict:
  """The reduction block's paths: main (relu_conv3x3_s2, relu_conv3x3) and shortcut (avgpool2x2_s2, conv1x1)."""
  return {'relu_conv3x3_s2': _relu_conv_bn_layers(channels, 3, stride=2),
          'relu_conv3x3': _relu_conv_bn_layers(channels, 3),
          'avgpool2x2_s2': [tf.keras.layers.AveragePooling2D(2, 2, padding='valid')],
          'conv1x1': [tf.keras.layers.Conv2D(channels, 1, use_bias=False)]}


def _head_layers(num_classes: int) -> dict:
  return {'bn_relu': [tf.keras.layers.BatchNormalization(epsilon=1e-5), tf.keras.layers.ReLU()],
          'global_pool': [tf.keras.layers.GlobalAveragePooling2D()],
          'dense': [tf.keras.layers.Dense(num_classes)]}


def _reduction(x, channels: int):
  paths = _reduction_layers(channels)
  main = _apply(paths['relu_conv3x3'], _apply(paths['relu_conv3x3_s2'], x))
  shortcut = _apply(paths['conv1x1'], _apply(paths['avgpool2x2_s2'], x))
  return tf.keras.layers.Add()([shortcut, main])


def _network(inputs, cell: Callable, channels: int, cells_count: int, num_classes: int):
  """Stem, three stacks of `cell(x, channels)` with reductions between them, and the classifier."""
  x = _apply(_stem_layers(channels), inputs)
  c = channels
  for stack in range(3):
    if stack:
      c *= 2
      x = _reduction(x, c)
    for _ in range(cells_count):
      x = cell(x, c)
  for head_layers in _head_layers(num_classes).values():
    x = _apply(head_layers, x)
  return x


def build(vec: Sequence[int], prune: bool = True, input_size=(1, 32, 32, 3), channels: int = 16,
          cells_count: int = 5, num_classes: int = 100, seed: int = 0) -> tf.keras.Model:
  """The Keras network of one NB201 cell (random weights from `seed`); InvalidArchError if disconnected."""
  vec = nb.as_vectors([vec])
  if not nb.is_valid(vec)[0]:
    raise InvalidArchError(f'{nb.to_arch_str(vec[0])}: output unreachable from input, no network to build')
  ops = (nb.live_ops(vec) if prune else vec)[0]
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(batch_shape=tuple(input_size))
  outputs = _network(inputs, lambda x, c: _cell(x, ops, c, prune), channels, cells_count, num_classes)
  return tf.keras.Model(inputs, outputs, name='nb201_' + ''.join(map(str, vec[0])))


def build_supernet(input_size=(1, 32, 32, 3), channels: int = 16, cells_count: int = 5, num_classes: int = 100,
                   seed: int = 0) -> tf.keras.Model:
  """The network with an `EdgeChoice` on every edge: inputs [images, ops (6,) int32]. Feeding a cell's
  `nasbench201.live_ops` runs exactly the pruned network of `build` (dead edges become `none`, a zero)."""
  tf.keras.utils.set_random_seed(seed)
  images = tf.keras.Input(batch_shape=tuple(input_size))
  ops = tf.keras.Input(batch_shape=(nb.NUM_EDGES,), dtype='int32')
  outputs = _network(images, lambda x, c: _choice_cell(x, ops, c), channels, cells_count, num_classes)
  return tf.keras.Model([images, ops], outputs, name='nb201_supernet')


def trainable_params(model: tf.keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))


_CELL_OPS = {nb.CONV1X1: 'relu_conv1x1', nb.CONV3X3: 'relu_conv3x3', nb.AVG_POOL: 'avgpool3x3', nb.NONE: 'zero'}


def layers(prune: bool = True, input_size=(1, 32, 32, 3), channels: int = 16, cells_count: int = 5,
           num_classes: int = 100, seed: int = 0) -> List[space_lib.Layer]:
  """Every distinct layer of the space's networks, at every place and shape it occurs (Eagle's layer profiling):
  the stem; per reduction its four paths and their sum; per stack each cell op (`zero`, the `none` op, only when
  unpruned) and the cell's 2- and 3-input sums; the head (BN-ReLU, global pooling, classifier)."""
  del cells_count, seed  # the same layers whatever the stack depth; weights are drawn when a layer is built
  batch, height, width, _ = tuple(input_size)
  shape = lambda h, w, c: (batch, h, w, c)
  sequence = lambda make: (lambda xs: _apply(make(), xs[0]))
  add = lambda xs: tf.keras.layers.Add()(xs)
  found = [space_lib.Layer('stem', 'conv3x3_bn', (tuple(input_size),), sequence(lambda: _stem_layers(channels)))]
  c, h, w = channels, height, width
  for stack in range(3):
    if stack:
      before, c, h, w = shape(h, w, c), 2 * c, -(-h // 2), -(-w // 2)
      sources = {'relu_conv3x3_s2': before, 'relu_conv3x3': shape(h, w, c), 'avgpool2x2_s2': before,
                 'conv1x1': shape(h, w, c // 2)}
      for part, source in sources.items():
        found.append(space_lib.Layer(f'reduction{stack}_{part}', part, (source,),
                                     sequence(lambda part=part, c=c: _reduction_layers(c)[part])))
      found.append(space_lib.Layer(f'reduction{stack}_add2', 'add', (shape(h, w, c),) * 2, add))
    for op, name in _CELL_OPS.items():
      if op != nb.NONE or not prune:
        found.append(space_lib.Layer(f'stack{stack}_{name}', name, (shape(h, w, c),),
                                     sequence(lambda op=op, c=c: _op_layers(op, c))))
    for arity in (2, 3):
      found.append(space_lib.Layer(f'stack{stack}_add{arity}', 'add', (shape(h, w, c),) * arity, add))
  head = {'bn_relu': shape(h, w, c), 'global_pool': shape(h, w, c), 'dense': (batch, c)}
  for part, source in head.items():
    found.append(space_lib.Layer(f'head_{part}', part, (source,),
                                 sequence(lambda part=part: _head_layers(num_classes)[part])))
  return found


def layer_counts(vecs, prune: bool = True, cells_count: int = 5, **network) -> np.ndarray:
  """(n, len(layers)) ints: how many times each layer of `layers(prune, **network)` runs in each arch's network."""
  vecs = nb.as_vectors(vecs)
  invalid = ~nb.is_valid(vecs)
  if invalid.any():
    raise ValueError(f'{nb.to_arch_str(vecs[invalid][0])}: output unreachable from input, no network to count')
  ops = nb.live_ops(vecs) if prune else vecs
  used = (ops != nb.NONE) if prune else np.ones(ops.shape, bool)
  arity = np.stack([used[:, [k for k, (dst, _) in enumerate(nb.EDGES) if dst == node]].sum(1)
                    for node in (1, 2, 3)], axis=1)
  per_cell = {name: (ops == op).sum(1) for op, name in _CELL_OPS.items()}
  per_cell.update({f'add{k}': (arity == k).sum(1) for k in (2, 3)})
  tags = [layer.tag for layer in layers(prune, **network)]
  counts = np.ones((len(vecs), len(tags)), np.int64)
  for column, tag in enumerate(tags):
    place, _, name = tag.partition('_')
    if place.startswith('stack'):
      counts[:, column] = cells_count * per_cell[name]
  return counts
