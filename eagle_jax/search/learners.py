"""What a BRP-NAS engine learns from the models trained so far: the binary GCN comparator (warm-started each
iteration with Eagle's growing epochs/batch schedule) or iterative ridge regression (a cheap baseline). A learner
fits the keys and values told so far and scores a candidate set (higher = better); asked for the scores of a
`draw` (an ask), an ensemble comparator with config.search.acquisition='thompson' scores by one member drawn at
random (seeded by the draw), so that picks follow the ensemble's disagreement (Thompson sampling)."""
from typing import Optional

import ml_collections
import numpy as np

from eagle_jax.predictors import batches, inference, training


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
  """Eagle's schedule: iteration i of n trains (i + 1) / n of the epochs with (i + 1) / n of the batch size."""
  config = ml_collections.ConfigDict(base.to_dict())
  config.epochs = max(1, (iteration + 1) * base.epochs // iterations)
  config.batch_size = max(2, (iteration + 1) * base.batch_size // iterations)
  config.warmup_epochs = base.get('warmup_epochs', 0) if iteration == 0 else 0
  return config


class ComparatorLearner:
  """The search's predictor (a `TrainedPredictor` whose params each fit replaces), trained on
  `comparator_targets` of the values told."""

  def __init__(self, config: ml_collections.ConfigDict, params, card: dict):
    self.config = config
    self.predictor = inference.TrainedPredictor(params, card)

  @property
  def params(self):
    return self.predictor.params

  def fit(self, keys: np.ndarray, values, iteration: int) -> dict:
    space, card = self.predictor.space, self.predictor.card
    targets = comparator_targets(values, self.config.search)
    augments = batches.card_augments(space, keys, card)
    arrays = inference.EncodedSet(space, keys, augments).arrays_of(np.arange(len(keys)), targets)
    options = iteration_training(self.config.training, iteration, self.config.search.iterations)
    fitted = training.fit(training.HeadLoss(self.predictor.model), self.predictor.params, arrays, None, options,
                          seed=self.config.seed + iteration, progress=False)
    self.predictor.params = fitted.params
    return {'epochs_run': fitted.epochs_run}

  def scores(self, candidates, progress: bool = False, draw: Optional[int] = None) -> np.ndarray:
    predictor = self.predictor
    if draw is not None and self.config.search.get('acquisition', 'mean') == 'thompson':
      member = np.random.default_rng([self.config.seed, draw]).integers(predictor.model.ensemble)
      predictor = predictor.member(int(member))
    return candidates.scores(predictor, progress)


class RidgeLearner:
  """Ridge regression on the space's one-hot ops and op pairs (`Space.linear_features`)."""

  def __init__(self, space, penalty: float = 0.1):
    self.space, self.penalty, self.coefficients = space, penalty, None

  def fit(self, keys: np.ndarray, values, iteration: int) -> dict:
    del iteration
    x, y = self.space.linear_features(keys), np.asarray(values, np.float64)
    self.coefficients = np.linalg.solve(x.T @ x + self.penalty * np.eye(x.shape[1]), x.T @ y)
    return {}

  def scores(self, candidates, progress: bool = False, draw: Optional[int] = None) -> np.ndarray:
    del progress, draw
    return candidates.map(lambda keys: self.space.linear_features(keys) @ self.coefficients)
