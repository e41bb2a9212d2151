"""BRP-NAS in benchmark mode for any space: the values of the models it trains come from a file.

python -m eagle_jax.search --config=configs/search/brp.py --workdir=runs/brp \
  --config.space=MODULE:ATTRIBUTE --config.data.measurement=accuracies.csv --config.search.budget=50
No zero-cost prior unless you give one (--config.zero_cost.mode=simple+augment
--config.zero_cost.measurement=proxies.csv --config.zero_cost.column=synflow); the per-space configs use the
space's bundled prior where it has one. The file has one value per arch: it is searched and reported as is.
"""
from eagle_jax.search import defaults


def get_config():
  config = defaults.brp_config('', '')
  config.data.search_on = 'mean'
  return config
