"""Trained predictors as library objects: predict and rank any set of archs (the whole space by default),
jitted and batched, embedding each distinct encoding once; binary ranking is one sort by a - b, with a
`faithful` mode that reproduces Eagle's comparison sort."""
import functools
from typing import Optional

import jax.numpy as jnp
import ml_collections
import numpy as np

from eagle_jax.data import formats
from eagle_jax.predictors import checkpoints, models, training
from eagle_jax.spaces import nasbench201


class TrainedPredictor:
  """A trained unary or binary predictor loaded from a train workdir."""

  def __init__(self, params, card: dict):
    self.params, self.card = params, card
    self.model = training.create_model(ml_collections.ConfigDict(card['model']))
    self.binary = self.model.head != 'unary'
    self.lower_is_better = bool(card.get('lower_is_better', False))
    scaling = card['normalization']
    self.normalizer = training.Normalizer(scaling['min'], scaling['max'], scaling.get('log', False))
    self._apply = training.make_apply(self.model)

  def head_terms(self, vecs=None) -> dict:
    """Head outputs per arch (all 15625 when `vecs` is None), computed once per distinct encoding."""
    vecs = nasbench201.arch_vectors() if vecs is None else nasbench201.as_vectors(vecs)
    return EncodedSet(vecs).terms(self._apply, self.params)

  def predict(self, vecs=None) -> np.ndarray:
    """Values in the target's units (unary), or a ranking score (binary: higher = larger target)."""
    terms = self.head_terms(vecs)
    if self.binary:
      return models.ranking_score(terms)
    return self.normalizer.invert(terms['value'])

  def rank(self, vecs=None, faithful: bool = False) -> np.ndarray:
    """Indices of `vecs`, best first (highest accuracy, or lowest latency for a latency predictor).

    faithful=True runs Eagle's comparison sort (stable merge sort over cmp(i, j) = a_i + b_j + c, inputs in
    the given order); otherwise one sort by the comparator's antisymmetric part a - b.
    """
    terms = self.head_terms(vecs)
    if faithful and self.binary:
      ascending = faithful_sort(terms['a'], terms['b'], float(terms['c']))
    else:
      ascending = np.argsort(models.ranking_score(terms), kind='stable')
    return ascending if self.lower_is_better else ascending[::-1].copy()


class EncodedSet:
  """A fixed set of archs encoded once for repeated scoring: each distinct encoding is embedded once (with
  zero-cost `augments`, which differ per arch, every arch is its own group)."""

  def __init__(self, vecs: np.ndarray, augments: Optional[np.ndarray] = None):
    if augments is None:
      representatives, self.inverse = nasbench201.group_identical_encodings(vecs)
    else:
      representatives = self.inverse = np.arange(len(vecs))
    adjacency, features = nasbench201.encode(vecs[representatives])
    self.arrays = training.Arrays(jnp.asarray(adjacency), jnp.asarray(features), jnp.zeros(len(representatives)),
                                  None if augments is None else jnp.asarray(augments[representatives], jnp.float32))

  def terms(self, apply, params) -> dict:
    """Head outputs per arch of the set, from a `training.make_apply` function."""
    terms = training.head_terms(apply, params, self.arrays)
    return {k: v[self.inverse] if np.ndim(v) else v for k, v in terms.items()}


def faithful_sort(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
  """Python's TimSort over Eagle's comparator (positive: first is larger); ascending order of indices."""
  a, b = a.astype(np.float64).tolist(), b.astype(np.float64).tolist()
  compare = lambda i, j: a[i] + b[j] + c
  return np.array(sorted(range(len(a)), key=functools.cmp_to_key(compare)), np.int64)


def load(workdir_or_checkpoint) -> TrainedPredictor:
  """A trained predictor from a `python -m eagle_jax.train` workdir (or its checkpoint folder)."""
  params, card = checkpoints.load(workdir_or_checkpoint)
  return TrainedPredictor(params, card)


def infer_space(predictor: TrainedPredictor, path, vecs: Optional[np.ndarray] = None, only_valid: bool = True,
                overwrite: bool = False):
  """Writes an Eagle-format {op vector: value} file of predictions (denormalised) for the space."""
  vecs = nasbench201.arch_vectors() if vecs is None else nasbench201.as_vectors(vecs)
  if only_valid:
    vecs = vecs[nasbench201.is_valid(vecs)]
  values = predictor.predict(vecs)
  return formats.write_measurements({tuple(int(o) for o in v): float(x) for v, x in zip(vecs, values)}, path,
                                    overwrite)
