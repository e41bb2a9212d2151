"""Benchmark: NB201 models per hour through the measurement driver (conversion in a worker process, timing in
the main one), split into conversion and timing, beside the simplest alternative: build, convert and time one
model after another in one process. Both measure the same seeded random archs with the desktop config. Also a
check that timing sees the network: the all-conv3x3 cell against the all-skip cell (expected well over 2x).

python experiments/benchmarks/measure_throughput.py --num_archs=20   (writes measure_throughput.json)
"""
import json
import sys
import tempfile
import time
from pathlib import Path

from absl import app, flags

from eagle_jax import files, spaces
from eagle_jax.data import tools
from eagle_jax.measure import convert, driver, plan, runners
from eagle_jax.spaces.nasbench201 import network as nb201_network

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.measure import desktop_nasbench201  # pylint: disable=g-import-not-at-top,wrong-import-position

_NUM = flags.DEFINE_integer('num_archs', 20, 'Models measured by each method.')
_FULL_RUN = flags.DEFINE_string('full_run', '', 'A finished measurement workdir whose summary.json to include.')


def main(argv):
  del argv
  config = desktop_nasbench201.get_config()
  config.num_archs = _NUM.value
  config.seed = 123
  out = {'machine': machine.describe(), 'models': _NUM.value}
  with tempfile.TemporaryDirectory() as workdir:
    summary = driver.measure(config, workdir, progress=False)
  out['driver'] = {k: summary[k] for k in ('models_per_hour', 'convert_seconds', 'timing_seconds', 'wall_seconds')}
  runner = runners.make_runners(config.runner)[0]
  convert_seconds = timing_seconds = 0.0
  start = time.perf_counter()
  for vec in plan.choose_archs(config, spaces.get(config.space)):
    t0 = time.perf_counter()
    flatbuffer = convert.to_tflite(nb201_network.build(vec, **dict(config.model.to_dict(),
                                                                   input_size=tuple(config.model.input_size))))
    t1 = time.perf_counter()
    runner.run(flatbuffer)
    convert_seconds += t1 - t0
    timing_seconds += time.perf_counter() - t1
  wall = time.perf_counter() - start
  out['serial_in_process'] = {'models_per_hour': 3600 * _NUM.value / wall, 'convert_seconds': convert_seconds,
                              'timing_seconds': timing_seconds, 'wall_seconds': wall}
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
