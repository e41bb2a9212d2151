"""BRP-NAS on DARTS with your own training (Eagle's DARTS loop): binary GCN, 100 models in 5 rounds
of 20, ranking 10 million sampled genotypes (fast sampler, seed 0) each round; half of a round is the predicted
best, half drawn from the predicted top 100.

python -m eagle_jax.search --config=configs/search/brp_darts.py --workdir=runs/darts     # writes to_train.txt
# train those genotypes your way; write results.csv (arch_str,value: the Genotype text, accuracy in %)
python -m eagle_jax.search --config=configs/search/brp_darts.py --workdir=runs/darts \
  --config.search.results=results.csv                                                    # the next to_train.txt
"""
from eagle_jax.search import defaults


def get_config():
  config = defaults.brp_config('', space='darts')
  config.search.update(mode='ask_tell', selection='top_pool', budget=100, iterations=5, candidates=10_000_000,
                       sampler='fast', candidate_seed=0, top_pool=100)
  return config
