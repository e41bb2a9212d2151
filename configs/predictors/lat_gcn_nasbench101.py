"""Latency GCN on NB101 cells measured by this project (bundled cpu/epyc-litert-fp32-1thread-nb101): log-latency
targets (relative errors), 70% train / 10% valid / 20% test, plateau schedule, batches of 16 cells.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench101.py --workdir=runs/lat101
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('cpu/epyc-litert-fp32-1thread-nb101', space='nasbench101')
  config.data.update(training_points=0.7, validation_points=0.1, log_targets=True)
  config.model.dropout = 0.002
  config.training.update(learning_rate=1e-3, lr_scheduler='plateau', batch_size=16)
  config.space_predictions = False
  return config
