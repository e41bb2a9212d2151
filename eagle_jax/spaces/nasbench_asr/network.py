"""The NB-ASR network in Keras, as NAS-Bench-ASR trains it: filterbank frames (input_size = (1, frames, 80), a fixed
mean-variance normalisation), four blocks of a padded kernel-8 convolution (ReLU clipped at 20, strides
1, 1, 2, 2; 600, 800, 1000, 1200 channels) and LayerNorm followed by 3, 4, 5, 6 searched cells, an LSTM of 500
units and the projection to 48 phonemes + the CTC blank. Dropout is off (inference).

A cell computes the arch's minimised graph (`nasbench_asr.graphs`): each op vertex applies its op to the sum of
its inputs, the output sums its inputs, then LayerNorm. Ops: linear = dense + clipped ReLU; convK(dD) = padded
kernel-K convolution with dilation D in 100 groups + clipped ReLU (NB-ASR's PyTorch model; its TensorFlow model
drops the dilation, which would make conv5d2 a copy of conv5). A cell whose output cannot be reached from its
input outputs zeros. Trainable parameters equal `nasbench_asr.network_cost`.
"""
import numpy as np
import tensorflow as tf

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench_asr import archs as nbasr

_SPACE = space_lib.get('nasbench_asr')  # keys, strings and specs in, the package's own Space


def _clipped_relu(x):
  return tf.keras.layers.ReLU(max_value=20.0)(x)


def _padded_conv(x, filters: int, kernel: int, dilation: int = 1, stride: int = 1, groups: int = 1):
  x = tf.keras.layers.ZeroPadding1D(nbasr.conv_padding(kernel, dilation, stride))(x)
  x = tf.keras.layers.Conv1D(filters, kernel, strides=stride, dilation_rate=dilation, groups=groups)(x)
  return _clipped_relu(x)


def _layer_norm(x):
  return tf.keras.layers.LayerNormalization(epsilon=1e-3)(x)


def _sum(tensors):
  return tensors[0] if len(tensors) == 1 else tf.keras.layers.Add()(tensors)


def _cell(x, matrix: np.ndarray, codes: np.ndarray, groups: int):
  width = int(x.shape[-1])
  values = {0: x}
  for v in range(1, nbasr.GRAPH_VERTICES):
    if codes[v] == nbasr.DEAD:
      continue
    h = _sum([values[u] for u in range(v) if matrix[u, v]])
    op = int(codes[v])
    if op == nbasr.LINEAR:
      h = _clipped_relu(tf.keras.layers.Dense(width)(h))
    elif op in nbasr.CONV_SHAPES:
      kernel, dilation = nbasr.CONV_SHAPES[op]
      h = _padded_conv(h, width, kernel, dilation, groups=groups)
    values[v] = h
  out = values.get(nbasr.GRAPH_VERTICES - 1)
  if out is None:  # the output cannot be reached: the cell computes zeros
    out = tf.keras.layers.Lambda(tf.zeros_like)(x)
  return _layer_norm(out)


def build(key, input_size=(1, 150, 80), filters=(600, 800, 1000, 1200), cells=(3, 4, 5, 6),
          kernel: int = 8, strides=(1, 1, 2, 2), groups: int = 100, rnn_units: int = 500, num_classes: int = 48,
          seed: int = 0) -> tf.keras.Model:
  """The Keras network of one NB-ASR arch (a graph hash or an arch vector), random weights from `seed`."""
  key = _SPACE.key(key)
  matrix, codes = nbasr.cell_vertices(_SPACE.vectors([key])[0])
  tf.keras.utils.set_random_seed(seed)
  inputs = tf.keras.Input(batch_shape=tuple(input_size))
  features = input_size[-1]
  x = tf.keras.layers.Normalization(axis=-1, mean=np.zeros(features), variance=np.ones(features))(inputs)
  for width, count, stride in zip(filters, cells, strides):
    x = _layer_norm(_padded_conv(x, width, kernel, stride=stride))
    for _ in range(count):
      x = _cell(x, matrix, codes, groups)
  if rnn_units:
    x = tf.keras.layers.LSTM(rnn_units, return_sequences=True)(x)
  outputs = tf.keras.layers.Dense(num_classes + 1)(x)
  return tf.keras.Model(inputs, outputs, name=f'nbasr_{key}')


def trainable_params(model: tf.keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))
