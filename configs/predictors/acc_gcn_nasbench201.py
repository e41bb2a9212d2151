"""Accuracy GCN, unary (Eagle's acc_gcn_nasbench201): 100 train / 100 valid, cosine, batch 50."""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nb201/cifar100', 'nasbench201')
  config.data.normalize = True
  return config
