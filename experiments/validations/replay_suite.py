"""One NAS replay suite: every benchmark, every method, every budget, the same protocol.

Benchmarks (`--benchmarks`): NB201 CIFAR-10 and CIFAR-100 (bundled; searched on training seed 777, reported on the
mean of 888/999), NB101 (NASLib's 292 cells, bundled; one accuracy per cell), DARTS (NASLib's 500 genotypes with
NAS-Bench-301 surrogate accuracies, $EAGLE_JAX_DATA/naslib-zc-darts), and any accuracy file a user gives
(`--files=PATH=CONFIG`, CONFIG a module of configs/search/, e.g. results.csv=brp_nasbench101).

Methods: BRP-NAS variants (`--variants`, config overrides of replay.VARIANTS on each benchmark's default
config), each zero-cost proxy's order (the benchmark's proxies), FLOPs and params order (the project's network
costs), random search, regularised evolution and iterative ridge (20 models an iteration).

A BRP-NAS variant is one search of `--short` models (5 iterations of 20), read at each budget up to it, and one of
200 models (10 iterations of 20) for the 200 column. Ridge runs at each budget. Per benchmark the suite writes
replay_suite/<benchmark>.{json,png}: the median rank of the best model among the first B trained (rank among
the candidates by the searched values, 1 = the best), the seeds reaching the top 0.1%, and the default against
the best baseline at each budget; replay_suite.md gathers them. Traces are kept (<benchmark>.traces.json) so a
run that stops goes on where it was, and a benchmark run in another process adds to the same report.

python experiments/validations/replay_suite.py --benchmarks=nb101-naslib,darts-nb301
python experiments/validations/replay_suite.py --benchmarks=nb201-cifar10 --variants=default,no_priors
python experiments/validations/replay_suite.py --report_only   # replay_suite.md from the kept results
"""
import dataclasses
import fcntl
import json
import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
from absl import app, flags
from scipy import stats
from tqdm import auto as tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eagle_jax import files  # pylint: disable=g-import-not-at-top
from eagle_jax.predictors import plots, priors  # pylint: disable=g-import-not-at-top
from eagle_jax.search import job, replay, tables  # pylint: disable=g-import-not-at-top


@dataclasses.dataclass(frozen=True)
class Benchmark:
  measurement: str            # bundled name or file of accuracies
  config: str                 # module of configs/search/
  proxies: str = ''           # bundled zc/ name or file of proxy values (its columns: `proxy_columns`)
  proxy_columns: tuple = ()
  overrides: tuple = ()       # (flattened config key, value) on top of the config
  role: str = ''              # what was chosen on it ('report': nothing)


_OURS = ('synflow', 'grad_norm', 'snip', 'jacov', 'nwot')
_DARTS_FILE = os.path.join(os.environ.get('EAGLE_JAX_DATA', ''), 'naslib-zc-darts', 'raw', 'zc_nasbench301.json')
BENCHMARKS = {
    'nb201-cifar100': Benchmark('nb201/cifar100', 'brp_nasbench201', 'zc/nb201', _OURS,
                                role='NB201 prior (synflow) and BRP-NAS settings tuned here'),
    'nb201-cifar10': Benchmark('nb201/cifar10-valid', 'brp_nasbench201', 'zc/nb201', _OURS, role='report'),
    'nb101-naslib': Benchmark('nb101/naslib-cifar10', 'brp_nasbench101', 'zc/nb101', _OURS, role='report'),
    'darts-nb301': Benchmark(_DARTS_FILE, 'brp_darts', _DARTS_FILE,
                             ('synflow', 'snip', 'grad_norm', 'jacov', 'epe_nas', 'fisher', 'grasp', 'l2_norm',
                              'plain'),  # NASLib's proxies, in the same file
                             (('data.search_on', 'mean'),),
                             role='the params prior of NB101, DARTS and NB-ASR chosen here (proxy orders only)'),
}
LONG_BUDGET = 200
_BENCHMARKS = flags.DEFINE_list('benchmarks', list(BENCHMARKS), f'Named benchmarks: {", ".join(BENCHMARKS)}.')
_FILES = flags.DEFINE_list('files', [], 'Accuracy files of your own: PATH=CONFIG (a module of configs/search/).')
_SEEDS = flags.DEFINE_integer('seeds', 10, 'Search seeds per method.')
_BUDGETS = flags.DEFINE_list('budgets', ['10', '25', '50', '100', '200'], 'Models trained at which to report.')
_SHORT = flags.DEFINE_integer('short', 100, 'Models of the BRP-NAS search read at the budgets up to it.')
_VARIANTS = flags.DEFINE_list('variants', ['default', 'no_priors'], f'BRP-NAS variants: {", ".join(replay.VARIANTS)}.')
_LONG = flags.DEFINE_list('long_variants', ['default'], 'Variants also searched with 200 models.')
_BASELINES = flags.DEFINE_bool('baselines', True, 'Also the baselines (random, evolution, ridge, cost and proxy orders).')
_REPORT_ONLY = flags.DEFINE_bool('report_only', False, 'Only write replay_suite.md from the kept results.')
HERE = Path(__file__).resolve().parent
OUT = HERE / 'replay_suite'
_EVOLUTION_STEPS = 2000  # evolution runs on, so trace positions stay defined


def _budgets() -> list:
  return sorted(int(b) for b in _BUDGETS.value)


def _config(benchmark: Benchmark, variant: str = 'default', budget: int = 0):
  config = __import__(f'configs.search.{benchmark.config}', fromlist=['get_config']).get_config()
  config.data.measurement = benchmark.measurement
  config.update_from_flattened_dict(dict(benchmark.overrides))
  config.update_from_flattened_dict(replay.VARIANTS[variant])
  config.search.update(budget=budget, iterations=budget // 20)
  return config


def _brp_trace(benchmark: Benchmark, dataset, searched, variant: str, budget: int, seed: int) -> np.ndarray:
  config = _config(benchmark, variant, budget)
  config.seed = seed
  return replay.brp_trace(config, dataset.space, dataset.keys, searched)


def _methods(benchmark: Benchmark, dataset, searched, orders: dict) -> dict:
  """{method: (function of the seed -> trace, models it trains)}; `orders` from `proxy_orders`."""
  keys, space, top = dataset.keys, dataset.space, max(_budgets())
  out = {}
  for variant in _VARIANTS.value:
    out[f'BRP-NAS ({variant})'] = (lambda s, v=variant: _brp_trace(benchmark, dataset, searched, v, _SHORT.value, s),
                                   _SHORT.value)
    if variant in _LONG.value and LONG_BUDGET in _budgets():
      out[f'BRP-NAS ({variant}) at {LONG_BUDGET}'] = (
          lambda s, v=variant: _brp_trace(benchmark, dataset, searched, v, LONG_BUDGET, s), LONG_BUDGET)
  if not _BASELINES.value:
    return out
  out['random search'] = (lambda s: replay.random_trace(len(keys), s), top)
  out['regularised evolution'] = (lambda s: replay.regularized_evolution(space, keys, searched, _EVOLUTION_STEPS, s),
                                  top)
  for budget in _budgets():
    out[f'iterative ridge at {budget}'] = (
        lambda s, b=budget: replay.ridge_search(space, keys, searched, b, max(1, b // 20), s), budget)
  for label, values in orders.items():
    out[label] = (lambda s, v=values: replay.score_trace(v, s), top)
  return out


def proxy_orders(benchmark: Benchmark, dataset) -> dict:
  """{'<proxy> order': its value of every candidate}: the project's FLOPs and params, then the benchmark's proxies."""
  keys, space = dataset.keys, dataset.space
  out = {f'{"FLOPs" if cost == "flops" else cost} order': priors.log_costs(space, keys, cost)
         for cost in ('flops', 'params')}
  for proxy in benchmark.proxy_columns:
    out[f'{proxy} order'] = priors.prior_values({'measurement': benchmark.proxies, 'column': proxy}, space.name, keys)
  return out


def _keep(traces_file: Path, method: str, seed: int, trace: np.ndarray) -> dict:
  """Adds one trace to the kept ones, under a lock: processes running other methods of the benchmark add theirs
  to the same file. Returns every trace kept."""
  with open(traces_file.with_suffix('.lock'), 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    kept = json.loads(traces_file.read_text()) if traces_file.exists() else {}
    kept.setdefault(method, {})[str(seed)] = trace.tolist()
    files.atomic_write_text(traces_file, json.dumps(kept) + '\n')
  return kept


def run_benchmark(name: str, benchmark: Benchmark) -> dict:
  config = _config(benchmark, _VARIANTS.value[0] if _VARIANTS.value else 'default', _SHORT.value)
  dataset, searched, reported, description = job.load_benchmark(config)
  traces_file = OUT / f'{name}.traces.json'
  kept = json.loads(traces_file.read_text()) if traces_file.exists() else {}
  orders = proxy_orders(benchmark, dataset)
  methods = _methods(benchmark, dataset, searched, orders)
  length = min(len(searched), max(LONG_BUDGET, *_budgets()))  # kept traces serve any later budget up to it
  todo = [(m, s) for m in methods for s in range(_SEEDS.value) if len(kept.get(m, {}).get(str(s), ())) < length]
  for method, seed in tqdm.tqdm(todo, desc=name, disable=not todo):
    make, _ = methods[method]
    _keep(traces_file, method, seed, np.asarray(make(seed))[:length])
  kept = json.loads(traces_file.read_text())  # with what other processes added
  top_count = max(1, round(0.001 * len(searched)))
  shown = benchmark.measurement.replace(os.environ.get('EAGLE_JAX_DATA') or '\0', '$EAGLE_JAX_DATA')
  result = {'measurement': shown, 'config': benchmark.config,
            'values': description, 'candidates': int(len(searched)), 'top_0.1pct': top_count, 'role': benchmark.role,
            'seeds': _SEEDS.value, 'methods': {}}
  for method, (_, trained) in methods.items():
    per_seed = [np.asarray(kept[method][str(s)]) for s in range(_SEEDS.value)]
    ranks = {b: [tables.rank_in_space(searched, int(t[:b][np.argmax(searched[t[:b]])])) for t in per_seed]
             for b in _budgets() if b <= trained and (not method.startswith('iterative ridge') or
                                                      method.endswith(f' at {b}'))}
    selected = np.array([replay.curves(t, searched, reported, min(trained, max(_budgets())))['selected']
                         for t in per_seed])
    result['methods'][method] = {'trained': trained, 'rank': ranks,
                                 'rank_median': {b: float(np.median(r)) for b, r in ranks.items()},
                                 'top_seeds': {b: int(np.sum(np.array(r) <= top_count)) for b, r in ranks.items()},
                                 'selected_median': np.median(selected, axis=0).tolist()}
  result['default_vs_best_baseline'] = _against_baselines(result['methods'])
  result['proxy_spearman'] = {label: float(stats.spearmanr(values, searched, nan_policy='omit').statistic)
                              for label, values in orders.items()}
  files.atomic_write_text(OUT / f'{name}.json', json.dumps(result, indent=1) + '\n')
  return result


def _row_of(method: str) -> str:
  """The table row of a method: ridge's per-budget searches and BRP-NAS's 200-model search share one row."""
  for suffix in [f' at {b}' for b in _budgets()]:
    if method.endswith(suffix):
      return method[:-len(suffix)]
  return method


def _rows(methods: dict) -> dict:
  """{row: {budget: (median rank, seeds in the top 0.1%)}}."""
  rows = {}
  for method, entry in methods.items():
    for budget, median in entry['rank_median'].items():
      rows.setdefault(_row_of(method), {})[int(budget)] = (median, entry['top_seeds'][budget])
  return rows


def _against_baselines(methods: dict) -> dict:
  """At each budget: the default's median rank, the best baseline's, which baseline, and the verdict."""
  rows = _rows(methods)
  default = rows.get('BRP-NAS (default)', {})
  out = {}
  for budget, (rank, _) in sorted(default.items()):
    baselines = {r: v[budget][0] for r, v in rows.items() if not r.startswith('BRP-NAS') and budget in v}
    best = min(baselines, key=baselines.get)
    verdict = 'better' if rank < baselines[best] else 'equal' if rank == baselines[best] else 'worse'
    out[budget] = {'default': rank, 'best_baseline': best, 'best_baseline_rank': baselines[best], 'verdict': verdict}
  return out


def _plot(name: str, result: dict) -> None:
  fig, ax = plots.new_figure(7, 4.5)
  colours = matplotlib.colormaps['tab20'].colors
  for k, (row, cells) in enumerate(_rows(result['methods']).items()):
    budgets = sorted(cells)
    style = dict(lw=2.2, color='k') if row == 'BRP-NAS (default)' else dict(
        lw=1.0, color=colours[k % len(colours)], ls='-' if row.startswith('BRP-NAS') else '--')
    ax.plot(budgets, [cells[b][0] for b in budgets], marker='o', ms=3, label=row, **style)
  ax.set(title=f'{name}: rank of the best model trained (median over {result["seeds"]} seeds)',
         xlabel='models trained', ylabel=f'rank among {result["candidates"]} candidates (1 = best)', xscale='log',
         yscale='log')
  ax.grid(alpha=0.3)
  ax.legend(fontsize=6, ncol=2)
  plots.save_figure(fig, OUT / f'{name}.png')


def write_report() -> Path:
  lines = ['# Replay suite', '',
           'Each cell: median rank of the best model among the first B trained (1 = the best candidate) / seeds with '
           'a top-0.1% model. Written by `replay_suite.py` from the results in `replay_suite/`.', '']
  for path in sorted(OUT.glob('*.json')):
    if path.name.endswith('.traces.json'):
      continue
    result = json.loads(path.read_text())
    _plot(path.stem, result)
    budgets = sorted({int(b) for e in result['methods'].values() for b in e['rank_median']})
    lines += [f'## {path.stem}', '',
              f'{result["measurement"]} ({result["values"]}), config `{result["config"]}`; {result["candidates"]} '
              f'candidates, top 0.1% = {result["top_0.1pct"]}; {result["seeds"]} seeds. Role: {result["role"] or "report"}.',
              '', f'![{path.stem}](replay_suite/{path.stem}.png)', '',
              '| method | ' + ' | '.join(f'{b}' for b in budgets) + ' |', '|---' * (len(budgets) + 1) + '|']
    for row, cells in _rows(result['methods']).items():
      text = [f'{cells[b][0]:g} / {cells[b][1]}' if b in cells else '' for b in budgets]
      bold = row == 'BRP-NAS (default)'
      lines.append(f'| {"**" * bold}{row}{"**" * bold} | ' + ' | '.join(text) + ' |')
    lines += ['', 'Spearman of each proxy with the searched values: ' + ', '.join(
        f'{label[:-len(" order")]} {rho:.3f}' for label, rho in result.get('proxy_spearman', {}).items()) + '.']
    verdicts = result['default_vs_best_baseline']
    lines += ['', 'Default against the best baseline: ' + '; '.join(
        f'{b}: {v["default"]:g} vs {v["best_baseline_rank"]:g} ({v["best_baseline"]}), {v["verdict"]}'
        for b, v in verdicts.items()) + '.', '']
  return files.atomic_write_text(HERE / 'replay_suite.md', '\n'.join(lines))


def main(argv):
  del argv
  OUT.mkdir(exist_ok=True)
  if not _REPORT_ONLY.value:
    chosen = {name: BENCHMARKS[name] for name in _BENCHMARKS.value}
    for entry in _FILES.value:
      path, _, config = entry.partition('=')
      if not config:
        raise app.UsageError(f'--files entry {entry!r}: give PATH=CONFIG (a module of configs/search/)')
      chosen[Path(path).stem] = Benchmark(path, config)
    for name, benchmark in chosen.items():
      run_benchmark(name, benchmark)
  print(write_report())


if __name__ == '__main__':
  app.run(main)
