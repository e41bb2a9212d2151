"""Tiny search for tests: 20 models over 2 iterations with a small GCN."""
from configs.search import brp_nasbench201  # pylint: disable=import-error


def get_config():
  config = brp_nasbench201.get_config()
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=20, batch_size=8)
  config.search.update(budget=20, iterations=2)
  config.zero_cost.training.update(epochs=5, batch_size=16)
  return config
