"""The NB101 network in Keras, as NAS-Bench-101 trains it: conv3x3-BN-ReLU stem (128 channels), 3 stacks of 3
modules with 2x2 max-pool downsampling and channel doubling between stacks, global pooling and a classifier.

Inside a module (NB101's channel rules): the output's channels are split over the vertices feeding it and
concatenated; other vertices take the channels of their widest successor; edges between interior vertices are
summed after truncating extra channels; the module input is projected (1x1 conv-BN-ReLU) onto every vertex it
feeds, and onto the output when it feeds it directly (added to the concatenation). Trainable parameters equal
`nasbench101.network_cost`.
"""
import numpy as np
import tensorflow as tf

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench101 import archs as nb101

_SPACE = space_lib.get('nasbench101')  # keys, strings and specs in, the package's own Space


def _conv_bn_relu(x, channels: int, kernel: int):
  x = tf.keras.layers.Conv2D(channels, kernel, padding='same', use_bias=False)(x)
  x = tf.keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.997)(x)
  return tf.keras.layers.ReLU()(x)


def _truncate(x, channels: int):
  if x.shape[-1] == channels:
    return x
  return tf.keras.layers.Lambda(lambda t: t[..., :channels])(x)


def _sum(tensors):
  return tensors[0] if len(tensors) == 1 else tf.keras.layers.Add()(tensors)


def _module(x, matrix: np.ndarray, ops, channels: int):
  n = len(matrix)
  vc = nb101.vertex_channels(int(x.shape[-1]), channels, matrix)
  tensors, concat = [x], []
  for v in range(1, n - 1):
    inputs = [_truncate(tensors[u], vc[v]) for u in range(1, v) if matrix[u, v]]
    if matrix[0, v]:
      inputs.append(_conv_bn_relu(x, vc[v], 1))
    h = _sum(inputs)
    if ops[v] == 'maxpool3x3':
      h = tf.keras.layers.MaxPooling2D(3, 1, padding='same')(h)
    else:
      h = _conv_bn_relu(h, vc[v], 3 if ops[v] == 'conv3x3-bn-relu' else 1)
    tensors.append(h)
    if matrix[v, n - 1]:
      concat.append(h)
  if not concat:
    return _conv_bn_relu(x, channels, 1)
  out = concat[0] if len(concat) == 1 else tf.keras.layers.Concatenate()(concat)
  if matrix[0, n - 1]:
    out = tf.keras.layers.Add()([out, _conv_bn_relu(x, channels, 1)])
  return out


def build(key, input_size=(1, 32, 32, 3), stem_channels: int = 128, num_stacks: int = 3,
          modules_per_stack: int = 3, num_classes: int = 10, seed: int = 0) -> tf.keras.Model:
  """The Keras network of one NB101 cell (a module hash or an (adjacency, ops) spec), random weights from
  `seed`."""
  key = _SPACE.key(key)
  matrix, ops = _SPACE.spec(key)
  matrix = np.asarray(matrix)
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(batch_shape=tuple(input_size))
  x = _conv_bn_relu(inputs, stem_channels, 3)
  channels = stem_channels
  for stack in range(num_stacks):
    if stack:
      x = tf.keras.layers.MaxPooling2D(2, 2, padding='same')(x)
      channels *= 2
    for _ in range(modules_per_stack):
      x = _module(x, matrix, ops, channels)
  x = tf.keras.layers.GlobalAveragePooling2D()(x)
  outputs = tf.keras.layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name=f'nb101_{key}')


def trainable_params(model: tf.keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))
