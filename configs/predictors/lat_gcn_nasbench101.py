"""Latency GCN on NB101 cells measured by this project (bundled cpu/epyc-litert-fp32-1thread-nb101): log-latency
targets (relative errors), min-max scaled; the network's log MACs and params appended to the embedding (NB101's
channel rules make cost a hard function of the graph to learn from ~550 cells); 70% train / 10% valid / 20% test,
cosine schedule, batches of 16 cells. The recipe was picked on split seed 0 (experiments/README.md); the reported
table uses split seeds 1-3.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench101.py --workdir=runs/lat101
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('cpu/epyc-litert-fp32-1thread-nb101', space='nasbench101', units='s')
  config.data.update(training_points=0.7, validation_points=0.1, log_targets=True, normalize=True,
                     cost_features=('flops', 'params'))
  config.model.dropout = 0.002
  config.training.update(learning_rate=3.5e-4, lr_scheduler='cosine', batch_size=16)
  config.space_predictions = False
  return config
