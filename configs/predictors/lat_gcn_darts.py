"""Latency GCN on DARTS networks measured by this project (bundled cpu/epyc-litert-fp32-1thread-darts): NB101's
latency recipe taken as it is (log-latency targets, min-max scaled, log MACs and params appended to the
embedding, 70/10/20 split, cosine schedule, batches of 16).

python -m eagle_jax.train --config=configs/predictors/lat_gcn_darts.py --workdir=runs/lat_darts
"""
from configs.predictors import lat_gcn_nasbench101  # pylint: disable=import-error


def get_config():
  config = lat_gcn_nasbench101.get_config()
  config.space = 'darts'
  config.data.measurement = 'cpu/epyc-litert-fp32-1thread-darts'
  config.space_predictions = False  # the space is sampled, not enumerated
  return config
