"""Latency MLP (Eagle's desktop_mlp_nasbench201): 900/100 over the first 14884 models, seed 999.

Eagle's config lacked batch size, shuffle, optimiser and scheduler; the latency GCN's values are used.
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('help/pixel3', 'nasbench201', predictor='mlp', units='s')
  config.seed = 999
  config.data.update(training_points=900, validation_points=100, total_points=14884)
  config.model.dropout = 0.002
  config.training.update(learning_rate=4e-4, lr_scheduler='plateau', batch_size=1)
  return config
