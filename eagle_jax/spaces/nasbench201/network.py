"""The NB201 network in Keras: stem, 3 stacks of cells (16/32/64 channels) with residual reductions between
them, ReLU-Conv-BN ops, BN-ReLU, global pooling and a classifier (NB201's TinyNetwork).

`prune=True` (default) drops dead ops, as Eagle's graphs do and its latency data follows; `prune=False` keeps every
edge (`none` as a zero op), as NB201/NATS run it. Trainable parameters equal `nasbench201.params`.

`build_supernet` is the same network with every cell edge an `EdgeChoice` of the five ops, chosen by an integer
input: one model (traced once) runs any cell, which is how the zero-cost proxies score the whole space.
"""
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

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


def _reduction(x, channels: int):
  main = _apply(_relu_conv_bn_layers(channels, 3, stride=2), x)
  main = _apply(_relu_conv_bn_layers(channels, 3), main)
  shortcut = tf.keras.layers.AveragePooling2D(2, 2, padding='valid')(x)
  shortcut = tf.keras.layers.Conv2D(channels, 1, use_bias=False)(shortcut)
  return tf.keras.layers.Add()([shortcut, main])


def _network(inputs, cell: Callable, channels: int, cells_count: int, num_classes: int):
  """Stem, three stacks of `cell(x, channels)` with reductions between them, and the classifier."""
  x = tf.keras.layers.Conv2D(channels, 3, padding='same', use_bias=False)(inputs)
  x = tf.keras.layers.BatchNormalization(epsilon=1e-5)(x)
  c = channels
  for stack in range(3):
    if stack:
      c *= 2
      x = _reduction(x, c)
    for _ in range(cells_count):
      x = cell(x, c)
  x = tf.keras.layers.BatchNormalization(epsilon=1e-5)(x)
  x = tf.keras.layers.ReLU()(x)
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  return tf.keras.layers.Dense(num_classes)(x)


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
