"""Tiny unary GCN config for tests: seconds on a CPU, real data (bundled HELP latency)."""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('help/pixel3', 'nasbench201', units='s')
  config.data.update(training_points=60, validation_points=20, total_points=400, normalize=True)
  config.model.update(num_layers=2, num_hidden=32, dropout=0.0)
  config.training.update(epochs=30, learning_rate=3e-3, lr_scheduler='plateau', batch_size=16, es_patience=5)
  return config
