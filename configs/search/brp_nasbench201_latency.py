"""BRP-NAS on NB201 CIFAR-100 under a latency limit on a bundled device (HELP Pixel 3, 10 ms).

Train the latency predictor first (it also initialises the accuracy predictor's body):
python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench201_fast.py --workdir=runs/lat_pixel3
python -m eagle_jax.search --config=configs/search/brp_nasbench201_latency.py --workdir=runs/brp_lat
"""
from configs.search import brp_nasbench201  # pylint: disable=import-error


def get_config():
  config = brp_nasbench201.get_config()
  config.latency.update(limit=0.010, checkpoint='runs/lat_pixel3', transfer=True, measurement='help/pixel3')
  config.training.warmup_epochs = 10
  return config
