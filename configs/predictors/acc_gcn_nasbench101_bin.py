"""Binary accuracy GCN on NB101 (Eagle's acc_gcn_nasbench101_bin): 100 train / 100 valid cells, cosine, default
2-class head, on the bundled NASLib NB101 subset (292 cells; pass Eagle's nasbench1_cifar10_avg_val_accuracy.pickle
or a converted NAS-Bench-101 tfrecord as --config.data.measurement for the whole space).

python -m eagle_jax.train --config=configs/predictors/acc_gcn_nasbench101_bin.py --workdir=runs/acc101
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nb101/naslib-cifar10', head='default', space='nasbench101')
  config.data.normalize = True
  config.training.batch_size = 16
  config.space_predictions = False  # 423,624 cells: --config.space_predictions=True ranks them all (about a minute)
  return config
