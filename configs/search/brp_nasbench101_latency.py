"""BRP-NAS on NB101 under a latency limit on this project's CPU (30 ms), the limit from the NB101 latency GCN.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench101.py --workdir=runs/lat101
python -m eagle_jax.search --config=configs/search/brp_nasbench101_latency.py --workdir=runs/brp101_lat
"""
from configs.search import brp_nasbench101  # pylint: disable=import-error


def get_config():
  config = brp_nasbench101.get_config()
  config.latency.update(limit=0.030, checkpoint='runs/lat101', transfer=True,
                        measurement='cpu/epyc-litert-fp32-1thread-nb101')
  config.training.warmup_epochs = 10
  return config
