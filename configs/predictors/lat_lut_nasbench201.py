"""Layer-wise lookup latency baseline (BRP-NAS's comparison): an arch's latency is the sum of its layers' timings
in a profiled layer table, nothing fitted. Evaluated on the same split as lat_gcn_nasbench201_log (70% / 10% / 20%,
the lookup reads only the test models), with the same metrics.json, predictions.csv and scatter.png. The layers
and the archs must be measured on the same device with the same settings:

python -m eagle_jax.measure --config=configs/measure/layers_nasbench201.py --workdir=runs/layers_cpu
python -m eagle_jax.train --config=configs/predictors/lat_lut_nasbench201.py --workdir=runs/lut \
  --config.data.layers=runs/layers_cpu --config.data.measurement=runs/cpu/latency.pickle
"""
from configs.predictors import lat_gcn_nasbench201_log as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.model.predictor = 'lut'
  config.data.layers = ''  # a layer-profiling workdir (configs/measure/layers_nasbench201.py), required
  config.data.measurement = 'cpu/epyc-litert-fp32-1thread-nb201'  # layers must come from the same machine
  return config
