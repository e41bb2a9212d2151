"""Device arrays of encoded archs, padded batches of model rows, and the chunked jitted forward pass."""
import functools
import math
from typing import Dict, Optional

import flax
import jax
import jax.numpy as jnp
import numpy as np
from tqdm import auto as tqdm

from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import models, priors


CHUNK = 2048  # archs per jitted forward call, in every chunked pass (validation, predict, rank, embed)


@flax.struct.dataclass
class Arrays:
  """A split's encodings and targets on device; for an ensemble, optionally each member's weight of each row
  (n, K: its bootstrap counts)."""
  adjacency: jnp.ndarray
  features: jnp.ndarray
  targets: jnp.ndarray
  augments: Optional[jnp.ndarray] = None
  member_weights: Optional[jnp.ndarray] = None

  @classmethod
  def of(cls, dataset: dataset_lib.Dataset, rows, targets, augments=None) -> 'Arrays':
    adjacency, features = dataset.encodings
    return cls(jnp.asarray(adjacency[rows]), jnp.asarray(features[rows]), jnp.asarray(targets[rows], jnp.float32),
               None if augments is None else jnp.asarray(augments[rows], jnp.float32))

  def __len__(self):
    return self.targets.shape[0]

  def take(self, rows) -> 'Arrays':
    return Arrays(self.adjacency[rows], self.features[rows], self.targets[rows],
                  None if self.augments is None else self.augments[rows],
                  None if self.member_weights is None else self.member_weights[rows])

  def bootstrapped(self, members: int, seed: int) -> 'Arrays':
    """These rows with a bootstrap resample per ensemble member (row weights = multinomial counts, seeded)."""
    n = len(self)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=members).T
    return self.replace(member_weights=jnp.asarray(counts, jnp.float32))


def cost_features(space, keys, names) -> Optional[np.ndarray]:
  """log10 of the network's MACs and/or parameters in millions per arch (n, len(names)), appended to the
  embedding as augments (`config.data.cost_features`; `*_unpruned` counts dead ops too); None when no names are
  given."""
  if not names:
    return None
  unknown = [name for name in names if name not in priors.COST_FEATURES]
  if unknown:
    raise ValueError(f'config.data.cost_features: unknown feature {unknown[0]!r}; known: {priors.COST_FEATURES}')
  return np.stack([priors.log_costs(space, keys, name) for name in names], axis=1).astype(np.float32)


def card_augments(space, keys, card: dict, fill_missing: Optional[float] = None) -> Optional[np.ndarray]:
  """The augments a saved predictor reads: its cost features, then its zero-cost prior (card['prior'], a
  foresight block) when a search trained it with one; None when it reads none. An arch the prior has no value
  for is refused, or given `fill_missing` (a search scoring candidates it will never pick)."""
  costs = cost_features(space, keys, card.get('cost_features', ()))
  columns = [] if costs is None else [costs]
  if card.get('prior'):
    prior = priors.prior_values(card['prior'], space, keys)
    if fill_missing is not None:
      prior = np.where(np.isnan(prior), fill_missing, prior)
    if np.isnan(prior).any():
      raise ValueError(f'the predictor reads zero-cost prior {card["prior"]["measurement"]}, which has no value '
                       f'for {space.to_str(keys[int(np.argmax(np.isnan(prior)))])}')
    columns.append(prior[:, None].astype(np.float32))
  return np.concatenate(columns, axis=1) if columns else None


def num_card_augments(card: dict) -> int:
  return len(card.get('cost_features', ())) + bool(card.get('prior'))


def padded_batches(n: int, batch_size: int, rng: np.random.Generator, shuffle: bool):
  order = rng.permutation(n) if shuffle else np.arange(n)
  steps = math.ceil(n / batch_size)
  padded = np.zeros(steps * batch_size, np.int32)
  padded[:n] = order
  mask = np.zeros(steps * batch_size, np.float32)
  mask[:n] = 1
  return padded.reshape(steps, batch_size), mask.reshape(steps, batch_size)


@functools.lru_cache(maxsize=16)
def make_apply(model: models.Predictor):
  """A jitted deterministic forward pass returning head terms (one per model, however often asked for)."""
  return jax.jit(lambda params, adjacency, features, augments: model.apply(
      {'params': params}, adjacency, features, augments, deterministic=True))


@functools.lru_cache(maxsize=16)
def make_member_apply(model: models.Predictor):
  """A jitted deterministic forward pass of an ensemble returning {'members': (n, K)}: each member's unary value
  or ranking score a - b."""
  return jax.jit(lambda params, adjacency, features, augments: {'members': jnp.moveaxis(models.ranking_score(
      model.apply({'params': params}, adjacency, features, augments, deterministic=True, members=True)), 0, -1)})


def chunked(fn, n: int, inputs_of, chunk: int = CHUNK, multiple: int = 1, desc: Optional[str] = None):
  """The one chunked forward pass: `fn(*inputs_of(rows))` over rows 0..n-1 in chunks of `chunk` rows, the rest
  in the next power of two above it (rounded up to a `multiple`: few compiled shapes, little padding), padded by
  repeating rows; outputs (an array or a dict of them) concatenated back to n rows, scalar
  outputs (a comparator's c) kept once. Inputs are made per chunk, so no array of all encodings is held."""
  if n <= 0:
    raise ValueError('no archs to evaluate')
  sized = lambda count: -(-min(chunk, 1 << (count - 1).bit_length()) // multiple) * multiple
  outputs = []
  for start in tqdm.trange(0, n, sized(n), desc=desc, disable=desc is None or n <= chunk, leave=False):
    rows = np.arange(start, start + sized(n - start)) % n
    outputs.append(jax.device_get(fn(*inputs_of(rows))))
  return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts)[:n] if np.ndim(parts[0]) else parts[0],
                                *outputs)


def head_terms(apply, params, arrays: Arrays, chunk: int = CHUNK) -> Dict[str, np.ndarray]:
  """Head outputs for every row of `arrays` (device arrays), from a `make_apply` function."""
  return chunked(lambda *inputs: apply(params, *inputs), len(arrays), lambda rows: _inputs(arrays.take(rows)),
                 chunk)


def _inputs(arrays: Arrays):
  return arrays.adjacency, arrays.features, arrays.augments
