"""NAS replay on bundled tables, by budget: BRP-NAS variants (the default, and the same without zero-cost priors)
against random search, regularised evolution, iterative ridge regression, FLOPs order and each zero-cost proxy's
order, over search seeds. On NB201, searched on training seed 777 and reported on the mean of seeds 888/999.
Writes experiments/validations/<out>.{json,md,png}.

For every method and budget B: the rank (among all candidates, by the searched values) of the best of the first B
models trained (median over seeds), the share of seeds with a top-0.1% model among them, and the reported value
of the model the searched values select (median). BRP-NAS variants run at the config's budget (columns up to it)
and, for --long_variants, again at budget 200 with 10 iterations (the 200 column); --budgets=200 runs only that.

python experiments/validations/nas_replay.py --datasets=nb201/cifar10-valid --out=nas_replay_cifar10
python experiments/validations/nas_replay.py --config=brp_nasbench101 --datasets=nb101/naslib-cifar10 --budgets=10,20,30 \
    --variants=default --long_variants= --proxies= --out=nas_replay_nb101
"""
import json
import sys
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.predictors import foresight, plots, priors
from eagle_jax.proxies import scores as proxy_scores
from eagle_jax.search import defaults, job, replay, tables

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

_SEEDS = flags.DEFINE_integer('seeds', 10, 'Search seeds per method.')
_BUDGETS = flags.DEFINE_list('budgets', ['25', '50', '100', '200'], 'Models trained at which to report.')
_DATASETS = flags.DEFINE_list('datasets', ['nb201/cifar100', 'nb201/cifar10-valid'], 'Bundled tables.')
_CONFIG = flags.DEFINE_string('config', 'brp_nasbench201', 'Search config in configs/search/.')
_VARIANTS = flags.DEFINE_list('variants', ['default', 'no_priors'], f'BRP-NAS variants: {", ".join(replay.VARIANTS)}.')
_LONG = flags.DEFINE_list('long_variants', ['default', 'no_priors'], 'Variants also run at budget 200.')
_PROXIES = flags.DEFINE_list('proxies', list(proxy_scores.PROXIES[1:]),
                             "Proxy orders to replay (NB201); 'a+b' = their mean percentile rank.")
_PRIOR = flags.DEFINE_string('prior', '', "Override config.zero_cost.column (e.g. 'nwot+synflow') for every variant.")
_BASELINES = flags.DEFINE_bool('baselines', True, 'Random search, evolution, ridge, FLOPs and proxy orders.')
_OUT = flags.DEFINE_string('out', 'nas_replay', 'Name of the results in experiments/validations/.')
HERE = Path(__file__).resolve().parent
_EVOLUTION_STEPS = 2000  # evolution has no ranking of the rest: run it on, so trace positions stay defined
_LONG_BUDGET, _LONG_ITERATIONS = 200, 10


def _config(name: str, variant: str, budget: int = 0):
  config = __import__(f'configs.search.{_CONFIG.value}', fromlist=['get_config']).get_config()
  config.data.measurement = name
  config.update_from_flattened_dict(replay.VARIANTS[variant])
  if _PRIOR.value:
    config.zero_cost.column = _PRIOR.value
  if budget:
    config.search.update(budget=budget, iterations=_LONG_ITERATIONS)
  return config


def _brp_traces(name: str, dataset, searched, seed: int) -> dict:
  """{method: (trace, budget it trained)} of the BRP-NAS variants."""
  out = {}
  for variant in _VARIANTS.value:
    short = min(_budgets()) <= _config(name, variant).search.budget  # else only the long run is asked for
    budgets = [0] * short + ([_LONG_BUDGET] if variant in _LONG.value and _LONG_BUDGET in _budgets() else [])
    for budget in budgets:
      config = _config(name, variant, budget)
      config.seed = seed
      label = f'BRP-NAS ({variant})' + (f' at {budget}' if budget else '')
      out[label] = (replay.brp_trace(config, dataset.space, dataset.keys, searched), config.search.budget)
  return out


def _baseline_traces(name: str, dataset, searched, seed: int) -> dict:
  keys, space = dataset.keys, dataset.space
  max_budget = max(_budgets())
  out = {'random search': (replay.random_trace(len(keys), seed), max_budget),
         'regularised evolution': (replay.regularized_evolution(space, keys, searched, _EVOLUTION_STEPS,
                                                                seed), max_budget),
         'FLOPs order': (replay.score_trace(space.flops(keys), seed), max_budget)}
  for budget in _budgets():  # ridge at each budget, 20 models an iteration as BRP-NAS
    out[f'iterative ridge at {budget}'] = (replay.ridge_search(space, keys, searched, budget,
                                                               max(1, budget // 20), seed), budget)
  if _PROXIES.value:
    config = _config(name, 'default')
    zc = defaults.bundled_proxies(config)
    for proxy in _PROXIES.value:
      block = foresight.proxy_block(zc)
      block.column = proxy
      values = priors.prior_values(block, space.name, keys)
      out[f'{proxy} order'] = (replay.score_trace(values, seed), max_budget)
  return out


def _budgets() -> list:
  return sorted(int(b) for b in _BUDGETS.value)


def main(argv):
  del argv
  results, curves_all = {}, {}
  out = HERE / _OUT.value
  top_count = None
  for name in _DATASETS.value:
    config = _config(name, _VARIANTS.value[0] if _VARIANTS.value else 'default')
    dataset, searched, reported, description = job.load_benchmark(config)
    top_count = max(1, round(0.001 * len(searched)))
    per_method = {}
    for seed in range(_SEEDS.value):
      traces = _brp_traces(name, dataset, searched, seed)
      if _BASELINES.value:
        traces.update(_baseline_traces(name, dataset, searched, seed))
      for method, (trace, trained) in traces.items():
        entry = per_method.setdefault(method, {'trained': trained, 'rank': {}, 'selected': []})
        c = replay.curves(trace, searched, reported, trained)
        entry['selected'].append(c['selected'].tolist())
        for budget in [b for b in _budgets() if b <= trained]:
          first = trace[:budget]
          entry['rank'].setdefault(str(budget), []).append(
              tables.rank_in_space(searched, int(first[np.argmax(searched[first])])))
      print(name, seed, {m: e['rank'][str(e['trained'])][-1] for m, e in per_method.items()}, flush=True)
    results[name] = {'values': description, 'candidates': int(len(searched)), 'top_0.1pct': top_count,
                     'methods': {m: _summarise(e, top_count) for m, e in per_method.items()}}
    curves_all[name] = {m: np.array(e['selected']) for m, e in per_method.items() if 'ridge' not in m}
    files.atomic_write_text(out.with_suffix('.json'), json.dumps(results, indent=2) + '\n')
  _write_table(results, out)
  _plot(curves_all, out)


def _summarise(entry: dict, top_count: int) -> dict:
  selected = np.array(entry['selected'])
  return {'trained': entry['trained'],
          'best_rank': entry['rank'],
          'best_rank_median': {b: float(np.median(r)) for b, r in entry['rank'].items()},
          'top_0.1pct_seeds': {b: int(np.sum(np.array(r) <= top_count)) for b, r in entry['rank'].items()},
          'selected_median': {str(b): float(np.median(selected[:, b - 1])) for b in _budgets()
                              if b <= selected.shape[1]}}


def _write_table(results: dict, out: Path) -> None:
  budgets = _budgets()
  lines = []
  for name, r in results.items():
    lines += [f'### {name} ({r["values"]}; {_SEEDS.value} search seeds; {r["candidates"]} candidates, top 0.1% = '
              f'{r["top_0.1pct"]} archs)', '',
              'Each cell: rank of the best model trained so far (median over seeds) / seeds with a top-0.1% model '
              '/ reported accuracy of the model selected by the searched values (median).', '',
              '| method | ' + ' | '.join(f'{b} models' for b in budgets) + ' |', '|---' * (len(budgets) + 1) + '|']
    for m, e in r['methods'].items():
      cells = []
      for b in budgets:
        key = str(b)
        if key in e['best_rank_median']:
          cells.append(f'{e["best_rank_median"][key]:.0f} / {e["top_0.1pct_seeds"][key]}/{_SEEDS.value} / '
                       f'{e["selected_median"][key]:.2f}')
        else:
          cells.append('')
      lines.append(f'| {m} | ' + ' | '.join(cells) + ' |')
    lines.append('')
  files.atomic_write_text(out.with_suffix('.md'), '\n'.join(lines))


def _plot(curves_all: dict, out: Path) -> None:
  fig, axes = plots.new_figure(7 * len(curves_all), 4.5, columns=len(curves_all))
  for ax, (name, methods) in zip(np.atleast_1d(axes), curves_all.items()):
    for method, curves in methods.items():
      x = np.arange(1, curves.shape[1] + 1)
      ax.plot(x, np.median(curves, axis=0), label=method, lw=1.2)
    ax.set(title=f'{name}: validation-selected accuracy (median over seeds)', xlabel='models trained',
           ylabel='reported accuracy (%)', xscale='log')
    ax.set_ylim(bottom=np.percentile(np.concatenate([c[:, min(9, c.shape[1] - 1)] for c in methods.values()]), 10))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
  plots.save_figure(fig, out.with_suffix('.png'))


if __name__ == '__main__':
  app.run(main)
