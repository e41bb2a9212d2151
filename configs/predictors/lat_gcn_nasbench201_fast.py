"""Latency GCN as lat_gcn_nasbench201 but with batches of 16 models: far fewer steps, comparable accuracy."""
from configs.predictors import lat_gcn_nasbench201 as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.training.batch_size = 16
  config.training.learning_rate = 1e-3
  return config
