"""Does an NB-ASR network's latency on this CPU hold anything beyond its MACs? Checks behind the latency table in
experiments/README.md, on the bundled cpu/epyc-litert-fp32-1thread-nbasr (and its -repeat):

1. how much of the FLOPs power law's residual is reproducible (its correlation between two measurements);
2. ridge fits of log latency on log MACs, with and without the one-hot features (split seeds 0-3);
3. a GCN trained on the residual of the FLOPs fit (NB-ASR latency recipe), added back to it (split seed 0);
4. with --two_thread_runs=A,B (two measure workdirs of the same networks at --config.runner.threads=2, not
   bundled): the 2-thread speed-up, the FLOPs fit's residual and how much of it the second run reproduces.

python experiments/validations/nasbench_asr_latency_checks.py [--two_thread_runs=runs/asr_2thread,runs/asr_2thread_again]
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # configs/

from configs.predictors import lat_gcn_nasbench_asr  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax import data  # pylint: disable=wrong-import-position
from eagle_jax.data import tools  # pylint: disable=wrong-import-position
from eagle_jax.predictors import experiment, inference, splitting  # pylint: disable=wrong-import-position

LATENCY = 'cpu/epyc-litert-fp32-1thread-nbasr'
_TWO_THREAD = flags.DEFINE_list('two_thread_runs', [], 'Two measure workdirs of the same networks at 2 threads.')


def _scores(predicted, measured) -> tuple:
  within = float(np.mean(np.abs(predicted / measured - 1) < 0.1))
  return round(within, 3), round(float(stats.spearmanr(predicted, measured)[0]), 3)


def _ridge(x, y, train, ridge):
  x = np.column_stack([np.ones(len(x)), x])
  return x @ np.linalg.solve(x[train].T @ x[train] + ridge * np.eye(x.shape[1]), x[train].T @ y[train])


def main(argv):
  del argv
  dataset, repeat = data.load_dataset(LATENCY), data.load_dataset(f'{LATENCY}-repeat')
  space = dataset.space
  log_macs, log_latency = np.log(space.flops(dataset.keys)), np.log(dataset.values)
  fit = np.polyfit(log_macs, log_latency, 1)
  residual = log_latency - np.polyval(fit, log_macs)
  rows = dataset.rows_of(repeat.keys)
  again = np.log(repeat.values) - np.polyval(fit, log_macs[rows])
  print(f'FLOPs-fit residual: median |r| {100 * np.median(np.abs(residual)):.2f}%; correlation between the two '
        f'measurements {np.corrcoef(residual[rows], again)[0, 1]:.2f}')
  one_hot = space.linear_features(dataset.keys).astype(float)
  for seed in range(4):
    splits = splitting.split_rows(len(dataset), 0.7, 0.1, seed)
    fitted = np.concatenate([splits.train, splits.valid])
    macs = _ridge(log_macs[:, None], log_latency, fitted, 1e-3)
    both = _ridge(np.column_stack([log_macs, one_hot]), log_latency, fitted, 1.0)
    print(f'split {seed}: log MACs {_scores(np.exp(macs[splits.test]), dataset.values[splits.test])}, '
          f'+ one-hot {_scores(np.exp(both[splits.test]), dataset.values[splits.test])} (within_10pct, Spearman)')
  splits = splitting.split_rows(len(dataset), 0.7, 0.1, 0)
  base = np.polyval(np.polyfit(log_macs[splits.train], log_latency[splits.train], 1), log_macs)
  with tempfile.TemporaryDirectory() as scratch:
    path = Path(scratch) / 'residual.pickle'
    data.save_measurements(dict(zip(dataset.keys.tolist(), np.exp(log_latency - base).tolist())), path,
                           space=space.name)
    config = lat_gcn_nasbench_asr.get_config()
    config.update(seed=0, space_predictions=False)
    config.data.update(measurement=str(path), cost_features=())
    experiment.train_and_evaluate(config, Path(scratch) / 'gcn')
    ratio = inference.load(Path(scratch) / 'gcn', space.name).predict(dataset.keys[splits.test])
  test = dataset.values[splits.test]
  print(f'split 0: FLOPs fit {_scores(np.exp(base[splits.test]), test)}, FLOPs fit x residual GCN '
        f'{_scores(np.exp(base[splits.test]) * ratio, test)}')
  if _TWO_THREAD.value:
    _two_threads(dataset, *_TWO_THREAD.value)


def _two_threads(one_thread, first: str, second: str) -> None:
  """The 2-thread runs against each other, the FLOPs fit and the 1-thread data, on the networks both timed."""
  space = one_thread.space
  runs = [tools.stats(tools.combine(tools.shard_paths(Path(w) / 'results'), space.name))[0] for w in (first, second)]
  common = [k for k in runs[0] if k in runs[1]]
  a, b = (np.array([run[k] for k in common]) for run in runs)
  keys = space.as_keys(common)
  log_macs = np.log(space.flops(keys))
  fit = np.polyfit(log_macs, np.log(a), 1)
  residual_a, residual_b = (np.log(t) - np.polyval(fit, log_macs) for t in (a, b))
  speed_up = one_thread.values[one_thread.rows_of(keys)] / a
  print(f'2 threads, {len(keys)} networks: median {1000 * np.median(a):.1f} ms, speed-up over 1 thread '
        f'{speed_up.min():.2f}-{speed_up.max():.2f} (median {np.median(speed_up):.2f}); the two runs differ by '
        f'{100 * np.median(np.abs(b / a - 1)):.1f}% (median), Spearman {stats.spearmanr(a, b)[0]:.3f}; FLOPs-fit '
        f'residual median |r| {100 * np.median(np.abs(residual_a)):.1f}%, its correlation between the runs '
        f'{np.corrcoef(residual_a, residual_b)[0, 1]:.2f}; Spearman FLOPs vs latency '
        f'{stats.spearmanr(log_macs, a)[0]:.3f}')


if __name__ == '__main__':
  app.run(main)
