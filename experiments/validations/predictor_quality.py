"""Predictor quality over split seeds: the latency GCN against the linear one-hot baseline and FLOPs, beside the
noise ceiling. By default on the five LatBench devices, Eagle's protocol (900 train / 100 valid / rest test):

python experiments/validations/predictor_quality.py --latbench=$EAGLE_JAX_DATA/eagle-latbench-nb201/raw --repeats=5
Any predictor config and datasets (bundled names or files), e.g. NB101 on the project's own CPU measurements:
python experiments/validations/predictor_quality.py --config=lat_gcn_nasbench101 --datasets=cpu/epyc-litert-fp32-1thread-nb101 \
    --repeats=3 --out=nasbench101_latency
The layer-wise lookup (`lut`) beside the GCN on the project's own CPU set, the layers profiled on the same machine:
python experiments/validations/predictor_quality.py --config=lat_gcn_nasbench201_log --repeats=3 \
    --datasets=cpu/epyc-litert-fp32-1thread-nb201,cpu/xeon-litert-fp32-1thread --predictors=gcn,lut,flops,linear \
    --layers=runs/layers_cpu --out=lookup_vs_gcn
An ensemble's calibration (coverage of its 68% / 90% intervals) on devices and spaces it was not tuned on:
python experiments/validations/predictor_quality.py --config=lat_gcn_nasbench201_ensemble --predictors=gcn \
    --datasets=help/pixel3,help/1080ti_1 --total_points=1000 --repeats=2 --out=ensemble_calibration
`--remeasured` (one file per dataset) holds a second measurement of some of the same archs: the row "measured
twice" scores the second measurement as a predictor of the first, the noise ceiling of any predictor.
Writes experiments/validations/<out>.{json,md}.
"""
import json
import os
import sys
from pathlib import Path

from absl import app, flags

from eagle_jax import data, files
from eagle_jax.predictors import experiment, metrics as metrics_lib

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DEVICES = ('desktop-cpu-core-i7-7820x-fp32', 'desktop-gpu-gtx-1080ti-fp32', 'embedded-gpu-jetson-nano-fp16',
           'mobile-cpu-snapdragon-855-kryo-485-int8', 'mobile-gpu-snapdragon-855-adreno-640-int8')
_LATBENCH = flags.DEFINE_string('latbench', os.path.join(os.environ.get('EAGLE_JAX_DATA', ''), 'eagle-latbench-nb201', 'raw'),
                                 'LatBench pickles (default: under $EAGLE_JAX_DATA).')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Split seeds per device.')
_DEVICES = flags.DEFINE_list('devices', list(DEVICES), 'LatBench devices to run (pickle stems).')
_DATASETS = flags.DEFINE_list('datasets', None, 'Datasets (bundled names or files) instead of LatBench devices.')
_CONFIG = flags.DEFINE_string('config', 'lat_gcn_nasbench201_fast', 'Predictor config in configs/predictors/.')
_OUT = flags.DEFINE_string('out', 'predictor_quality', 'Name of the results in experiments/validations/.')
_SEED = flags.DEFINE_integer('seed', 0, 'First split seed (repeats use seed, seed + 1, ...).')
_PREDICTORS = flags.DEFINE_list('predictors', ['gcn', 'linear', 'flops'], 'Predictors to run; results for '
                                  'others already in predictor_quality.json are kept.')
_EPOCHS = flags.DEFINE_integer('epochs', 250, 'Training epochs of the GCN (the config has 250).')
_ENSEMBLE = flags.DEFINE_integer('ensemble', 0, 'Members of an ensemble (0: as the config says).')
_TOTAL = flags.DEFINE_integer('total_points', None, 'Use only the first N models of each dataset.')
_LAYERS = flags.DEFINE_string('layers', '', 'A layer-profiling workdir, for the lut predictor.')
_REMEASURED = flags.DEFINE_list('remeasured', [], 'Per dataset, a second measurement of some of its archs.')
_WORKDIR = flags.DEFINE_string('workdir', '/tmp/eagle_jax_quality', 'Scratch folder for the runs.')
HERE = Path(__file__).resolve().parent


def write_table(results: dict, out: Path) -> None:
  """predictor_quality.md: mean ± spread over split seeds per device and predictor."""
  lines = ['| device | predictor | within_10pct | Spearman | Kendall tau | ceiling within_10pct | epochs | best epoch '
           '| s to best | 68% / 90% intervals cover |', '|---|---|---|---|---|---|---|---|---|---|']
  for key, m in results.items():
    device, predictor = key.rsplit('/', 1)
    lines.append(f'| {device} | {predictor} | {m["within_10pct"]:.3f} ± {m.get("within_10pct_std", 0):.3f} | '
                 f'{m["spearman"]:.3f} ± {m.get("spearman_std", 0):.3f} | {m["kendall_tau"]:.3f} | '
                 f'{m.get("ceiling_within_10pct", float("nan")):.3f} | {m.get("epochs", "") if predictor == "gcn" else ""} | '
                 f'{m.get("best_epoch", float("nan")):.0f} | '
                 f'{m.get("seconds_to_best", float("nan")):.0f} | '
                 + (f'{m["coverage_68"]:.3f} / {m["coverage_90"]:.3f} |' if 'coverage_90' in m else ' |'))
  files.atomic_write_text(out.with_suffix('.md'), '\n'.join(lines) + '\n')


def measured_twice(measurement: str, remeasured: str, space: str) -> dict:
  """The second measurement scored as a predictor of the first, on the archs both hold."""
  first, second = data.load_dataset(measurement, space=space), data.load_dataset(remeasured, space=space)
  both = second.keys[first.has(second.keys)]
  true, again = first.values[first.rows_of(both)], second.values[second.rows_of(both)]
  return {**metrics_lib.regression_metrics(again, true), 'n_test': int(len(both))}


def main(argv):
  del argv
  out = HERE / _OUT.value
  config_module = __import__(f'configs.predictors.{_CONFIG.value}', fromlist=['get_config'])
  datasets = _DATASETS.value or [str(Path(_LATBENCH.value) / f'{device}.pickle') for device in _DEVICES.value]
  results = json.loads(out.with_suffix('.json').read_text()) if out.with_suffix('.json').exists() else {}
  if _REMEASURED.value and len(_REMEASURED.value) != len(datasets):
    raise app.UsageError(f'--remeasured needs one file per dataset ({len(datasets)})')
  for number, measurement in enumerate(datasets):
    device = Path(measurement).stem if measurement.endswith('.pickle') else measurement
    if _REMEASURED.value:
      space = config_module.get_config().get('space', 'nasbench201')
      results[f'{device}/measured twice'] = measured_twice(measurement, _REMEASURED.value[number], space)
    for predictor in _PREDICTORS.value:
      config = config_module.get_config()
      config.data.measurement = measurement
      config.model.predictor = predictor
      config.data.layers = _LAYERS.value
      if _TOTAL.value:
        config.data.total_points = _TOTAL.value
      if _ENSEMBLE.value:
        config.model.ensemble = _ENSEMBLE.value
      config.repeats = _REPEATS.value
      config.seed = _SEED.value
      config.training.epochs = _EPOCHS.value
      metrics = experiment.train_and_evaluate(config, Path(_WORKDIR.value) / device / predictor, overwrite=True)
      results[f'{device}/{predictor}'] = {**{k: v for k, v in metrics.items() if k != 'repeats'},
                                          'epochs': config.training.epochs}
      print(device, predictor, metrics['within_10pct'], metrics['spearman'], flush=True)
      files.atomic_write_text(out.with_suffix('.json'), json.dumps(results, indent=2) + '\n')
      write_table(results, out)
  print(out.with_suffix('.md').read_text())


if __name__ == '__main__':
  app.run(main)
