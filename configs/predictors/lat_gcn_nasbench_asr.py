"""Latency GCN on NB-ASR networks measured by this project (bundled cpu/epyc-litert-fp32-1thread-nbasr): NB101's
latency recipe taken as it is (picked on NB101 cells, not tuned on NB-ASR): log-latency targets, min-max scaled,
the network's log MACs and params appended to the embedding, 70% train / 10% valid / 20% test, cosine schedule,
batches of 16 networks; predictions for all 8,242 networks written after training.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench_asr.py --workdir=runs/lat_asr
"""
from configs.predictors import lat_gcn_nasbench101  # pylint: disable=import-error


def get_config():
  config = lat_gcn_nasbench101.get_config()
  config.space = 'nasbench_asr'
  config.data.measurement = 'cpu/epyc-litert-fp32-1thread-nbasr'
  config.space_predictions = True
  return config
