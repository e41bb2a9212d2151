"""BRP-NAS on DARTS with your own training under a latency limit on this project's CPU (1.5 ms, about the fastest
27% of the measured genotypes), the limit from the DARTS latency GCN (trained on the bundled
cpu/epyc-litert-fp32-1thread-darts measurements): candidates the latency predictor puts over the limit are never
asked for.

python -m eagle_jax.train --config=configs/predictors/lat_gcn_darts.py --workdir=runs/lat_darts
python -m eagle_jax.search --config=configs/search/brp_darts_latency.py --workdir=runs/darts_lat   # then tell results
"""
from configs.search import brp_darts  # pylint: disable=import-error


def get_config():
  config = brp_darts.get_config()
  config.latency.update(limit=0.0015, checkpoint='runs/lat_darts')
  return config
