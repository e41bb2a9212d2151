"""DARTS's CIFAR network in Keras (NetworkCIFAR without the auxiliary head, inference): a 3x3 conv-BN stem to
3 x init_channels, `layers` cells with reduction cells at layers // 3 and 2 * layers // 3 (channels doubled), each
cell's two inputs preprocessed (1x1 ReLU-conv-BN, or a factorized reduce after a reduction cell), its 8 ops
summed in pairs into nodes 2..5 and the nodes concatenated; global pooling and a classifier.

Ops: pools 3x3 (average pooling excludes padding), skip (identity; a factorized reduce at stride 2), sep_conv
(twice ReLU, depthwise, pointwise, BN), dil_conv (ReLU, dilation-2 depthwise, pointwise, BN). Keras has no
strided dilated convolution; a stride-2 dilation-2 convolution reads only the even rows and columns, so it is
built as that subsample followed by an undilated stride-1 convolution (the same outputs, the same MACs).
Trainable parameters equal `darts.network_costs`.
"""
import numpy as np
import tensorflow as tf

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.darts import archs as darts

_SPACE = space_lib.get('darts')  # keys, strings and specs in, the package's own Space

_BN_EPSILON = 1e-5


def _bn(x):
  return tf.keras.layers.BatchNormalization(epsilon=_BN_EPSILON)(x)


def _relu_conv_bn(x, channels: int):
  x = tf.keras.layers.ReLU()(x)
  return _bn(tf.keras.layers.Conv2D(channels, 1, use_bias=False)(x))


def _factorized_reduce(x, channels: int):
  x = tf.keras.layers.ReLU()(x)
  left = tf.keras.layers.Conv2D(channels // 2, 1, strides=2, use_bias=False)(x)
  shifted = tf.keras.layers.Cropping2D(((1, 0), (1, 0)))(x)
  right = tf.keras.layers.Conv2D(channels - channels // 2, 1, strides=2, use_bias=False)(shifted)
  return _bn(tf.keras.layers.Concatenate()([left, right]))


def _even(x):
  return tf.keras.layers.Lambda(lambda t: t[:, ::2, ::2, :])(x)


def _depthwise_pointwise(x, channels: int, kernel: int, stride: int, dilation: int):
  x = tf.keras.layers.ReLU()(x)
  if stride == 2 and dilation == 2:
    x, stride, dilation = _even(x), 1, 1
  x = tf.keras.layers.DepthwiseConv2D(kernel, strides=stride, dilation_rate=dilation, padding='same',
                                      use_bias=False)(x)
  return _bn(tf.keras.layers.Conv2D(channels, 1, use_bias=False)(x))


def _op(x, op: int, channels: int, stride: int):
  if op == darts.MAX_POOL:
    return tf.keras.layers.MaxPooling2D(3, stride, padding='same')(x)
  if op == darts.AVG_POOL:
    return tf.keras.layers.AveragePooling2D(3, stride, padding='same')(x)
  if op == darts.SKIP:
    return x if stride == 1 else _factorized_reduce(x, channels)
  if op in (darts.SEP3, darts.SEP5):
    kernel = 3 if op == darts.SEP3 else 5
    x = _depthwise_pointwise(x, channels, kernel, stride, 1)
    return _depthwise_pointwise(x, channels, kernel, 1, 1)
  return _depthwise_pointwise(x, channels, 3 if op == darts.DIL3 else 5, stride, 2)


def _cell(s0, s1, cell_key, channels: int, reduction: bool, reduction_prev: bool):
  s0 = _factorized_reduce(s0, channels) if reduction_prev else _relu_conv_bn(s0, channels)
  states = [s0, _relu_conv_bn(s1, channels)]
  for step in range(darts.STEPS):
    branches = []
    for edge in (2 * step, 2 * step + 1):
      op, source = int(cell_key[2 * edge]), int(cell_key[2 * edge + 1])
      branches.append(_op(states[source], op, channels, 2 if reduction and source < 2 else 1))
    states.append(tf.keras.layers.Add()(branches))
  return tf.keras.layers.Concatenate()(states[2:])


def build(key, input_size=(1, 32, 32, 3), init_channels: int = 16, layers: int = 8, num_classes: int = 10,
          seed: int = 0) -> tf.keras.Model:
  """The Keras network of one genotype (text, Genotype or 32-int key), random weights from `seed`."""
  key = _SPACE.key(key)
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(batch_shape=tuple(input_size))
  stem = _bn(tf.keras.layers.Conv2D(3 * init_channels, 3, padding='same', use_bias=False)(inputs))
  s0 = s1 = stem
  channels, reduction_prev = init_channels, False
  for layer in range(layers):
    reduction = layer in (layers // 3, 2 * layers // 3)
    if reduction:
      channels *= 2
    cell_key = key[2 * darts.EDGES:] if reduction else key[:2 * darts.EDGES]
    s0, s1 = s1, _cell(s0, s1, cell_key, channels, reduction, reduction_prev)
    reduction_prev = reduction
  x = tf.keras.layers.GlobalAveragePooling2D()(s1)
  outputs = tf.keras.layers.Dense(num_classes)(x)
  return tf.keras.Model(inputs, outputs, name='darts')


def trainable_params(model: tf.keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))
