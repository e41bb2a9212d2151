"""Tiny measurement config for tests: a few archs, 3 runs of 3 invocations."""
from configs.measure import desktop_nasbench201  # pylint: disable=import-error


def get_config():
  config = desktop_nasbench201.get_config()
  config.num_archs = 4
  config.shard_size = 3
  config.runner.update(runs=3, avg_between=3, interval=0.0, warmup=2)
  return config
