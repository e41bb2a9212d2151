"""NAS replay: search curves from traces against a benchmark table, and the baselines (random search,
regularised evolution, iterative ridge, score orders such as FLOPs or a zero-cost proxy) run in the same tool."""
from typing import Dict

import ml_collections
import numpy as np

from eagle_jax.search import candidates, engine, learners, parts

# BRP-NAS variants replayed against the default: overrides of a search config (flattened keys).
VARIANTS = {
    'default': {},
    'full_prior': {'search.prior_exploit': 1.0},  # the first iteration wholly the prior's best
    'no_priors': {'zero_cost.mode': 'none'},
    'no_priors_spread': {'zero_cost.mode': 'none', 'search.target_spread': True, 'search.target_scale': 3.0},
    'warmup': {'zero_cost.mode': 'warmup'},
    'simple': {'zero_cost.mode': 'simple'},
    'augment': {'zero_cost.mode': 'augment'},
    'simple_augment': {'zero_cost.mode': 'simple+augment'},
    'warmup_spread': {'zero_cost.mode': 'warmup', 'search.target_spread': True, 'search.target_scale': 3.0},
    'simple_spread': {'zero_cost.mode': 'simple', 'search.target_spread': True, 'search.target_scale': 3.0},
    'ensemble': {'model.ensemble': 3},  # a comparator ensemble ranked by its mean
    'thompson': {'model.ensemble': 3, 'search.acquisition': 'thompson'},  # each ask ranked by one member drawn
    'params_prior': {'zero_cost.measurement': 'costs', 'zero_cost.column': 'params'},  # NB101/DARTS's prior
}


def curves(trace: np.ndarray, searched: np.ndarray, reported: np.ndarray, budget: int) -> Dict[str, np.ndarray]:
  """Over the first x = 1..budget models of a trace: `oracle` = the best reported value seen (how the original
  plotted it) and `selected` = the reported value of the model with the best searched value so far."""
  trace = np.asarray(trace[:budget])
  oracle = np.maximum.accumulate(reported[trace])
  best_rows = trace[np.array([np.argmax(searched[trace[:x + 1]]) for x in range(len(trace))])]
  return {'oracle': oracle, 'selected': reported[best_rows]}


def brp_trace(config: ml_collections.ConfigDict, space, keys: np.ndarray, searched: np.ndarray) -> np.ndarray:
  """The trace of the BRP-NAS search `config` over a benchmark table (its searched values stand for training);
  refused when the zero-cost prior does not cover every candidate."""
  table = candidates.TableCandidates(space, keys)
  eligible = parts.eligible(config, table)
  if not eligible.all():
    raise ValueError(f'the zero-cost prior covers {eligible.sum()} of {len(eligible)} candidates')
  search = parts.build(config, table, eligible_mask=eligible)
  return np.asarray(engine.run(search, lambda rows: searched[rows], progress=False).trace, np.int64)


def random_trace(num_candidates: int, seed: int) -> np.ndarray:
  return np.random.default_rng(seed).permutation(num_candidates)


def score_trace(scores: np.ndarray, seed: int) -> np.ndarray:
  """Candidates by a score, highest first, ties in random order; candidates without one (NaN) follow in random
  order."""
  scores = np.asarray(scores, np.float64)
  tie_break = np.random.default_rng(seed).random(len(scores))
  known = ~np.isnan(scores)
  order = np.lexsort((tie_break, np.where(known, -scores, np.inf)))
  return order.astype(np.int64)


def regularized_evolution(space, keys: np.ndarray, searched: np.ndarray, budget: int, seed: int,
                          population: int = 20, sample_size: int = 5) -> np.ndarray:
  """Real et al.'s aging evolution over the candidates: tournament of `sample_size`, mutate (the space's
  `mutate`: one edge or op) to a candidate not yet evaluated, drop the oldest. Returns the evaluated rows in order
  (the trace). Over a small subset of a large space (NB101 benchmark subsets) most mutants fall outside it and
  the search restarts from random unseen candidates."""
  rng = np.random.default_rng(seed)
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


def ridge_search(space, keys: np.ndarray, searched: np.ndarray, budget: int, iterations: int, seed: int,
                 selection_mode: str = 'sample_best2') -> np.ndarray:
  """Iterative ridge regression on one-hot ops and op pairs on the BRP-NAS engine (its selection schedule, a
  cheap learner in place of the GCN). Returns the trace: trained rows in order, then the rest by final
  prediction."""
  config = ml_collections.ConfigDict({'seed': seed, 'search': {'budget': budget, 'iterations': iterations,
                                                               'selection': selection_mode}})
  search = engine.Engine(config, candidates.TableCandidates(space, keys), learners.RidgeLearner(space))
  return np.array(engine.run(search, lambda rows: searched[rows], progress=False).trace, np.int64)
