"""Bundles a whole-space NB201 proxies workdir (python -m eagle_jax.proxies) as zc/<name> in the package.

python experiments/data_builders/build_bundled_proxies.py --workdir=runs/zc_nb201_c100 --name=zc/nb201
"""
import csv
import datetime
import json
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax.data import bundled_data
from eagle_jax.proxies import compute
from eagle_jax.spaces import nasbench201

_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished proxies workdir of the whole NB201 space.')
_NAME = flags.DEFINE_string('name', None, 'Bundled name, zc/...')


def main(argv):
  del argv
  workdir = Path(_WORKDIR.value)
  summary = json.loads((workdir / compute.SUMMARY).read_text())
  with open(workdir / compute.TABLE, newline='') as f:
    rows = list(csv.DictReader(f))
  index = nasbench201.SPACE.index_of([nasbench201.from_arch_str(r['arch_str']) for r in rows])
  columns = {}
  for name in summary['proxies']:
    column = np.full(nasbench201.NUM_ARCHS, np.nan)
    column[index] = [float(r[name]) for r in rows]
    columns[name] = column
  card = {'units': 'proxy', 'description': f'zero-cost proxies of every valid NB201 cell, computed by eagle_jax '
                                           f'(python -m eagle_jax.proxies; NaN for the {nasbench201.NUM_ARCHS - len(rows)} '
                                           'cells without a network)',
          'settings': {k: summary[k] for k in ('batch', 'data', 'seed')}, 'machine': summary['machine'],
          'seconds': round(summary['seconds'], 1), 'date': datetime.date.today().isoformat()}
  print(bundled_data.write_table_bundle(_NAME.value, columns, 'nasbench201', card))


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'name'])
  app.run(main)
