"""Latency GCN for any space (lat_gcn_nasbench201_log's recipe: batches of 16 models, log latency targets).

python -m eagle_jax.train --config=configs/predictors/lat_gcn.py --workdir=runs/lat \
  --config.space=darts --config.data.measurement=latency.pickle    # seconds; or MODULE:ATTRIBUTE, a CSV
Splits are shares of the data (70% train, 10% validation, the rest test), so they fit any dataset's size.
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('', '', units='s')
  config.data.update(training_points=0.7, validation_points=0.1, log_targets=True)
  config.model.dropout = 0.002
  config.training.update(learning_rate=1e-3, lr_scheduler='plateau', batch_size=16)
  return config
