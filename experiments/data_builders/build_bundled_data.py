"""Rebuilds the bundled datasets in eagle_jax/data/bundled/ from the public datasets under $EAGLE_JAX_DATA (run once; output is committed).

python experiments/data_builders/build_bundled_data.py --shared_data=$EAGLE_JAX_DATA
"""
import csv
import io
import json
import os
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.spaces import nasbench201

_SHARED = flags.DEFINE_string('shared_data', os.environ.get('EAGLE_JAX_DATA', ''), 'Folder with the public datasets (default: $EAGLE_JAX_DATA).')
_OUT = Path(__file__).resolve().parents[2] / 'eagle_jax' / 'data' / 'bundled'


def _read_rows(path: Path) -> list:
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  vecs = np.array([[int(r[f'op{k}']) for k in range(6)] for r in rows])
  if not np.array_equal(vecs, nasbench201.arch_vectors()):
    raise ValueError(f'{path}: rows are not in NB201 index order')
  return rows


def _column(rows: list, name: str) -> np.ndarray:
  return np.array([float(r[name]) if r[name] != '' else np.nan for r in rows])


def _save_npz(name: str, **arrays) -> None:
  buffer = io.BytesIO()
  np.savez_compressed(buffer, **arrays)
  files.atomic_write_bytes(_OUT / name, buffer.getvalue())


def main(argv):
  del argv
  shared = Path(_SHARED.value)
  acc_rows = _read_rows(shared / 'nb201-acc-perseed-nats-tss' / 'nb201_acc_perseed_200ep.csv')
  _save_npz('nb201_accuracy.npz',
            seeds=np.array([777, 888, 999]),
            cifar10_valid=np.stack([_column(acc_rows, f'cifar10valid_valid_acc_seed{k}') for k in range(3)], 1),
            cifar100=np.stack([_column(acc_rows, f'cifar100_valtest_acc_seed{k}') for k in range(3)], 1))
  help_rows = _read_rows(shared / 'help-nb201-latency' / 'help_latency_nb201.csv')
  devices = sorted(k[:-3] for k in help_rows[0] if k.endswith('_ms'))
  _save_npz('help_latency.npz', devices=np.array(devices),
            latency_s=np.stack([_column(help_rows, f'{d}_ms') / 1000.0 for d in devices], 1))
  print(json.dumps({p.name: p.stat().st_size for p in sorted(_OUT.glob('*.npz'))}))


if __name__ == '__main__':
  app.run(main)
