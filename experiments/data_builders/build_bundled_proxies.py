"""Bundles a proxies workdir (python -m eagle_jax.proxies: its proxies.csv, and summary.json where it is kept) as
zc/<name> in the package: over the whole enumeration when it scores every valid arch of a finite space (NB201),
else over the archs it scores (NB101's NASLib cells).

python experiments/data_builders/build_bundled_proxies.py --workdir=runs/zc_nb201_c100 --name=zc/nb201
python experiments/data_builders/build_bundled_proxies.py --workdir=runs/zc_nb101 --name=zc/nb101 \
    --space=nasbench101 --specs_from=nb101/naslib-cifar10
"""
import csv
import datetime
import json
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import spaces
from eagle_jax.data import bundled_data
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.proxies import compute

_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished proxies workdir (proxies.csv, summary.json).')
_NAME = flags.DEFINE_string('name', None, 'Bundled name, zc/...')
_SPACE = flags.DEFINE_string('space', 'nasbench201', 'The search space of its archs.')
_SPECS_FROM = flags.DEFINE_string('specs_from', '', 'A dataset holding the cells of a hash-keyed space (NB101), '
                                  'read first so that their hashes resolve.')
_SUMMARY = flags.DEFINE_string('summary', '', 'JSON of the card fields (batch, data, seed, machine, seconds) when '
                               'the workdir has no summary.json.')


def main(argv):
  del argv
  workdir = Path(_WORKDIR.value)
  summary_file = workdir / compute.SUMMARY
  summary = json.loads(summary_file.read_text() if summary_file.exists() else _SUMMARY.value)
  with open(workdir / compute.TABLE, newline='') as f:
    rows = list(csv.DictReader(f))
  if _SPECS_FROM.value:
    dataset_lib.load_dataset(_SPECS_FROM.value, space=_SPACE.value)
  space = spaces.get(_SPACE.value)
  keys = space.as_keys([r['arch_str'] for r in rows])
  names = [n for n in rows[0] if n != 'arch_str']
  values = np.array([[float(r[n]) for n in names] for r in rows])
  whole = None
  try:
    whole = space.enumerate()
  except NotImplementedError:
    pass
  if whole is not None and len(rows) == int(space.is_valid(whole).sum()):
    index = space.index_of(keys)
    columns = {n: np.full(len(whole), np.nan) for n in names}
    for k, n in enumerate(names):
      columns[n][index] = values[:, k]
    keys, scope = None, f'every valid {space.name} cell (NaN for the {len(whole) - len(rows)} without a network)'
  else:
    columns = {n: values[:, k] for k, n in enumerate(names)}
    scope = f'{len(rows)} {space.name} cells ({_SPECS_FROM.value or "its own list"})'
  card = {'units': 'proxy', 'description': f'zero-cost proxies of {scope}, computed by eagle_jax '
                                           '(python -m eagle_jax.proxies)',
          'settings': {k: summary[k] for k in ('batch', 'data', 'seed')}, 'machine': summary['machine'],
          'seconds': round(summary['seconds'], 1), 'date': datetime.date.today().isoformat()}
  print(bundled_data.write_table_bundle(_NAME.value, columns, space.name, card, keys=keys))


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir', 'name'])
  app.run(main)
