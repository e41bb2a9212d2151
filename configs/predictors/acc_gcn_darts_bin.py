"""Binary accuracy GCN on DARTS (Eagle's acc_gcn_darts_bin_s000): 100 train / 100 valid genotypes, cosine,
default 2-class head, 31-node graphs with 10 features. Targets: the genotypes you trained (Eagle's known-points
pickle, a CSV `arch_str,value`, or NASLib's zc_nasbench301.json, whose accuracies are NAS-Bench-301 surrogate
predictions, not trained results).

python -m eagle_jax.train --config=configs/predictors/acc_gcn_darts_bin.py --workdir=runs/acc_darts \
  --config.data.measurement=$EAGLE_JAX_DATA/naslib-zc-darts/raw/zc_nasbench301.json
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('darts_known_points.pickle', head='default', space='darts')
  config.data.normalize = True
  config.training.batch_size = 16  # models per step: all 240 ordered pairs from one embedding pass
  config.space_predictions = False  # the space is sampled, not enumerated: rank candidate sets instead
  return config
