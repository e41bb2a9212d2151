"""NAS replay on bundled tables: BRP-NAS (binary, iterative, alpha 0.5) against random search, regularised
evolution, iterative ridge regression and FLOPs order, over search seeds. On NB201, searched on training seed
777 and reported on the mean of seeds 888/999. Writes experiments/<out>.{json,md,png}.

python experiments/nas_replay.py --seeds=10 --budget=100
python experiments/nas_replay.py --config=brp_nasbench101 --datasets=nb101/naslib-cifar10 --budget=30 \
    --out=nas_replay_nb101
"""
import json
import sys
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.predictors import plots
from eagle_jax.search import brpnas, job, replay, tables

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_SEEDS = flags.DEFINE_integer('seeds', 10, 'Search seeds per method.')
_BUDGET = flags.DEFINE_integer('budget', 100, 'Models trained per search.')
_DATASETS = flags.DEFINE_list('datasets', ['nb201/cifar100', 'nb201/cifar10-valid'], 'Bundled tables.')
_CONFIG = flags.DEFINE_string('config', 'brp_nasbench201', 'Search config in configs/search/.')
_OUT = flags.DEFINE_string('out', 'nas_replay', 'Name of the results in experiments/.')
HERE = Path(__file__).resolve().parent
_EVOLUTION_STEPS = 2000  # evolution has no ranking of the rest: run it on, so trace positions stay defined


def _traces(config, dataset, searched, seed: int) -> dict:
  """Each method's trace: the models it trains in order, then (where the method ranks the space) the rest."""
  keys, space = dataset.keys, dataset.space
  evaluate = lambda k: searched[dataset.rows_of(k)]
  config.seed = seed
  result = brpnas.run_search(config, keys, evaluate, progress=False)
  flops = space.flops(keys)
  jitter = 1e-9 * flops.max() * np.random.default_rng(seed).random(len(keys))  # random order among equal FLOPs
  return {'BRP-NAS': np.asarray(result.trace),
          'random search': replay.random_trace(len(keys), seed),
          'regularised evolution': replay.regularized_evolution(keys, searched, _EVOLUTION_STEPS, seed,
                                                                space=space.name),
          'iterative ridge (one-hot features)': replay.ridge_search(keys, searched, _BUDGET.value,
                                                                    config.search.iterations, seed, space=space.name),
          'FLOPs order': replay.score_trace(flops + jitter, seed)}


def main(argv):
  del argv
  results, curves_all = {}, {}
  out = HERE / _OUT.value
  config_module = __import__(f'configs.search.{_CONFIG.value}', fromlist=['get_config'])
  for name in _DATASETS.value:
    config = config_module.get_config()
    config.data.measurement = name
    config.search.budget = _BUDGET.value
    dataset, searched, reported, description = job.load_benchmark(config)
    per_method = {}
    for seed in range(_SEEDS.value):
      for method, trace in _traces(config, dataset, searched, seed).items():
        entry = per_method.setdefault(method, {'selected': [], 'oracle': [], 'global_best': [], 'first_top': [],
                                               'best_rank': []})
        c = replay.curves(trace, searched, reported, _BUDGET.value)
        entry['selected'].append(c['selected'].tolist())
        entry['oracle'].append(c['oracle'].tolist())
        positions = tables.trace_positions(trace, searched)
        entry['global_best'].append(positions['global_best'])
        entry['first_top'].append(positions['first_top'])
        trained = trace[:_BUDGET.value]
        entry['best_rank'].append(tables.rank_in_space(searched, int(trained[np.argmax(searched[trained])])))
      print(name, seed, {m: e['best_rank'][-1] for m, e in per_method.items()}, flush=True)
    results[name] = {'values': description, 'methods': {
        m: {'selected_at_budget_median': float(np.median([s[-1] for s in e['selected']])),
            'selected_at_budget_iqr': [float(q) for q in np.percentile([s[-1] for s in e['selected']], [25, 75])],
            'oracle_at_budget_median': float(np.median([s[-1] for s in e['oracle']])),
            'best_rank_median': float(np.median(e['best_rank'])),
            'top_0.1pct_share': float(np.mean(np.array(e['best_rank']) <= max(1, round(0.001 * len(searched))))),
            'global_best_position': e['global_best'], 'first_top_0.1pct_position': e['first_top'],
            'global_best_position_median': float(np.median(e['global_best'])),
            'first_top_0.1pct_position_median': float(np.median(e['first_top']))}
        for m, e in per_method.items()}}
    curves_all[name] = {m: np.array(e['selected']) for m, e in per_method.items()}
    files.atomic_write_text(out.with_suffix('.json'), json.dumps(results, indent=2) + '\n')
  _write_table(results, out)
  _plot(curves_all, out)


def _write_table(results: dict, out: Path) -> None:
  lines = []
  for name, r in results.items():
    lines += [f'### {name} ({r["values"]}; {_SEEDS.value} search seeds, {_BUDGET.value} models)', '',
              '| method | validation-selected acc at budget (median [IQR]) | max acc seen (median) | rank of best '
              'trained (median) | share in top 0.1% | trace position of global best (median [IQR]) | first '
              'top-0.1% model (median [IQR]) |', '|---|---|---|---|---|---|---|']
    for m, e in r['methods'].items():
      lo, hi = e['selected_at_budget_iqr']
      lines.append(f'| {m} | {e["selected_at_budget_median"]:.2f} [{lo:.2f}, {hi:.2f}] | '
                   f'{e["oracle_at_budget_median"]:.2f} | {e["best_rank_median"]:.0f} | {e["top_0.1pct_share"]:.1f} | '
                   f'{_median_iqr(e["global_best_position"])} | {_median_iqr(e["first_top_0.1pct_position"])} |')
    lines.append('')
  files.atomic_write_text(out.with_suffix('.md'), '\n'.join(lines))


def _median_iqr(values) -> str:
  lo, median, hi = np.percentile(values, [25, 50, 75])
  return f'{median:.0f} [{lo:.0f}, {hi:.0f}]'


def _plot(curves_all: dict, out: Path) -> None:
  fig, axes = plots.new_figure(6 * len(curves_all), 4, columns=len(curves_all))
  for ax, (name, methods) in zip(np.atleast_1d(axes), curves_all.items()):
    for method, curves in methods.items():
      x = np.arange(1, curves.shape[1] + 1)
      median = np.median(curves, axis=0)
      ax.plot(x, median, label=method)
      ax.fill_between(x, np.percentile(curves, 25, axis=0), np.percentile(curves, 75, axis=0), alpha=0.2)
    ax.set(title=f'{name}: validation-selected accuracy', xlabel='models trained',
           ylabel='reported accuracy (%)')
    ax.set_ylim(bottom=np.percentile(np.concatenate([c[:, min(9, c.shape[1] - 1)] for c in methods.values()]), 10))
    ax.grid(alpha=0.3)
    ax.legend()
  plots.save_figure(fig, out.with_suffix('.png'))


if __name__ == '__main__':
  app.run(main)
