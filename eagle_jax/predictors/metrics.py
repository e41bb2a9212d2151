"""Predictor quality: rank correlations, truth- and Eagle-relative tolerance hits, pairwise accuracy, top-k
overlap, and the noise ceiling (the same figures for predicting each model by its duplicates' mean)."""
from typing import Dict, Optional

import numpy as np
from scipy import stats

TOLERANCES = (0.01, 0.05, 0.1, 0.2)
_MAX_PAIRS = 200_000


def _name(x: float) -> str:
  return f'{int(round(x * 100))}pct'


def within(pred, true, tolerance: float) -> float:
  """Share of models with |pred - true| / |true| <= tolerance."""
  pred, true = np.asarray(pred), np.asarray(true)
  return float(np.mean(np.abs(pred - true) <= tolerance * np.abs(true)))


def eagle_within(pred, true, tolerance: float) -> float:
  """Eagle's convention: true within [(1 - x) pred, (1 + x) pred] (relative to the prediction)."""
  pred, true = np.asarray(pred), np.asarray(true)
  return float(np.mean((true >= (1 - tolerance) * pred) & (true <= (1 + tolerance) * pred)))


def sample_pairs(n: int, seed: int = 0, max_pairs: int = _MAX_PAIRS):
  """All ordered pairs i != j of n items, or a seeded sample of `max_pairs` of them."""
  if n * (n - 1) <= max_pairs:
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    return i, j
  rng = np.random.default_rng(seed)
  i = rng.integers(0, n, max_pairs)
  j = (i + rng.integers(1, n, max_pairs)) % n
  return i, j


def pairwise_accuracy(score, true, seed: int = 0) -> float:
  """Share of pairs (with different true values) that `score` orders as the truth does."""
  score, true = np.asarray(score), np.asarray(true)
  i, j = sample_pairs(len(true), seed)
  differ = true[i] != true[j]
  return float(np.mean((score[i] > score[j])[differ] == (true[i] > true[j])[differ]))


def top_k_overlap(score, true, k: int) -> float:
  """|top-k by score  &  top-k by truth| / k (top = largest)."""
  k = min(k, len(true))
  top_pred = set(np.argsort(-np.asarray(score), kind='stable')[:k].tolist())
  top_true = set(np.argsort(-np.asarray(true), kind='stable')[:k].tolist())
  return len(top_pred & top_true) / k


def ranking_metrics(score, true) -> Dict[str, float]:
  """Rank agreement of any score (higher = larger target) with the truth."""
  score, true = np.asarray(score, np.float64), np.asarray(true, np.float64)
  return {'spearman': float(stats.spearmanr(score, true).statistic),
          'kendall_tau': float(stats.kendalltau(score, true).statistic),
          'pairwise_accuracy': pairwise_accuracy(score, true),
          'top_10_overlap': top_k_overlap(score, true, 10),
          'top_1pct_overlap': top_k_overlap(score, true, max(1, len(true) // 100))}


def regression_metrics(pred, true) -> Dict[str, float]:
  """Ranking metrics plus truth-relative (within_x) and Eagle-relative (eagle_within_x) tolerance hits."""
  out = ranking_metrics(pred, true)
  for tolerance in TOLERANCES:
    out[f'within_{_name(tolerance)}'] = within(pred, true, tolerance)
  for tolerance in TOLERANCES:
    out[f'eagle_within_{_name(tolerance)}'] = eagle_within(pred, true, tolerance)
  return out


def duplicate_mean(groups: np.ndarray, values: np.ndarray, rows: np.ndarray) -> tuple:
  """For each of `rows`, the mean value of the *other* archs in its group; (means, mask of rows that have any)."""
  sums = np.bincount(groups, weights=values)
  counts = np.bincount(groups)
  g = groups[rows]
  others = counts[g] - 1
  with np.errstate(invalid='ignore', divide='ignore'):
    means = (sums[g] - values[rows]) / others
  return means, others > 0


def noise_ceiling(groups: np.ndarray, values: np.ndarray, test_rows: np.ndarray,
                  unary: bool = True) -> Optional[Dict[str, float]]:
  """Metrics of predicting each test model by the mean of its duplicates (identical encodings elsewhere in the
  dataset): how close a predictor gets to what measurement noise allows. None if no test model has a duplicate."""
  means, has = duplicate_mean(groups, values, test_rows)
  if not has.any():
    return None
  truth = values[test_rows][has]
  out = regression_metrics(means[has], truth) if unary else ranking_metrics(means[has], truth)
  out['n_models'] = int(has.sum())
  return out


def comparator_counts(a, b, c, true, seed: int = 0) -> tuple:
  """(correct, total) comparisons d(i, j) = a_i + b_j + c > 0 against true_i > true_j over (sampled) ordered
  pairs; as in Eagle's log, a tie in the truth counts as correct when the first is predicted worse."""
  a, b, true = np.asarray(a), np.asarray(b), np.asarray(true)
  i, j = sample_pairs(len(true), seed)
  correct = int(np.sum((a[i] + b[j] + c > 0) == (true[i] > true[j])))
  return correct, len(i)
