"""The project's zero-cost proxies against NASLib's published values ($EAGLE_JAX_DATA/naslib-zc-subsets): Spearman
per proxy between ours and NASLib's on the same cells, and of each against accuracy. Writes
experiments/validations/<out>.{json,md,png}.

python experiments/validations/zero_cost_validation.py [--nb101_workdir=runs/zc_nb101]
NB101: the module hashes of NASLib's cells (292 distinct), then their proxies in that workdir:
python experiments/validations/zero_cost_validation.py --write_nb101_cells=runs/naslib_nb101_hashes.txt
python -m eagle_jax.proxies --config=configs/proxies/nasbench101.py \
    --config.arch_list=runs/naslib_nb101_hashes.txt --workdir=runs/zc_nb101
"""
import csv
import json
import os
from pathlib import Path

import numpy as np
from absl import app, flags
from scipy import stats

from eagle_jax import files
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import plots
from eagle_jax.proxies import scores
from eagle_jax.spaces import nasbench201

_SHARED = flags.DEFINE_string('shared_data', os.environ.get('EAGLE_JAX_DATA', ''),
                              'Folder with naslib-zc-subsets (default: $EAGLE_JAX_DATA).')
_NB201 = flags.DEFINE_list('nb201', ['cifar10=zc/nb201', 'cifar100=zc/nb201'],
                           'NASLib dataset=our proxies (bundled name or proxies.csv) pairs.')
_NB101 = flags.DEFINE_string('nb101_workdir', '', 'A proxies workdir over NASLib\'s NB101 cells (optional).')
_WRITE_CELLS = flags.DEFINE_string('write_nb101_cells', '', "Write the module hashes of NASLib's NB101 cells here "
                                    '(the proxies binary\'s config.arch_list), then stop.')
_OUT = flags.DEFINE_string('out', 'zero_cost_validation', 'Name of the results in experiments/validations/.')
HERE = Path(__file__).resolve().parent
ACCURACY = {'cifar10': 'nb201/cifar10-valid', 'cifar100': 'nb201/cifar100'}


def _spearman(a, b) -> float:
  return float(stats.spearmanr(a, b).statistic)


def _compare(ours: dict, theirs: dict, accuracy: dict) -> dict:
  """Spearman on the cells all three hold, per proxy."""
  rows = {}
  for proxy in scores.PROXIES:
    if proxy not in ours or proxy not in theirs:
      continue
    common = [k for k in theirs[proxy] if k in ours[proxy] and k in accuracy]
    a = np.array([ours[proxy][k] for k in common])
    b = np.array([theirs[proxy][k] for k in common])
    acc = np.array([accuracy[k] for k in common])
    rows[proxy] = {'cells': len(common), 'ours_vs_naslib': _spearman(a, b), 'ours_vs_accuracy': _spearman(a, acc),
                   'naslib_vs_accuracy': _spearman(b, acc)}
  return rows


def _naslib_nb201(path: Path, dataset: str) -> dict:
  """{proxy: {op vector: value}} of NASLib's NB201 subset for `dataset`, finite values only (a few are -inf or empty)."""
  with open(path, newline='') as f:
    rows = [r for r in csv.DictReader(f) if r['dataset'] == dataset]
  return {p: {nasbench201.from_arch_str(r['arch_str']): float(r[p]) for r in rows
              if r[p] and np.isfinite(float(r[p]))} for p in scores.PROXIES}


def _nb201(shared: Path) -> dict:
  table = shared / 'naslib-zc-subsets' / 'zc_nasbench201_subset.csv'
  results = {}
  for pair in _NB201.value:
    dataset, ours_source = pair.split('=')
    theirs = _naslib_nb201(table, dataset)
    ours = {p: dataset_lib.load_dataset(ours_source, p).as_dict() for p in scores.PROXIES}
    accuracy = dataset_lib.load_dataset(ACCURACY[dataset]).as_dict()
    results[f'nb201/{dataset}'] = {'ours': ours_source, 'accuracy': f'{ACCURACY[dataset]} (mean over seeds)',
                                   'proxies': _compare(ours, theirs, accuracy)}
    whole = {p: _spearman(*zip(*[(v, accuracy[k]) for k, v in ours[p].items() if k in accuracy]))
             for p in scores.PROXIES}
    results[f'nb201/{dataset}']['ours_vs_accuracy_whole_space'] = whole
  return results


def _naslib_nb101_file(shared: Path) -> Path:
  return shared / 'naslib-zc-subsets' / 'raw' / 'zc_nasbench101.json'


def _nb101(shared: Path) -> dict:
  raw = _naslib_nb101_file(shared)
  workdir = Path(_NB101.value)
  fields = next(iter(json.loads(raw.read_text())['nasbench101']['cifar10'].values()))  # NASLib has no nwot here
  theirs = {p: dataset_lib.load_dataset(raw, p, space='nasbench101').as_dict() for p in scores.PROXIES if p in fields}
  accuracy = dataset_lib.load_dataset(raw, 'val_accuracy', space='nasbench101').as_dict()
  ours = {p: dataset_lib.load_dataset(workdir / f'{p}.pickle', space='nasbench101').as_dict()
          for p in scores.PROXIES if (workdir / f'{p}.pickle').exists()}
  return {'nb101/cifar10': {'ours': str(workdir), 'accuracy': 'NASLib val_accuracy (one seed)',
                            'proxies': _compare(ours, theirs, accuracy)}}


def main(argv):
  del argv
  shared = Path(_SHARED.value)
  if _WRITE_CELLS.value:
    cells = dataset_lib.load_dataset(_naslib_nb101_file(shared), 'val_accuracy', space='nasbench101')
    files.atomic_write_text(Path(_WRITE_CELLS.value), '\n'.join(cells.space.to_str(k) for k in cells.keys) + '\n')
    return
  results = _nb201(shared)
  if _NB101.value:
    results.update(_nb101(shared))
  out = HERE / _OUT.value
  files.atomic_write_text(out.with_suffix('.json'), json.dumps(results, indent=2) + '\n')
  lines = []
  for name, r in results.items():
    lines += [f'### {name} (ours: {r["ours"]}; accuracy: {r["accuracy"]})', '',
              '| proxy | cells | Spearman ours vs NASLib | ours vs accuracy | NASLib vs accuracy |'
              + (' ours vs accuracy, whole space |' if 'ours_vs_accuracy_whole_space' in r else ''),
              '|---|---|---|---|---|' + ('---|' if 'ours_vs_accuracy_whole_space' in r else '')]
    for proxy, row in r['proxies'].items():
      whole = r.get('ours_vs_accuracy_whole_space', {})
      lines.append(f'| {proxy} | {row["cells"]} | {row["ours_vs_naslib"]:.3f} | {row["ours_vs_accuracy"]:.3f} | '
                   f'{row["naslib_vs_accuracy"]:.3f} |' + (f' {whole[proxy]:.3f} |' if whole else ''))
    lines.append('')
  files.atomic_write_text(out.with_suffix('.md'), '\n'.join(lines))
  fig, axes = plots.new_figure(6 * len(results), 4, columns=len(results))
  for ax, (name, r) in zip(np.atleast_1d(axes), results.items()):
    names = list(r['proxies'])
    x = np.arange(len(names))
    for k, field in enumerate(('ours_vs_naslib', 'ours_vs_accuracy', 'naslib_vs_accuracy')):
      ax.bar(x + (k - 1) * 0.27, [r['proxies'][n][field] for n in names], 0.27, label=field.replace('_', ' '))
    ax.set(xticks=x, title=f'{name}: Spearman', ylim=(-1, 1))
    ax.set_xticklabels(names, rotation=30)
    ax.axhline(0, color='k', lw=0.5)
    ax.legend(fontsize=7)
  plots.save_figure(fig, out.with_suffix('.png'))
  print(json.dumps(results, indent=2))


if __name__ == '__main__':
  app.run(main)
