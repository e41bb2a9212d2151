"""Trained predictors as library objects: predict and rank any set of archs (the whole space by default),
jitted and batched, embedding each distinct encoding once and encoding in chunks (memory independent of the set's
size); binary ranking is one sort by a - b, with a `faithful` mode that reproduces Eagle's comparison sort."""
import functools
from typing import Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from eagle_jax import files, spaces
from eagle_jax.data import formats
from eagle_jax.predictors import batches, checkpoints, initialization, models, normalization, uncertainty


class TrainedPredictor:
  """A trained unary or binary predictor loaded from a train workdir."""

  def __init__(self, params, card: dict, run_kind: str = ''):
    self.params, self.card = params, card
    self.run_kind = run_kind  # the binary that saved it: 'train', 'search', 'transfer' ('' for older workdirs)
    self.space = spaces.get(card.get('space', spaces.DEFAULT))  # cards before spaces were named: NB201's
    self.model = initialization.create_model(ml_collections.ConfigDict(card['model']))
    self.binary = self.model.head != 'unary'
    self.lower_is_better = bool(card.get('lower_is_better', False))
    scaling = card['normalization']
    self.normalizer = normalization.Normalizer(scaling['min'], scaling['max'], scaling.get('log', False))
    self.apply = batches.make_apply(self.model)
    self.calibration_scale = float(card.get('calibration_scale', 1.0))  # an ensemble's, fitted on validation

  def member(self, index: int) -> 'TrainedPredictor':
    """Member `index` of an ensemble as a predictor of its own (its parameters, no spread)."""
    if self.model.ensemble < 2:
      raise ValueError('a single predictor has no members: train an ensemble (config.model.ensemble=K)')
    card = {**self.card, 'model': {**self.card['model'], 'ensemble': 1}}
    card.pop('calibration_scale', None)
    return TrainedPredictor(jax.tree_util.tree_map(lambda x: x[index], self.params['members']), card, self.run_kind)

  def _encoded(self, keys) -> 'EncodedSet':
    keys = self.space.enumerate() if keys is None else self.space.as_keys(keys)
    return EncodedSet(self.space, keys, batches.card_augments(self.space, keys, self.card))

  def head_terms(self, keys=None, progress: bool = False) -> dict:
    """Head outputs per arch (the whole enumerated space when `keys` is None), once per distinct encoding; an
    ensemble's are its members' means."""
    return self._encoded(keys).terms(self.apply, self.params, progress)

  def predict(self, keys=None, progress: bool = False, return_std: bool = False):
    """Values in the target's units (unary), or a ranking score (binary: higher = larger target). With
    `return_std` (ensembles, config.model.ensemble = K), (mean, std): the std is the members' spread in the same
    units, scaled by the calibration fitted on the validation split."""
    if return_std:
      if self.model.ensemble < 2:
        raise ValueError('a single predictor has no spread: train an ensemble (config.model.ensemble=K) for '
                         'return_std')
      members = self._encoded(keys).terms(batches.make_member_apply(self.model), self.params, progress)['members']
      return uncertainty.spread(members, self.normalizer, self.binary, self.calibration_scale)
    terms = self.head_terms(keys, progress)
    if self.binary:
      return models.ranking_score(terms)
    return self.normalizer.invert(terms['value'])

  def rank(self, keys=None, faithful: bool = False, progress: bool = False) -> np.ndarray:
    """Indices of `keys`, best first (highest accuracy, or lowest latency for a latency predictor).

    faithful=True runs Eagle's comparison sort (stable merge sort over cmp(i, j) = a_i + b_j + c, inputs in
    the given order); otherwise one sort by the comparator's antisymmetric part a - b.
    """
    terms = self.head_terms(keys, progress)
    if faithful and self.binary:
      ascending = faithful_sort(terms['a'], terms['b'], float(terms['c']))
    else:
      ascending = np.argsort(models.ranking_score(terms), kind='stable')
    return ascending if self.lower_is_better else ascending[::-1].copy()


class EncodedSet:
  """A fixed set of archs for repeated scoring: each distinct encoding is embedded once (with zero-cost
  `augments`, which differ per arch, every arch is its own group); encodings are made per chunk, so no array
  of all encodings is ever held."""

  def __init__(self, space, keys: np.ndarray, augments: Optional[np.ndarray] = None):
    self.space = spaces.get(space)
    if augments is None:
      representatives, self.inverse = self.space.group_identical_encodings(keys)
    else:
      representatives = self.inverse = np.arange(len(keys))
    self.keys = keys[representatives]
    self.augments = None if augments is None else np.asarray(augments[representatives], np.float32)

  def arrays(self, rows, targets=None) -> batches.Arrays:
    """Device arrays of the given representative rows (targets zero unless given)."""
    adjacency, features = self.space.encode(self.keys[rows])
    return batches.Arrays(jnp.asarray(adjacency), jnp.asarray(features),
                          jnp.asarray(np.zeros(len(rows)) if targets is None else targets, jnp.float32),
                          None if self.augments is None else jnp.asarray(self.augments[rows]))

  def arrays_of(self, arch_rows, targets) -> batches.Arrays:
    """Device arrays of archs given by their rows in the original key array."""
    return self.arrays(self.inverse[np.asarray(arch_rows)], targets)

  def terms(self, apply, params, progress: bool = False) -> dict:
    """Head outputs per arch of the set, from a `batches.make_apply` function, a chunk encoded at a time."""
    def inputs(rows):
      adjacency, features = self.space.encode(self.keys[rows])
      return adjacency, features, None if self.augments is None else self.augments[rows]
    terms = batches.chunked(lambda *x: apply(params, *x), len(self.keys), inputs, desc='scoring' if progress else None)
    return {k: v[self.inverse] if np.ndim(v) else v for k, v in terms.items()}


def faithful_sort(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
  """Python's TimSort over Eagle's comparator (positive: first is larger); ascending order of indices."""
  a, b = a.astype(np.float64).tolist(), b.astype(np.float64).tolist()
  compare = lambda i, j: a[i] + b[j] + c
  return np.array(sorted(range(len(a)), key=functools.cmp_to_key(compare)), np.int64)


def load(workdir_or_checkpoint, space: Optional[str] = None) -> TrainedPredictor:
  """A trained predictor from a train, search or transfer workdir (or its checkpoint folder; `.run_kind` says
  which binary saved it); with `space`, one trained on another space's archs is refused."""
  params, card = checkpoints.load(workdir_or_checkpoint)
  if space is not None:
    checkpoints.check_space(card, space, workdir_or_checkpoint)
  try:
    predictor = TrainedPredictor(params, card, files.run_kind(checkpoints.locate(workdir_or_checkpoint)))
    num_augments = batches.num_card_augments(card)
    expected = jax.eval_shape(lambda: initialization.fresh_params(predictor.model, predictor.space, 0, num_augments))
  except (KeyError, TypeError, ValueError, AttributeError) as e:
    raise ValueError(f'predictor card in {workdir_or_checkpoint} is not usable: {type(e).__name__}: {e}') from None
  checkpoints.check_compatible(params, expected, workdir_or_checkpoint)
  return predictor


def infer_space(predictor: TrainedPredictor, path, keys: Optional[np.ndarray] = None, only_valid: bool = True,
                overwrite: bool = False):
  """Writes an Eagle-format {key: value} file of predictions (denormalised) for the space (or `keys`)."""
  space = predictor.space
  keys = space.enumerate() if keys is None else space.as_keys(keys)
  if only_valid:
    keys = keys[space.is_valid(keys)]
  values = predictor.predict(keys, progress=True)
  return formats.write_measurements(dict(zip(space.hashable(keys), values.tolist())), path, space, overwrite)
