"""NAS replay: search curves from traces against a benchmark table with per-seed accuracies, and the baselines
(random search, regularised evolution, FLOPs order, zero-cost proxy order) run in the same tool."""
from typing import Dict, Optional

import numpy as np

from eagle_jax import spaces
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.search import selection


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


def curves(trace: np.ndarray, searched: np.ndarray, reported: np.ndarray, budget: int) -> Dict[str, np.ndarray]:
  """Over the first x = 1..budget models of a trace: `oracle` = the best reported value seen (how the original
  plotted it) and `selected` = the reported value of the model with the best searched value so far."""
  trace = np.asarray(trace[:budget])
  oracle = np.maximum.accumulate(reported[trace])
  best_rows = trace[np.array([np.argmax(searched[trace[:x + 1]]) for x in range(len(trace))])]
  return {'oracle': oracle, 'selected': reported[best_rows]}


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


def random_trace(num_candidates: int, seed: int) -> np.ndarray:
  return np.random.default_rng(seed).permutation(num_candidates)


def score_trace(scores: np.ndarray, seed: int) -> np.ndarray:
  """Candidates by a score, highest first; candidates without one (NaN) follow in random order."""
  known = np.nonzero(~np.isnan(scores))[0]
  unknown = np.nonzero(np.isnan(scores))[0]
  ordered = known[np.argsort(-scores[known], kind='stable')]
  return np.concatenate([ordered, np.random.default_rng(seed).permutation(unknown)]).astype(np.int64)


def regularized_evolution(keys: np.ndarray, searched: np.ndarray, budget: int, seed: int, population: int = 20,
                          sample_size: int = 5, space: str = 'nasbench201') -> np.ndarray:
  """Real et al.'s aging evolution over the candidates: tournament of `sample_size`, mutate (the space's
  `mutate`: one edge or op) to a candidate not yet evaluated, drop the oldest. Returns the evaluated rows in order
  (the trace). Over a small subset of a large space (NB101 benchmark subsets) most mutants fall outside it and
  the search restarts from random unseen candidates."""
  rng = np.random.default_rng(seed)
  space = spaces.get(space)
  hashable = space.hashable(keys)
  lookup = {k: r for r, k in enumerate(hashable)}
  budget = min(budget, len(keys))
  history = rng.choice(len(keys), min(population, budget), replace=False).tolist()
  alive = list(history)
  seen = set(history)
  while len(history) < budget:
    tournament = rng.choice(len(alive), min(sample_size, len(alive)), replace=False)
    parent = hashable[alive[max(tournament, key=lambda k: searched[alive[k]])]]
    child = None
    for _ in range(100):
      row = lookup.get(space.mutate(parent, rng))
      if row is not None and row not in seen:
        child = row
        break
    if child is None:  # every neighbour seen: restart from a random unseen candidate
      child = int(rng.choice([r for r in range(len(keys)) if r not in seen]))
    history.append(child)
    seen.add(child)
    alive = alive[1:] + [child]
  return np.asarray(history, np.int64)


def proxy_scores(candidates: np.ndarray, proxy: Optional[dataset_lib.Dataset]) -> np.ndarray:
  """The proxy value of each candidate (a key array of the proxy's space; NaN where the proxy has none)."""
  if proxy is None:
    return np.full(len(candidates), np.nan)
  lookup = proxy.as_dict()
  return np.array([lookup.get(key, np.nan) for key in proxy.space.hashable(candidates)], np.float64)


def ridge_search(keys: np.ndarray, searched: np.ndarray, budget: int, iterations: int, seed: int,
                 selection_mode: str = 'sample_best2', space: str = 'nasbench201') -> np.ndarray:
  """Iterative ridge regression on one-hot ops and op pairs with BRP-NAS's selection schedule (a cheap
  predictor baseline). Returns the trace: trained rows in order, then the rest by final prediction."""
  rng = np.random.default_rng(seed)
  selector = selection.Selector(selection_mode, len(keys), rng)
  per_iteration = budget // iterations
  features = spaces.get(space).linear_features(keys)
  trained = selector.initial(per_iteration)
  scores = None
  for iteration in range(iterations):
    if iteration:
      count = budget - len(trained) if iteration == iterations - 1 else per_iteration
      trained += selector.next(scores, trained, count, iteration)
    x, y = features[trained], searched[trained]
    coefficients = np.linalg.solve(x.T @ x + 1e-1 * np.eye(x.shape[1]), x.T @ y)
    scores = features @ coefficients
  return np.array(selection.trained_then_ranked(trained, scores), np.int64)
