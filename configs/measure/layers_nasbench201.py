"""Per-layer profiling of the NB201 network (Eagle's profile_layers): every distinct layer (stem; per reduction its
paths and sum; per stack each cell op and the 2- and 3-input sums; the head) as an isolated single-layer model,
timed like the networks of desktop_nasbench201 (same model, conversion and runner settings: switch the runner
with --config.runner.kind=remote|adb as there). Writes results/results_layers.pickle, layers.csv, layers.json.

python -m eagle_jax.measure --config=configs/measure/layers_nasbench201.py --workdir=runs/layers_cpu
then: python -m eagle_jax.train --config=configs/predictors/lat_lut_nasbench201.py --workdir=runs/lut \
  --config.data.layers=runs/layers_cpu --config.data.measurement=...
"""
from configs.measure import desktop_nasbench201  # pylint: disable=import-error


def get_config():
  config = desktop_nasbench201.get_config()
  config.layers = True  # profile the network's layers, not archs (config.archs and its fields are not read)
  return config
