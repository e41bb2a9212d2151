"""Accuracy GCN, unary, 25 train / 25 valid over the 15284 valid models, batch 16 (Eagle's _25 config)."""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nb201/cifar100', 'nasbench201')
  config.data.update(normalize=True, training_points=25, validation_points=25, total_points=15284)
  config.training.batch_size = 16
  return config
