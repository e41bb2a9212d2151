"""Runs BRP-NAS on a benchmark table (by default the bundled NB201 CIFAR-100 accuracies, no download), or one
ask/tell step of a search whose models you train yourself (config.search.mode='ask_tell', e.g. brp_darts.py).

python -m eagle_jax.search --config=configs/search/brp_nasbench201.py --workdir=DIR [--config.key=value ...]
python -m eagle_jax.search --config=configs/search/brp_darts.py --workdir=DIR [--config.search.results=FILE]
"""
from absl import app, flags
from ml_collections import config_flags

from eagle_jax import cli
from eagle_jax.search import job

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where log.txt, trace.txt, summary.json and plots are written.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Search config file.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  summary = job.run(_CONFIG.value, _WORKDIR.value)
  if _CONFIG.value.search.get('mode') == 'ask_tell':
    state = ('finished' if summary['finished']
             else f"train the {summary['to_train']} models in {_WORKDIR.value}/to_train.txt")
    print(f"ask/tell: {summary['told']} of {summary['budget']} models told ({summary['new_results']} new); {state}; "
          f"best told: {summary['best_told']}")
    return
  best, top = summary['best_found'], summary['global_best']
  print(f"models trained: {summary['models_trained']} of {summary['candidates']} candidates "
        f"({summary['seconds']:.0f} s; {summary['values']})")
  print(f"best found:  {best['arch_str']}  {best['searched_value']:.2f} (reported {best['reported_value']:.2f}), "
        f"rank {best['rank_in_space']} of {summary['candidates']}")
  print(f"global best: {top['arch_str']}  {top['searched_value']:.2f} (reported {top['reported_value']:.2f}); "
        f"trace position {summary['trace_position_global_best']}")
  if 'latency' in summary:
    print(f"latency limit {summary['latency']['limit']}: {summary['latency']['false_positives']} of "
          f"{summary['latency']['trained']} trained models truly over it; best meeting it: "
          f"{summary['latency'].get('best_meeting_limit')}")
  print(f'outputs: {_WORKDIR.value}/(log.txt, trace.txt, summary.json, search_curve.png)')


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  cli.run(main)
