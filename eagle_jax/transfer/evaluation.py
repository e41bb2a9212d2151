"""Scoring an adaptation on a device whose whole latency table is known: only the K chosen models are read."""
import numpy as np

from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import metrics
from eagle_jax.transfer import adaptation, pretraining


def limit_filter_errors(pred: np.ndarray, true: np.ndarray, limit: float) -> dict:
  """How a latency limit applied to predictions treats the models: the share of those it lets through that are
  truly over the limit (false positives, what the limited search then trains in vain) and the share of truly
  fast-enough models it keeps."""
  passed, fast = pred <= limit, true <= limit
  return {'limit': float(limit), 'false_positive_rate': float(np.mean(~fast[passed])) if passed.any() else 0.0,
          'kept_fast_enough': float(np.mean(passed[fast])) if fast.any() else 1.0}


def evaluate(pretrained: pretraining.Pretrained, dataset: dataset_lib.Dataset, samples: int, method: str,
             choice: str, seed: int, options, max_scored: int = 0) -> tuple:
  """Chooses `samples` models of `dataset`, adapts `method` to their latencies, and scores the prediction of
  every other model: (metrics (Spearman, within_10pct and friends, the latency limit's errors), their rows,
  their predicted seconds). `max_scored` scores a seeded sample of that many of the other models instead."""
  rows = adaptation.choose(pretrained, dataset.keys, samples, choice, seed, options.prior_floor,
                           options.pool_fraction)
  predictor = adaptation.adapt(method, pretrained, dataset.keys[rows], dataset.values[rows], options.prior_floor,
                               options.finetune_steps, options.finetune_lr)
  rest = np.setdiff1d(np.arange(len(dataset)), rows)
  if max_scored and len(rest) > max_scored:
    rest = np.sort(np.random.default_rng(seed).choice(rest, max_scored, replace=False))
  pred, true = predictor.predict(dataset.keys[rest]), dataset.values[rest]
  out = metrics.regression_metrics(pred, true)
  out.update(limit_filter_errors(pred, true, float(np.quantile(dataset.values, options.limit_quantile))))
  out.update(samples=samples, method=method, choice=choice, seed=seed, scored=int(len(rest)))
  return out, rest, pred
