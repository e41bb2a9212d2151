"""Bundles local CPU measurement runs (one config's settings, one or more workdirs of archs) as a named dataset
`cpu/<name>` (npz + card) in eagle_jax/data/bundled/.

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench101.py --workdir=runs/cpu101
python -m eagle_jax.measure --config=configs/measure/desktop_nasbench101.py --workdir=runs/cpu101_naslib \
    --config.archs=list --config.arch_list=naslib101_cells.txt
python experiments/data_builders/build_cpu_dataset.py --config=configs/measure/desktop_nasbench101.py \
    --workdir=runs/cpu101,runs/cpu101_naslib --name=epyc-litert-fp32-1thread-nb101
The card records the CPU, versions, date, the settings (from the config) and each run's plan size and summary.
"""
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from eagle_jax import machine
from eagle_jax.data import bundled_data, tools

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # configs/ for --config

_WORKDIR = flags.DEFINE_list('workdir', None, 'Finished measurement workdirs (the same settings).')
_NAME = flags.DEFINE_string('name', None, 'Dataset name, bundled as cpu/<name>.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'The measurement config the run used.')
_ABOUT = flags.DEFINE_string('about', '', 'Which archs the runs measured, for the description.')


def main(argv):
  del argv
  import ai_edge_litert  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  config, workdirs = _CONFIG.value, [Path(w) for w in _WORKDIR.value]
  space = config.get('space', 'nasbench201')
  shards = [path for workdir in workdirs for path in tools.shard_paths(workdir / 'results')]
  reduced, counts = tools.stats(tools.combine(shards, space))
  runs = [{'workdir': workdir.name, 'planned': len(json.loads((workdir / 'plan.json').read_text())['archs']),
           'measurement_summary': json.loads((workdir / 'summary.json').read_text())} for workdir in workdirs]
  runner = config.runner
  card = {
      'units': 's',
      'description': f'{space} latency (s) of {len(reduced)} archs measured by eagle_jax on {machine.cpu_model()}: '
                     f'TFLite {config.conversion.mode}, {runner.threads} thread(s), XNNPACK {runner.xnnpack}, '
                     f'{runner.runs} runs x {runner.avg_between} invocations, two-level inter-quartile mean'
                     + (f'; {_ABOUT.value}' if _ABOUT.value else ''),
      'cpu': machine.cpu_model(), 'cores': os.cpu_count(), 'python': platform.python_version(),
      'tensorflow': tf.__version__, 'ai_edge_litert': getattr(ai_edge_litert, '__version__', 'unknown'),
      'numpy': np.__version__, 'config': config.to_dict(), 'counts': counts, 'runs': runs,
      'settings': ', '.join(f'{k}={v}' for part in ('model', 'conversion', 'runner')
                            for k, v in config[part].to_dict().items() if k not in ('host', 'port')),
      'date': datetime.date.today().isoformat()}
  path = bundled_data.write_bundle(f'cpu/{_NAME.value}', reduced, space, card)
  print(json.dumps({'card': str(path), 'entries': len(reduced), 'counts': counts}, indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'name', 'config'])
  app.run(main)
