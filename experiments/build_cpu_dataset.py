"""Bundles a local CPU measurement run as a named dataset `cpu/<name>` (npz + card) in eagle_jax/data/bundled/.

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench101.py --workdir=runs/cpu101
python experiments/build_cpu_dataset.py --config=configs/measure/desktop_nasbench101.py --workdir=runs/cpu101 \
    --name=xeon-litert-fp32-1thread-nb101
The card records the CPU, versions, date, the run's settings (from its config) and its measurement summary.
"""
import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from eagle_jax.data import bundled_data, tools

_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished measurement workdir.')
_NAME = flags.DEFINE_string('name', None, 'Dataset name, bundled as cpu/<name>.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'The measurement config the run used.')


def _cpu_model() -> str:
  with open('/proc/cpuinfo') as f:
    return next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), platform.machine())


def main(argv):
  del argv
  import ai_edge_litert  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  config, workdir = _CONFIG.value, Path(_WORKDIR.value)
  space = config.get('space', 'nasbench201')
  reduced, counts = tools.stats(tools.combine(tools.shard_paths(workdir / 'results'), space))
  runner = config.runner
  card = {
      'units': 's',
      'description': f'{space} latency (s) of {len(reduced)} archs ({config.archs}, seed {config.seed}) measured by '
                     f'eagle_jax on {_cpu_model()}: TFLite {config.conversion.mode}, {runner.threads} thread(s), '
                     f'XNNPACK {runner.xnnpack}, {runner.runs} runs x {runner.avg_between} invocations, '
                     'two-level inter-quartile mean',
      'cpu': _cpu_model(), 'cores': os.cpu_count(), 'python': platform.python_version(),
      'tensorflow': tf.__version__, 'ai_edge_litert': getattr(ai_edge_litert, '__version__', 'unknown'),
      'numpy': np.__version__, 'config': config.to_dict(), 'counts': counts,
      'measurement_summary': json.loads((workdir / 'summary.json').read_text()),
      'date': datetime.date.today().isoformat()}
  path = bundled_data.write_bundle(f'cpu/{_NAME.value}', reduced, space, card)
  print(json.dumps({'card': str(path), 'entries': len(reduced), 'counts': counts}, indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'name', 'config'])
  app.run(main)
