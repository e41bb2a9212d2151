"""Tiny binary GCN config for tests on bundled CIFAR-100 accuracies."""
from configs.predictors import test  # pylint: disable=import-error


def get_config():
  config = test.get_config()
  config.data.update(measurement='nb201/cifar100', normalize=True)
  config.model.head = 'default'
  config.training.lr_scheduler = 'cosine'
  return config
