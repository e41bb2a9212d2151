"""Benchmark: NB201 models per hour through the measurement driver with the default config (conversion in a worker
process, two models timed in turn in the main one: `runner.interleave=2`), beside the same driver timing one
model at a time (`interleave=1`, the old default) and the simplest alternative (build, convert and time one
model after another in one process). All three measure the same archs: the first `--num_archs` of the bundled
CPU set, so that each one's agreement with it (Spearman) shows that the faster schedule keeps the statistic.
Also a check that timing sees the network: the all-conv3x3 cell against the all-skip cell (expected well over 2x).

python experiments/benchmarks/measure_throughput.py --num_archs=40   (writes measure_throughput.json)
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags
from scipy import stats

from eagle_jax import files, spaces
from eagle_jax.data import dataset as dataset_lib, tools
from eagle_jax.measure import convert, driver, runners
from eagle_jax.spaces.nasbench201 import network as nb201_network

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.measure import desktop_nasbench201  # pylint: disable=g-import-not-at-top,wrong-import-position

_NUM = flags.DEFINE_integer('num_archs', 40, 'Models measured by each method.')
_BUNDLED = flags.DEFINE_string('bundled', 'cpu/xeon-litert-fp32-1thread', 'The bundled NB201 CPU set compared with.')
_FULL_RUN = flags.DEFINE_string('full_run', '', 'A finished measurement workdir whose summary.json to include.')


def _agreement(latency: np.ndarray, bundled: np.ndarray) -> dict:
  return {'spearman_with_bundled': float(stats.spearmanr(latency, bundled).statistic),
          'median_ratio_to_bundled': float(np.median(latency / bundled))}


def _driver(config, interleave: int, keys, space) -> tuple:
  config.runner.interleave = interleave
  with tempfile.TemporaryDirectory() as workdir:
    summary = driver.measure(config, workdir, progress=False)
    measured, _ = tools.stats(tools.combine(tools.shard_paths(Path(workdir) / 'results'), space))
  latency = np.array([measured[key] for key in keys])
  return {k: summary[k] for k in ('models_per_hour', 'convert_seconds', 'timing_seconds', 'wall_seconds')}, latency


def main(argv):
  del argv
  bundled = dataset_lib.load_dataset(_BUNDLED.value)
  space = spaces.get(bundled.space.name)
  keys = [tuple(int(op) for op in key) for key in bundled.keys[:_NUM.value]]
  out = {'machine': machine.describe(), 'models': _NUM.value, 'archs': f'the first {_NUM.value} of {bundled.name}'}
  with tempfile.TemporaryDirectory() as folder:
    arch_list = Path(folder) / 'archs.txt'
    arch_list.write_text(''.join(space.to_str(key) + '\n' for key in keys))
    config = desktop_nasbench201.get_config()
    config.update(archs='list', arch_list=str(arch_list))
    latencies = {}
    for name, interleave in (('driver_default', config.runner.interleave), ('driver_one_at_a_time', 1)):
      out[name], latencies[name] = _driver(config, interleave, keys, space)
      out[name]['interleave'] = interleave
  runner = runners.LocalRunner(runners.timing_settings(config.runner))
  convert_seconds = timing_seconds = 0.0
  serial = []
  start = time.perf_counter()
  model_config = dict(config.model.to_dict(), input_size=tuple(config.model.input_size))
  for key in keys:
    t0 = time.perf_counter()
    flatbuffer = convert.to_tflite(nb201_network.build(key, **model_config))
    t1 = time.perf_counter()
    serial.append(tools.two_level_iqr_mean(runner.run(flatbuffer)))
    convert_seconds += t1 - t0
    timing_seconds += time.perf_counter() - t1
  wall = time.perf_counter() - start
  out['serial_in_process'] = {'models_per_hour': 3600 * len(keys) / wall, 'convert_seconds': convert_seconds,
                              'timing_seconds': timing_seconds, 'wall_seconds': wall}
  latencies['serial_in_process'] = np.array(serial)
  for name, latency in latencies.items():
    out[name].update(_agreement(latency, bundled.values[:len(keys)]))
  out['spearman_default_vs_one_at_a_time'] = float(stats.spearmanr(latencies['driver_default'],
                                                                   latencies['driver_one_at_a_time']).statistic)
  heavy, light = ((3, 3, 3, 3, 3, 3), (1, 1, 1, 1, 1, 1))
  latency = {vec: tools.two_level_iqr_mean(runner.run(convert.to_tflite(nb201_network.build(vec))))
             for vec in (heavy, light)}
  out['conv3x3_over_skip'] = {'all_conv3x3_s': latency[heavy], 'all_skip_s': latency[light],
                              'ratio': latency[heavy] / latency[light]}
  if _FULL_RUN.value:
    out['full_run'] = json.loads((Path(_FULL_RUN.value) / 'summary.json').read_text())
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  app.run(main)
