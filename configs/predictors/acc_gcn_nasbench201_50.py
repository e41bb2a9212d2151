"""Accuracy GCN, unary, 50 train / 50 valid over the 15284 valid models, batch 32 (Eagle's _50 config)."""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nb201/cifar100', 'nasbench201')
  config.data.update(normalize=True, training_points=50, validation_points=50, total_points=15284)
  config.training.batch_size = 32
  return config
