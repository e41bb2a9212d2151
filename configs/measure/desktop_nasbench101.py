"""Local CPU latency of NB101 networks (CIFAR-10 network as NAS-Bench-101 trains it: 128-channel stem, 3 stacks of
3 modules): fp32 TFLite, 1 thread, 10 runs of 5 timed invocations (an NB101 network takes 10-70 ms here, so
Eagle's 100 x 10 would spend ~40 s a model); conversion in a worker process while the main one times.

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench101.py --workdir=runs/cpu101
"""
import ml_collections

from configs.measure import desktop_nasbench201  # pylint: disable=import-error


def get_config():
  config = desktop_nasbench201.get_config()
  config.space = 'nasbench101'
  config.num_archs = 500
  config.model = ml_collections.ConfigDict(dict(
      input_size=(1, 32, 32, 3), stem_channels=128, num_stacks=3, modules_per_stack=3, num_classes=10, seed=0))
  config.runner.update(runs=10, avg_between=5, warmup=5)
  return config
