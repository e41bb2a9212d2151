"""The search binary's work: BRP-NAS on a benchmark table, with optional latency limit and zero-cost warm-up
or augmentation; writes log.txt (Eagle's format), trace.txt, summary.json and a curve plot."""
import contextlib
import json
from pathlib import Path

import ml_collections
import numpy as np

from eagle_jax import files
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import checkpoints, foresight, initialization, metrics, plots, priors
from eagle_jax.search import asktell, brpnas, defaults, logs, tables

ZERO_COST_MODES = ('none', 'warmup', 'simple', 'augment', 'simple+augment')
LOG, SUMMARY = 'log.txt', 'summary.json'
RUN_OUTPUTS = (SUMMARY, 'trace.txt', 'space_ranking.txt', 'search_curve.png')  # replaced by each run


def load_benchmark(config: ml_collections.ConfigDict):
  """(candidates dataset, searched values, reported values, description) from config.data."""
  dataset = dataset_lib.load_dataset(config.data.measurement, config.data.get('column') or None,
                                     space=config.get('space'))
  dataset = dataset.subset(dataset.valid)
  searched, reported, description = tables.search_and_report_values(dataset, config.data.search_on)
  return dataset, searched, reported, description


def prior_block(config) -> dict:
  """config.zero_cost's proxy fields, the bundled proxies filled in where measurement is ''."""
  block = {k: config.zero_cost.get(k, '') for k in priors.PROXY_FIELDS}
  block['measurement'] = block['measurement'] or defaults.bundled_proxies(config)
  return block


def _zero_cost(config, dataset: dataset_lib.Dataset):
  """(augments, warm-up, candidate mask) from config.zero_cost for the dataset's candidates."""
  candidates = dataset.keys
  zc = config.zero_cost
  if zc.mode not in ZERO_COST_MODES:
    raise ValueError(f'config.zero_cost.mode must be one of {ZERO_COST_MODES}, got {zc.mode!r}')
  if zc.mode == 'none':
    return None, None, np.ones(len(candidates), bool)
  block = prior_block(config)
  zc = ml_collections.ConfigDict({**zc.to_dict(), **block})
  scores = priors.prior_values(block, dataset.space, candidates)
  covered = ~np.isnan(scores)
  if not covered.any():
    raise ValueError(f'zero-cost file {zc.measurement} has no value for any candidate')
  if zc.mode == 'augment':  # every model needs its proxy value: search over the covered candidates
    return scores[:, None], None, covered
  if zc.mode == 'simple+augment':  # first picks by the proxy, which the predictor also reads
    return scores[:, None], (scores, None), covered
  if zc.mode == 'simple':
    return None, (np.where(covered, scores, -np.inf), None), np.ones(len(candidates), bool)
  model = initialization.create_model(config.model)
  params = initialization.fresh_params(model, dataset.space, config.seed)
  covered_proxy = dataset_lib.Dataset(candidates[covered], scores[covered], space=dataset.space)
  params = foresight.pretrain(model, params, covered_proxy, zc, config.seed)
  return None, (None, params), np.ones(len(candidates), bool)


def run(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Runs the configured search and writes its outputs under `workdir`; returns the summary. In 'ask_tell' mode
  this is one step: tell config.search.results (if set), write the models to train next (asktell.py)."""
  mode = config.search.get('mode', 'benchmark')
  if mode not in ('benchmark', 'ask_tell'):
    raise ValueError(f"config.search.mode must be 'benchmark' or 'ask_tell', got {mode!r}")
  with files.output_dir(workdir) as workdir:
    if mode == 'ask_tell':
      return asktell.AskTell(config, workdir).step(config.search.results or None, progress)
    return _run_into(config, workdir, progress)


def _run_into(config: ml_collections.ConfigDict, workdir: Path, progress: bool) -> dict:
  dataset, searched, reported, description = load_benchmark(config)
  keep = np.ones(len(dataset), bool)
  latency = config.latency
  if latency.limit:
    keep &= brpnas.latency_filter(dataset.space, dataset.keys, latency.checkpoint, latency.limit)
  augments, warmup, covered = _zero_cost(config, dataset)
  keep &= covered
  rows = np.nonzero(keep)[0]
  if len(rows) == 0:
    raise ValueError('no candidate model is left after the latency limit and zero-cost coverage')
  rank_space = config.search.get('rank_space', False)
  card = asktell.predictor_card(config, dataset.space.reference, None if augments is None else prior_block(config))
  evaluate = lambda vecs: searched[dataset.rows_of(vecs)]
  init = (brpnas.transfer_init(config, latency.checkpoint, 0 if augments is None else augments.shape[1])
          if latency.limit and latency.transfer else None)
  result = brpnas.run_search(config, dataset.keys[rows], evaluate, None if augments is None else augments[rows],
                             None if warmup is None else (None if warmup[0] is None else warmup[0][rows],
                                                          warmup[1]), init, progress)
  trace_rows = rows[np.asarray(result.trace)]
  summary = _summary(config, dataset, searched, reported, description, rows, result, trace_rows)
  if latency.limit and latency.measurement:
    summary['latency'] = _latency_report(latency, dataset, searched, rows[result.trained])
  for name in RUN_OUTPUTS:  # an earlier run's trace, ranking or plot must not outlive it beside this summary
    with contextlib.suppress(FileNotFoundError):
      (workdir / name).unlink()
  if rank_space:  # the whole enumerated space, best first by the final predictor
    ranked = brpnas.rank_space(config, result.params, card, progress)
    logs.write_trace(workdir / 'space_ranking.txt', dataset.space.hashable(ranked), dataset.space)
    summary['space_ranking'] = {'archs': int(len(ranked)), 'file': 'space_ranking.txt'}
  _write_outputs(workdir, config, dataset, searched, rows, result, trace_rows, summary)
  checkpoints.save(workdir, result.params, card)
  return summary


def _summary(config, dataset, searched, reported, description, rows, result, trace_rows) -> dict:
  trained = rows[result.trained]
  best = trained[int(np.argmax(searched[trained]))]
  global_best = rows[int(np.argmax(searched[rows]))]
  positions = tables.trace_positions(trace_rows, _restricted(searched, rows))
  return {
      'dataset': dataset.name, 'values': description, 'candidates': int(len(rows)),
      'models_trained': len(result.trained), 'seconds': result.seconds,
      'best_found': {'arch_str': dataset.arch_strs[best], 'searched_value': float(searched[best]),
                     'reported_value': float(reported[best]),
                     'rank_in_space': tables.rank_in_space(searched[rows], int(np.nonzero(rows == best)[0][0]))},
      'global_best': {'arch_str': dataset.arch_strs[global_best],
                      'searched_value': float(searched[global_best]), 'reported_value': float(reported[global_best])},
      'trace_position_global_best': positions['global_best'],
      'trace_position_first_top_0.1pct': positions['first_top'],
      'history': result.history, 'seed': config.seed, 'selection': config.search.selection}


def _restricted(searched, rows):
  full = np.full(len(searched), -np.inf)
  full[rows] = searched[rows]
  return full


def _latency_report(latency, dataset, searched, trained_rows) -> dict:
  """With true latencies: trained models over the limit (false positives) and the best that truly meets it,
  among the trained models the measurement holds (a measured sample of a large space holds only some)."""
  truth = dataset_lib.load_dataset(latency.measurement, space=dataset.space)
  report = {'limit': latency.limit, 'trained': int(len(trained_rows))}
  measured = truth.has(dataset.keys[trained_rows])
  trained_rows = trained_rows[measured]
  true_latency = truth.values[truth.rows_of(dataset.keys[trained_rows])]
  meets = true_latency <= latency.limit
  report.update(measured=int(measured.sum()), false_positives=int((~meets).sum()))
  if meets.any():
    best = np.nonzero(meets)[0][int(np.argmax(searched[trained_rows[meets]]))]
    report['best_meeting_limit'] = {'arch_str': dataset.arch_strs[trained_rows[best]],
                                    'searched_value': float(searched[trained_rows[best]]),
                                    'true_latency': float(true_latency[best])}
  return report


def _write_outputs(workdir, config, dataset, searched, rows, result, trace_rows, summary) -> None:
  keys = dataset.space.hashable(dataset.keys[rows])
  rank_position = np.empty(len(rows), np.int64)
  best_first = np.argsort(-result.scores, kind='stable')  # the trace's order
  rank_position[best_first] = np.arange(len(rows))[::-1]  # 0 = worst, as Eagle's log
  binary = 'a' in result.terms
  if binary:
    terms = result.terms
    correct, total = metrics.comparator_counts(terms['a'], terms['b'], float(terms['c']), searched[rows], config.seed)
    diagnostics = [f'{correct}/{total} predictions correct (sampled pairs)', f'0/{total} predictions skipped']
  else:
    diagnostics = [f'mean predicted score {float(np.mean(result.scores))!r}']
  run = logs.LogRun([(float(searched[r]), float(rank_position[k] if binary else result.scores[k]), keys[k])
                     for k, r in enumerate(rows)], [keys[k] for k in result.trained], diagnostics)
  summary['log'] = {'file': LOG, 'runs': logs.append_run(workdir / LOG, run),
                    'note': "log.txt keeps every run in this workdir (Eagle's multi-run log, separated by ===); "
                            'trace, ranking, plot and this summary are the last run only'}
  logs.write_trace(workdir / 'trace.txt', dataset.space.hashable(dataset.keys[trace_rows]), dataset.space)
  best_so_far = np.maximum.accumulate(searched[trace_rows[:len(result.trained)]])
  fig, ax = plots.new_figure()
  ax.plot(np.arange(1, len(best_so_far) + 1), best_so_far, label='BRP-NAS (best searched value so far)')
  ax.axhline(summary['global_best']['searched_value'], color='k', ls='--', lw=1, label='global best')
  ax.set(xlabel='models trained', ylabel=f'{dataset.name} ({dataset.units})', title='search curve')
  ax.legend()
  ax.grid(alpha=0.3)
  plots.save_figure(fig, workdir / 'search_curve.png')
  files.atomic_write_text(workdir / SUMMARY, json.dumps(summary, indent=2) + '\n')  # last: marks a finished run
