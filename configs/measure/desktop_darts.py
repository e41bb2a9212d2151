"""Local CPU latency of DARTS networks (DARTS's CIFAR network, 8 cells, 16 initial channels, as BRP-NAS measures
DARTS latency): fp32 TFLite, 1 thread, 10 runs of 5 timed invocations, genotypes from the fast sampler. One
conversion worker, so that on a 2-core machine conversion and timing each keep a core (with two workers the
timing shares its core, and NB-ASR measurements repeated that way differ by about 10%).

python -m eagle_jax.measure --config=configs/measure/desktop_darts.py --workdir=runs/cpu_darts
"""
import ml_collections

from configs.measure import desktop_nasbench201  # pylint: disable=import-error


def get_config():
  config = desktop_nasbench201.get_config()
  config.space = 'darts'
  config.num_archs = 300
  config.model = ml_collections.ConfigDict(dict(
      input_size=(1, 32, 32, 3), init_channels=16, layers=8, num_classes=10, seed=0))
  config.runner.update(runs=10, avg_between=5, warmup=5)
  return config
