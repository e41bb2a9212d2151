"""The NB201 network in Keras: stem, 3 stacks of cells (16/32/64 channels) with residual reductions between
them, ReLU-Conv-BN ops, BN-ReLU, global pooling and a classifier (NB201's TinyNetwork).

`prune=True` (default) drops dead ops, as Eagle's graphs do and its latency data follows; `prune=False` keeps every
edge (`none` as a zero op), as NB201/NATS run it. Trainable parameters equal `nasbench201.params`.
"""
from typing import Sequence

import numpy as np
import tensorflow as tf

from eagle_jax.spaces import nasbench201 as nb


class InvalidArchError(ValueError):
  """The cell's output is cut off from its input: there is no network to build."""


def _relu_conv_bn(x, channels: int, kernel: int, stride: int = 1):
  x = tf.keras.layers.ReLU()(x)
  x = tf.keras.layers.Conv2D(channels, kernel, stride, padding='same', use_bias=False)(x)
  return tf.keras.layers.BatchNormalization(epsilon=1e-5)(x)


def _op(x, op: int, channels: int):
  if op == nb.SKIP:
    return x
  if op == nb.NONE:
    return tf.keras.layers.Lambda(lambda t: t * 0.0)(x)
  if op == nb.AVG_POOL:
    return tf.keras.layers.AveragePooling2D(3, 1, padding='same')(x)
  return _relu_conv_bn(x, channels, 1 if op == nb.CONV1X1 else 3)


def _sum(tensors):
  return tensors[0] if len(tensors) == 1 else tf.keras.layers.Add()(tensors)


def _cell(x, ops: np.ndarray, channels: int, prune: bool):
  nodes = [x]
  for target in (1, 2, 3):
    inputs = [_op(nodes[src], ops[k], channels) for k, (dst, src) in enumerate(nb.EDGES)
              if dst == target and not (prune and ops[k] == nb.NONE)]
    nodes.append(_sum(inputs) if inputs else None)
  return nodes[3]


def _reduction(x, channels: int):
  main = _relu_conv_bn(x, channels, 3, stride=2)
  main = _relu_conv_bn(main, channels, 3)
  shortcut = tf.keras.layers.AveragePooling2D(2, 2, padding='valid')(x)
  shortcut = tf.keras.layers.Conv2D(channels, 1, use_bias=False)(shortcut)
  return tf.keras.layers.Add()([shortcut, main])


def build(vec: Sequence[int], prune: bool = True, input_size=(1, 32, 32, 3), channels: int = 16,
          cells_count: int = 5, num_classes: int = 100, seed: int = 0) -> tf.keras.Model:
  """The Keras network of one NB201 cell (random weights from `seed`); InvalidArchError if disconnected."""
  vec = nb.as_vectors([vec])
  if not nb.is_valid(vec)[0]:
    raise InvalidArchError(f'{nb.to_arch_str(vec[0])}: output unreachable from input, no network to build')
  ops = (nb.live_ops(vec) if prune else vec)[0]
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(batch_shape=tuple(input_size))
  x = tf.keras.layers.Conv2D(channels, 3, padding='same', use_bias=False)(inputs)
  x = tf.keras.layers.BatchNormalization(epsilon=1e-5)(x)
  c = channels
  for stack in range(3):
    if stack:
      c *= 2
      x = _reduction(x, c)
    for _ in range(cells_count):
      x = _cell(x, ops, c, prune)
  x = tf.keras.layers.BatchNormalization(epsilon=1e-5)(x)
  x = tf.keras.layers.ReLU()(x)
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  outputs = tf.keras.layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name='nb201_' + ''.join(map(str, vec[0])))


def trainable_params(model: tf.keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))
