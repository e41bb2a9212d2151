"""Measurement: Keras NB201 networks, TFLite conversion, LiteRT timing (local or on a remote device), and the
resumable sharded driver. Kept import-light: TensorFlow loads only in the modules that build or convert models."""
