"""Binary accuracy GCN on NB-ASR (Eagle's acc_gcn_nasbench_asr_bin): 100 train / 100 valid networks, cosine,
default 2-class head, 6x6 graphs with 8 features. Targets: Eagle's nbasr_inv_avg_val_per.pickle (1 - best
validation PER, averaged over seeds) or NAS-Bench-ASR's own training files (a folder of nb-asr-e40-SEED.pickle
reads as the mean over seeds; the data are not bundled: download them from the NAS-Bench-ASR release).

python -m eagle_jax.train --config=configs/predictors/acc_gcn_nasbench_asr_bin.py --workdir=runs/acc_asr \
  --config.data.measurement=PATH/nbasr_inv_avg_val_per.pickle
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nbasr_inv_avg_val_per.pickle', head='default', space='nasbench_asr')
  config.data.normalize = True
  config.training.batch_size = 16  # models per step: all 240 ordered pairs from one embedding pass
  return config
