"""Bundles a local CPU measurement run as a named dataset `cpu/<name>` (npz + card) in eagle_jax/data/bundled/.

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench201.py --workdir=runs/cpu
python experiments/build_cpu_dataset.py --workdir=runs/cpu --name=xeon-2core-litert-fp32
"""
import datetime
import io
import json
import platform
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.data import tools
from eagle_jax.spaces import nasbench201

_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished measurement workdir.')
_NAME = flags.DEFINE_string('name', None, 'Dataset name, bundled as cpu/<name>.')
_CONFIG = flags.DEFINE_string('config', 'configs/measure/desktop_nasbench201.py', 'The config it ran with.')
_OUT = Path(__file__).resolve().parents[1] / 'eagle_jax' / 'data' / 'bundled'


def _cpu_model() -> str:
  with open('/proc/cpuinfo') as f:
    return next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), platform.machine())


def main(argv):
  del argv
  import ai_edge_litert  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  workdir = Path(_WORKDIR.value)
  reduced, counts = tools.stats(tools.combine(tools.shard_paths(workdir / 'results')))
  keys = sorted(reduced, key=lambda k: nasbench201.index_of(k))
  indices = nasbench201.index_of(keys)
  values = np.array([reduced[k] for k in keys])
  stem = f'cpu_{_NAME.value}'
  buffer = io.BytesIO()
  np.savez_compressed(buffer, indices=indices.astype(np.int32), values=values)
  files.atomic_write_bytes(_OUT / f'{stem}.npz', buffer.getvalue())
  summary = json.loads((workdir / 'summary.json').read_text())
  card = {
      'name': f'cpu/{_NAME.value}', 'file': f'{stem}.npz', 'units': 's',
      'description': f'NB201 latency (s) of {len(values)} random valid archs measured by eagle_jax on '
                     f'{_cpu_model()}: TFLite fp32, 1 thread, XNNPACK, 100 runs x 10 invocations, '
                     'two-level inter-quartile mean',
      'cpu': _cpu_model(), 'cores': __import__('os').cpu_count(), 'python': platform.python_version(),
      'tensorflow': tf.__version__, 'ai_edge_litert': getattr(ai_edge_litert, '__version__', 'unknown'),
      'numpy': np.__version__, 'config': _CONFIG.value, 'counts': counts, 'measurement_summary': summary,
      'date': datetime.date.today().isoformat(),
      'settings': 'archs=random num_archs=1000 seed=0, prune=True, input 1x32x32x3, 100 classes, fp32, '
                  'threads=1, xnnpack=True, runs=100, avg_between=10, interval=0.01 s, warmup=10'}
  files.atomic_write_text(_OUT / f'{stem}.json', json.dumps(card, indent=2) + '\n')
  print(json.dumps({k: card[k] for k in ('name', 'file', 'cpu', 'counts')}, indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'name'])
  app.run(main)
