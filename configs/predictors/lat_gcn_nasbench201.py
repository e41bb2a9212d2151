"""Latency GCN (Eagle's desktop_gcn_nasbench201): 900 train / 100 valid, plateau schedule, batch 1.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench201.py --workdir=runs/lat_gcn \
  --config.data.measurement=PATH/desktop-cpu-core-i7-7820x-fp32.pickle
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('help/pixel3', 'nasbench201', units='s')
  config.data.training_points = 900
  config.data.validation_points = 100
  config.model.dropout = 0.002
  config.training.update(learning_rate=4e-4, lr_scheduler='plateau', batch_size=1)
  return config
