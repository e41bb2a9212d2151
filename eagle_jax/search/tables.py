"""Benchmark tables as a search sees them: the values searched on and reported, and how a search did (rank of a
model among the candidates, trace positions of the best)."""
from typing import Dict

import numpy as np

from eagle_jax.data import dataset as dataset_lib


def search_and_report_values(dataset: dataset_lib.Dataset, search_on) -> tuple:
  """(values searched on, values reported, description). Searching on one seed reports the mean of the others;
  searching on the mean reports the mean (the same data: said in the description)."""
  if dataset.seed_values is None:
    return dataset.values, dataset.values, 'searched and reported on the same values (no per-seed values)'
  if search_on == 'mean':
    return dataset.values, dataset.values, 'searched and reported on the mean over training seeds'
  seed = int(search_on)
  if seed not in dataset.seeds:
    raise ValueError(f'{dataset.name}: no training seed {seed}; seeds are {dataset.seeds}')
  column = dataset.seeds.index(seed)
  searched = dataset.seed_values[:, column]
  others = np.delete(dataset.seed_values, column, axis=1)
  reported = np.where(np.all(np.isnan(others), axis=1), searched, np.nanmean(others, axis=1))
  searched = np.where(np.isnan(searched), np.nanmean(dataset.seed_values, axis=1), searched)
  others_named = [s for s in dataset.seeds if s != seed]
  return searched, reported, f'searched on seed {seed}, reported as the mean of seeds {others_named}'


def trace_positions(trace: np.ndarray, searched: np.ndarray, top_fraction: float = 0.001) -> Dict[str, int]:
  """1-based trace position of the global best (by the searched values) and of the first top-`fraction` model."""
  order = np.argsort(-searched, kind='stable')
  top = set(order[:max(1, int(round(top_fraction * len(searched))))].tolist())
  position = {int(r): k + 1 for k, r in enumerate(np.asarray(trace).tolist())}
  return {'global_best': position.get(int(order[0]), len(trace) + 1),
          'first_top': min(position.get(r, len(trace) + 1) for r in top)}


def rank_in_space(searched: np.ndarray, row: int) -> int:
  """1 = best of the candidates by the searched values."""
  return int(np.sum(searched > searched[row])) + 1
