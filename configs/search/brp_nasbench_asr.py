"""BRP-NAS on NB-ASR: binary GCN over the 8,242 networks of an NB-ASR accuracy file (Eagle's
nbasr_inv_avg_val_per.pickle, or a folder of NAS-Bench-ASR training files; not bundled), the mean over seeds.

python -m eagle_jax.search --config=configs/search/brp_nasbench_asr.py --workdir=runs/brp_asr \
  --config.data.measurement=PATH/nbasr_inv_avg_val_per.pickle
"""
from eagle_jax.search import defaults


def get_config():
  config = defaults.brp_config('nbasr_inv_avg_val_per.pickle', space='nasbench_asr')
  config.data.search_on = 'mean'
  config.search.rank_space = True  # space_ranking.txt: all 8,242 networks, best first
  return config
