"""Zero-cost proxies of a Keras network at initialisation, as NASLib defines them (Abdelfattah et al. 2021;
Mellor et al. 2021):

- grad_norm: sum over conv/dense kernels of the L2 norm of d(cross-entropy)/d(kernel).
- snip: sum over conv/dense kernels of |kernel * d(cross-entropy)/d(kernel)|.
- synflow: log of the sum over conv/dense kernels of |kernel * dR/d(kernel)|, with every weight made positive,
  BatchNorm made the identity and R the sum of the outputs for an all-ones input (NASLib stores the log too),
  on the network built in float64 (float32 overflows on deep NB201 cells).
- jacov: -sum(log(v + 1e-5) + 1 / (v + 1e-5)) over the eigenvalues v of the correlation matrix of the
  per-input Jacobians d(sum of outputs)/d(input).
- nwot: log-determinant of the sum over ReLUs of the Hamming-similarity kernels of their binary activation codes
  (c c^T + (1 - c)(1 - c)^T for the codes c = input > 0 of each input in the batch).

Cross-entropy, Jacobians and activation codes come from one training-mode pass (BatchNorm on batch statistics);
conv/dense kernels are the trainable weights of two or more dimensions. FLOPs and params come from the space's
analytic network costs (compute.py).
"""
import contextlib
from typing import Callable, List, Optional

import keras
import numpy as np
import tensorflow as tf

GRADIENT_PROXIES = ('grad_norm', 'snip', 'jacov', 'nwot')
PROXIES = ('flops', 'params', 'synflow') + GRADIENT_PROXIES
JACOV_EPSILON = 1e-5


def kernels(model: keras.Model) -> list:
  """The conv and dense kernels (trainable weights of >= 2 dimensions): what NASLib's Conv2d/Linear sums cover."""
  return [w for w in model.trainable_weights if len(w.shape) >= 2]


def _relu_taps(model: keras.Model):
  """Tensors whose ReLU codes nwot reads: the inputs of the model's ReLU layers and of its choice layers (layers
  with `relu_first`, whose chosen op may start with a ReLU), and those choice layers."""
  taps, choices = [], []
  for layer in model.layers:
    if isinstance(layer, keras.layers.ReLU):
      taps.append(layer.input)
    elif hasattr(layer, 'relu_first'):
      choices.append((len(taps), layer))
      taps.append(layer.input[0])
  return taps, choices


def jacov(jacobians: np.ndarray) -> float:
  """jacov of per-input Jacobians (batch, ...)."""
  flat = np.asarray(jacobians, np.float64).reshape(len(jacobians), -1)
  with np.errstate(invalid='ignore', divide='ignore'):
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(flat))
  return float(-np.sum(np.log(eigenvalues + JACOV_EPSILON) + 1.0 / (eigenvalues + JACOV_EPSILON)))


def nwot(kernel: np.ndarray) -> float:
  """nwot of a summed Hamming kernel (batch, batch)."""
  return float(np.linalg.slogdet(np.asarray(kernel, np.float64))[1])


class Scorer:
  """Computes the proxies of one Keras model (or of a supernet for any of its choices) on a fixed batch.

  `compiled` traces the passes once with tf.function (worth it when one model scores many archs); otherwise
  they run eagerly (one model, one score: no tracing cost).
  """

  def __init__(self, model: keras.Model, compiled: bool = False):
    self.model = model
    self.kernels = kernels(model)
    taps, self.choices = _relu_taps(model)
    self.probe = keras.Model(model.inputs, [model.outputs[0]] + taps)
    self.num_taps = len(taps)
    wrap = tf.function(reduce_retracing=True) if compiled else (lambda f: f)
    self._gradient_pass = wrap(self._gradient_pass_eager)

  def gates(self, choice: Optional[np.ndarray] = None) -> np.ndarray:
    """1 for every ReLU tap; for a choice layer's tap, whether the op `choice[layer.edge]` starts with a ReLU."""
    gates = np.ones(self.num_taps, np.float32)
    for position, layer in self.choices:
      gates[position] = float(layer.relu_first[int(choice[layer.edge])])
    return gates

  def _gradient_pass_eager(self, inputs, labels, gates):
    images = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(images)
      outputs = self.probe(inputs, training=True)
      logits, taps = outputs[0], outputs[1:]
      flat = tf.reshape(logits, (-1, tf.shape(logits)[-1]))  # per-frame outputs (NB-ASR) share their input's label
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
          tf.repeat(labels, tf.shape(flat)[0] // tf.shape(labels)[0]), flat))
      total = tf.reduce_sum(logits)
    grads = tape.gradient(loss, self.kernels, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    jacobians = tape.gradient(total, images)
    del tape
    grad_norm = tf.add_n([tf.norm(g) for g in grads])
    snip = tf.add_n([tf.reduce_sum(tf.abs(g * w)) for g, w in zip(grads, self.kernels)])
    batch = tf.shape(images)[0]
    kernel = tf.zeros((batch, batch))
    for k, tap in enumerate(taps):
      codes = tf.cast(tf.reshape(tap, (batch, -1)) > 0, tf.float32)
      kernel += gates[k] * (tf.matmul(codes, codes, transpose_b=True) +
                            tf.matmul(1.0 - codes, 1.0 - codes, transpose_b=True))
    return grad_norm, snip, jacobians, kernel

  def gradient_proxies(self, images: np.ndarray, labels: np.ndarray, choice: Optional[np.ndarray] = None) -> dict:
    """grad_norm, snip, jacov and nwot on a batch (with `choice` fed as the model's second input)."""
    inputs = tf.constant(images) if choice is None else [tf.constant(images), tf.constant(choice, tf.int32)]
    grad_norm, snip, jacobians, kernel = self._gradient_pass(inputs, tf.constant(labels), tf.constant(self.gates(choice)))
    return {'grad_norm': float(grad_norm), 'snip': float(snip), 'jacov': jacov(jacobians.numpy()),
            'nwot': nwot(kernel.numpy())}



class Synflow:
  """synflow of a network built in float64 (`float64_layers`: float32 overflows on NB201's deeper cells); the
  model is linearized (every weight positive, BatchNorm the identity) for good."""

  def __init__(self, model: keras.Model, compiled: bool = False):
    if model.variables and model.variables[0].dtype != 'float64':
      raise ValueError(f'synflow needs the network built in float64 (scores.float64_layers), got '
                       f'{model.variables[0].dtype}')
    linearize(model)
    self.model, self.kernels = model, kernels(model)
    self._pass = (tf.function(reduce_retracing=True) if compiled else (lambda f: f))(self._pass_eager)

  def _pass_eager(self, inputs):
    with tf.GradientTape() as tape:
      total = tf.reduce_sum(self.model(inputs, training=False))
    grads = tape.gradient(total, self.kernels, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return tf.add_n([tf.reduce_sum(tf.abs(g * w)) for g, w in zip(grads, self.kernels)])

  def __call__(self, input_shape, choice: Optional[np.ndarray] = None) -> float:
    """log synflow for an all-ones input of `input_shape` (a batch of 1)."""
    ones = tf.ones((1,) + tuple(input_shape[1:]), tf.float64)
    value = float(self._pass(ones if choice is None else [ones, tf.constant(choice, tf.int32)]))
    return float(np.log(value)) if value > 0 and np.isfinite(value) else float('nan')


def linearize(model: keras.Model) -> None:
  """Every weight made positive and BatchNorm the identity (moving mean 0, variance 1)."""
  for v in model.variables:
    name = v.name.split('/')[-1]
    if name == 'moving_mean':
      v.assign(tf.zeros_like(v))
    elif name == 'moving_variance':
      v.assign(tf.ones_like(v))
    else:
      v.assign(tf.abs(v))


@contextlib.contextmanager
def float64_layers():
  """Layers created within compute in float64."""
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy('float64')
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)


def probe_batch(input_shape, num_classes: int, seed: int, images_file: str = '',
                labels_file: str = '') -> tuple:
  """(images, labels) to score on: Gaussian images and uniform labels from `seed` (data-free), or the user's
  `.npy` images (uint8 scaled to [0, 1], then standardised per channel) and optional `.npy` integer labels."""
  rng = np.random.default_rng(seed)
  if images_file:
    images = _load_npy(images_file, 'images')
    if images.ndim != len(input_shape) or tuple(images.shape[1:]) != tuple(input_shape[1:]):
      raise ValueError(f'{images_file}: images of shape {images.shape}, the network takes (N,) + '
                       f'{tuple(input_shape[1:])}')
    if len(images) < 2:
      raise ValueError(f'{images_file}: {len(images)} images; the proxies need a batch of at least 2 (jacov '
                       'correlates their gradients)')
    images = images.astype(np.float32) / (255.0 if images.dtype == np.uint8 else 1.0)
    axes = tuple(range(images.ndim - 1))
    images = (images - images.mean(axes)) / np.maximum(images.std(axes), 1e-6)
  else:
    if input_shape[0] < 2:
      raise ValueError(f'config.batch_size={input_shape[0]}: the proxies need a batch of at least 2 (jacov '
                       'correlates their gradients)')
    images = rng.standard_normal(tuple(input_shape)).astype(np.float32)
  if labels_file:
    labels = _load_npy(labels_file, 'labels').astype(np.int64)
    if labels.shape[0] != images.shape[0] or labels.min() < 0 or labels.max() >= num_classes:
      raise ValueError(f'{labels_file}: needs {images.shape[0]} integer labels in 0..{num_classes - 1}, got shape '
                       f'{labels.shape} with range {labels.min()}..{labels.max()}')
  else:
    labels = rng.integers(0, num_classes, images.shape[0])
  return images.astype(np.float32), labels.astype(np.int32)


def _load_npy(path: str, what: str) -> np.ndarray:
  try:
    return np.load(path, allow_pickle=False)
  except (OSError, ValueError) as e:
    raise ValueError(f'cannot read {what} from {path}: {e}') from e


def score_network(build: Callable[[], keras.Model], images: np.ndarray, labels: np.ndarray) -> dict:
  """synflow, grad_norm, snip, jacov and nwot of the network `build()` makes (called twice: float32, float64)."""
  scores = Scorer(build()).gradient_proxies(images, labels)
  with float64_layers():
    scores['synflow'] = Synflow(build())(images.shape)
  return scores


def proxy_names(names: List[str]) -> List[str]:
  unknown = [n for n in names if n not in PROXIES]
  if unknown:
    raise ValueError(f'unknown zero-cost proxies {unknown}; known: {", ".join(PROXIES)}')
  return list(names)
