"""BRP-NAS: predictor-driven NAS with iterative data selection (reference 6.1-6.3).

A search trains (looks up, or calls) `budget` models over `iterations`: a random start (or zero-cost picks), then
each iteration the predicted best plus random picks from the predicted top; the predictor is warm-started
between iterations with Eagle's growing epochs/batch schedule. Candidates can be limited to those a trained
latency predictor puts within a latency limit.
"""
import dataclasses
import time
from typing import Callable, List, Optional

import ml_collections
import numpy as np
from tqdm import auto as tqdm

from eagle_jax import spaces
from eagle_jax.predictors import batches, inference, initialization, models, training
from eagle_jax.search import selection

Evaluate = Callable[[np.ndarray], np.ndarray]


@dataclasses.dataclass
class SearchResult:
  candidates: np.ndarray          # key array of the candidates searched over
  trained: List[int]              # candidate rows in the order they were trained
  values: np.ndarray              # value of each trained model (same order)
  scores: np.ndarray              # final predicted score of every candidate (higher = better)
  terms: dict                     # final head terms (binary: a, b, c) for the log's comparisons
  params: dict
  history: List[dict]
  seconds: float

  @property
  def trace(self) -> List[int]:
    """Trained rows in order, then every other candidate by predicted score, best first."""
    return selection.trained_then_ranked(self.trained, self.scores)


def latency_filter(space, candidates: np.ndarray, checkpoint: str, limit: float) -> np.ndarray:
  """Mask of candidates that a unary latency predictor (trained on `space`) puts at or under `limit`."""
  if not checkpoint:
    raise ValueError('a latency limit needs config.latency.checkpoint: a unary latency predictor workdir '
                     '(python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench201.py ...)')
  predictor = inference.load(checkpoint, space)
  if predictor.binary:
    raise ValueError(f'{checkpoint} is a binary predictor; a latency limit needs a unary latency predictor')
  predicted = predictor.predict(candidates)
  if not (predicted <= limit).any():
    raise ValueError(f'config.latency.limit={limit} s keeps no candidate: the latency predictor in {checkpoint} '
                     f'puts them between {predicted.min():.4g} and {predicted.max():.4g} s')
  return predicted <= limit


def comparator_targets(values, search: ml_collections.ConfigDict) -> np.ndarray:
  """The comparator's targets for trained values: values x search.target_scale, divided first by the values'
  spread (interquartile range / 1.349: a normal's standard deviation) when search.target_spread, so that
  target_scale counts spreads whatever the benchmark's units or range."""
  values = np.asarray(values, np.float64)
  if not search.get('target_spread', False):
    return values * search.target_scale
  q25, q75 = np.percentile(values, [25, 75])
  spread = (q75 - q25) / 1.349 or np.std(values) or 1.0
  return (values - np.median(values)) / spread * search.target_scale


def iteration_training(base: ml_collections.ConfigDict, iteration: int, iterations: int):
  config = ml_collections.ConfigDict(base.to_dict())
  config.epochs = max(1, (iteration + 1) * base.epochs // iterations)
  config.batch_size = max(2, (iteration + 1) * base.batch_size // iterations)
  config.warmup_epochs = base.get('warmup_epochs', 0) if iteration == 0 else 0
  return config


def run_search(config: ml_collections.ConfigDict, candidates: np.ndarray, evaluate: Evaluate,
               augments: Optional[np.ndarray] = None, warmup: Optional[tuple] = None, init_params=None,
               progress: bool = True) -> SearchResult:
  """BRP-NAS over `candidates` (a key array of config.space) with `evaluate(keys) -> values` standing for
  training (higher = better).

  The comparator's targets are `comparator_targets(values, config.search)`.

  `warmup` = (proxy_scores or None, pretrained params or None): zero-cost warm-up; the first iteration then
  picks by the proxy (or the pre-trained predictor) instead of at random, its best `search.prior_exploit` share
  straight from the top (default half, as every later iteration).
  """
  search = config.search
  budget, iterations = search.budget, search.iterations
  if budget < 2:
    raise ValueError(f'config.search.budget={budget}: a search needs at least 2 models to train')
  if budget > len(candidates):
    raise ValueError(f'config.search.budget={budget} exceeds the {len(candidates)} candidate models')
  prior_exploit = search.get('prior_exploit', 0.5)
  if not 0 <= prior_exploit <= 1:
    raise ValueError(f'config.search.prior_exploit={prior_exploit} must be a share between 0 and 1')
  if iterations < 1 or budget < 2 * iterations:
    raise ValueError(f'config.search.iterations={iterations} must be >= 1 and at most budget/2 = {budget // 2} '
                     f'(at least 2 models per iteration; config.search.budget={budget})')
  per_iteration = budget // iterations
  rng = np.random.default_rng(config.seed)
  space = spaces.get(config.space)
  model = initialization.create_model(config.model)
  params = init_params if init_params is not None else initialization.fresh_params(
      model, space, config.seed, num_augments=0 if augments is None else augments.shape[1])
  scorer = inference.EncodedSet(space, candidates, augments)
  apply = batches.make_apply(model)
  selector = selection.Selector(search.selection, len(candidates), rng)
  trained, values, history = [], [], []
  start = time.perf_counter()
  bar = tqdm.trange(iterations, desc='BRP-NAS iterations', disable=not progress)
  for iteration in bar:
    count = budget - len(trained) if iteration == iterations - 1 else per_iteration
    if iteration == 0 and warmup is None:
      new = selector.initial(count)
    else:
      if iteration == 0:
        proxy_scores, pretrained = warmup
        if pretrained is not None:
          params = pretrained
        scores = proxy_scores if proxy_scores is not None else models.ranking_score(scorer.terms(apply, params))
        exploit = round(prior_exploit * count)
      else:
        scores, exploit = models.ranking_score(scorer.terms(apply, params)), None
      new = selector.next(scores, trained, count, iteration, exploit)
    trained += new
    values += evaluate(candidates[new]).tolist()
    targets = np.zeros(len(candidates))
    targets[trained] = comparator_targets(values, search)
    arrays = scorer.arrays_of(trained, targets[trained])
    fitted = training.fit(model, params, arrays, None, iteration_training(config.training, iteration, iterations),
                          seed=config.seed + iteration, progress=False)
    params = fitted.params
    history.append({'iteration': iteration, 'trained': len(trained), 'best_value': float(np.max(values)),
                    'epochs_run': fitted.epochs_run, 'seconds': time.perf_counter() - start})
    bar.set_postfix(trained=len(trained), best=f'{np.max(values):.3f}')
  terms = scorer.terms(apply, params)
  return SearchResult(candidates, trained, np.asarray(values), np.asarray(models.ranking_score(terms), np.float64),
                      terms, params, history, time.perf_counter() - start)


def rank_space(config: ml_collections.ConfigDict, params, card: dict, progress: bool = True) -> np.ndarray:
  """Every valid arch of config.space (finite spaces), best first by a search's final predictor `params` (with
  the augments its `card` names)."""
  space = spaces.get(config.space)
  keys = space.enumerate()
  keys = keys[space.is_valid(keys)]
  apply = batches.make_apply(initialization.create_model(config.model))
  augments = batches.card_augments(space, keys, card)
  scores = models.ranking_score(inference.EncodedSet(space, keys, augments).terms(apply, params, progress))
  return keys[np.argsort(-scores, kind='stable')]


def transfer_init(config: ml_collections.ConfigDict, checkpoint: str, num_augments: int = 0):
  """Accuracy-predictor params initialised from a latency checkpoint's body (head re-initialised, reading
  `num_augments` zero-cost values)."""
  return initialization.initial_params(initialization.create_model(config.model), config.space,
                                       config.seed, num_augments, transfer_from=checkpoint)
