"""The search binary's work: BRP-NAS on a benchmark table, with optional latency limit and zero-cost warm-up
or augmentation; writes log.txt (Eagle's format), trace.txt, summary.json and a curve plot."""
import contextlib
import json
from pathlib import Path

import ml_collections
import numpy as np

from eagle_jax import files
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import checkpoints, metrics, plots
from eagle_jax.search import asktell, candidates, engine, logs, parts, tables

LOG, SUMMARY = 'log.txt', 'summary.json'
RUN_OUTPUTS = (SUMMARY, 'trace.txt', 'space_ranking.txt', 'search_curve.png')  # replaced by each run


def load_benchmark(config: ml_collections.ConfigDict):
  """(candidates dataset, searched values, reported values, description) from config.data."""
  dataset = parts.table_of(config)
  searched, reported, description = tables.search_and_report_values(dataset, config.data.search_on)
  dataset_lib.require_spread(searched[np.isfinite(searched)], f'{dataset.name} ({description})')
  return dataset, searched, reported, description


def run(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Runs the configured search and writes its outputs under `workdir`; returns the summary. In 'ask_tell' mode
  this is one step: tell config.search.results (if set), write the models to train next (asktell.py)."""
  mode = parts.check_config(config)
  with files.output_dir(workdir, 'search') as workdir:
    if mode == 'ask_tell':
      return asktell.AskTell(config, workdir).step(config.search.results or None, progress)
    return _run_into(config, workdir, progress)


def _run_into(config: ml_collections.ConfigDict, workdir: Path, progress: bool) -> dict:
  dataset, searched, reported, description = load_benchmark(config)
  table = candidates.TableCandidates(dataset.space, dataset.keys)
  eligible = parts.eligible(config, table)
  search = parts.build(config, table, eligible_mask=eligible)
  result = engine.run(search, lambda rows: searched[rows], progress)
  rows = np.nonzero(eligible)[0]
  trace_rows = np.array([r for r in result.trace if eligible[r]], np.int64)
  summary = _summary(config, dataset, searched, reported, description, rows, result, trace_rows)
  latency = config.latency
  if latency.limit and latency.measurement:
    summary['latency'] = _latency_report(latency, dataset, searched, np.asarray(result.trained))
  for name in RUN_OUTPUTS:  # an earlier run's trace, ranking or plot must not outlive it beside this summary
    with contextlib.suppress(FileNotFoundError):
      (workdir / name).unlink()
  predictor = search.learner.predictor
  if config.search.get('rank_space', False):  # the whole enumerated space, best first by the final predictor
    keys = dataset.space.enumerate()
    keys = keys[dataset.space.is_valid(keys)]
    ranked = keys[np.argsort(-predictor.predict(keys, progress), kind='stable')]
    logs.write_trace(workdir / 'space_ranking.txt', dataset.space.hashable(ranked), dataset.space)
    summary['space_ranking'] = {'archs': int(len(ranked)), 'file': 'space_ranking.txt'}
  terms = table.terms(predictor.apply, predictor.params, predictor.card)
  terms = {k: v[rows] if np.ndim(v) else v for k, v in terms.items()}
  _write_outputs(workdir, config, dataset, searched, rows, result, terms, trace_rows, summary)
  checkpoints.save(workdir, predictor.params, predictor.card)
  return summary


def _summary(config, dataset, searched, reported, description, rows, result, trace_rows) -> dict:
  trained = np.asarray(result.trained)
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


def _write_outputs(workdir, config, dataset, searched, rows, result, terms, trace_rows, summary) -> None:
  keys = dataset.space.hashable(dataset.keys[rows])
  scores = result.scores[rows]
  rank_position = np.empty(len(rows), np.int64)
  best_first = np.argsort(-scores, kind='stable')  # the trace's order
  rank_position[best_first] = np.arange(len(rows))[::-1]  # 0 = worst, as Eagle's log
  binary = 'a' in terms
  if binary:
    correct, total = metrics.comparator_counts(terms['a'], terms['b'], float(terms['c']), searched[rows], config.seed)
    diagnostics = [f'{correct}/{total} predictions correct (sampled pairs)', f'0/{total} predictions skipped']
  else:
    diagnostics = [f'mean predicted score {float(np.mean(scores))!r}']
  position = {r: k for k, r in enumerate(rows.tolist())}
  run = logs.LogRun([(float(searched[r]), float(rank_position[k] if binary else scores[k]), keys[k])
                     for k, r in enumerate(rows)], [keys[position[r]] for r in result.trained], diagnostics)
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
