"""Keras -> TFLite: fp32, fp16 weights, dynamic-range int8, full int8 with a representative dataset.

Fast route: freeze a concrete function (convert_variables_to_constants_v2) and convert it with
`from_concrete_functions` (Keras 3's from_keras_model takes ~30 s a model).
"""
import numpy as np

MODES = ('fp32', 'fp16', 'dynamic_int8', 'int8')


def to_tflite(model, mode: str = 'fp32', calibration_size: int = 100, seed: int = 0) -> bytes:
  """The model (one input or several) as a TFLite flatbuffer; int8 calibrates on `calibration_size` seeded
  uniform [0, 1) inputs."""
  if mode not in MODES:
    raise ValueError(f'conversion mode must be one of {MODES}, got {mode!r}')
  # pylint: disable=g-import-not-at-top,g-direct-tensorflow-import  (MODES is read where TF is not loaded)
  import tensorflow as tf
  from tensorflow.python.framework import convert_to_constants
  specs = [tf.TensorSpec(x.shape, tf.float32) for x in model.inputs]
  serve = tf.function(lambda *xs: model(xs[0] if len(xs) == 1 else list(xs), training=False), input_signature=specs)
  frozen = convert_to_constants.convert_variables_to_constants_v2(serve.get_concrete_function())
  converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
  if mode != 'fp32':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if mode == 'fp16':
    converter.target_spec.supported_types = [tf.float16]
  elif mode == 'int8':
    rng = np.random.default_rng(seed)
    converter.representative_dataset = lambda: (
        [rng.random(tuple(spec.shape), dtype=np.float32) for spec in specs] for _ in range(calibration_size))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
  return converter.convert()
