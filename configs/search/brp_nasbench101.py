"""BRP-NAS on NB101: binary GCN over the cells of the dataset it is given (by default the bundled NASLib subset,
292 cells with CIFAR-10 validation accuracy; a converted NAS-Bench-101 tfrecord searches the whole space).

python -m eagle_jax.search --config=configs/search/brp_nasbench101.py --workdir=runs/brp101
The subset has one accuracy per cell (no per-seed values): the search is reported on the values it searched.
"""
from eagle_jax.search import defaults


def get_config():
  config = defaults.brp_config('nb101/naslib-cifar10', space='nasbench101')
  config.data.search_on = 'mean'
  config.search.update(budget=50, iterations=5)
  return config
