"""Latency GCN on NB-ASR networks measured by this project (bundled cpu/epyc-litert-fp32-1thread-nbasr):
log-latency targets (relative errors), min-max scaled, 70% train / 10% valid / 20% test, cosine schedule,
batches of 16 networks (NB101's latency recipe, without its cost augments).

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench_asr.py --workdir=runs/lat_asr
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('cpu/epyc-litert-fp32-1thread-nbasr', space='nasbench_asr', units='s')
  config.data.update(training_points=0.7, validation_points=0.1, log_targets=True, normalize=True)
  config.model.dropout = 0.002
  config.training.update(learning_rate=3.5e-4, lr_scheduler='cosine', batch_size=16)
  return config
