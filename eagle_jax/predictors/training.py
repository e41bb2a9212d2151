"""Fitting, written once: optax AdamW over padded batches (an epoch is one jitted lax.scan), a per-epoch cosine,
plateau or constant learning rate, early stopping, the best epoch kept, an optional warm-up of the last layer.

What is fitted is an objective: a hashable callable `(params, data, rows, mask, dropout_key, deterministic) ->
loss` with an `evaluate(params, data) -> float` (the deterministic loss over all of `data`). `HeadLoss` fits a
`models.Predictor` (train, search, foresight); `transfer.pretraining.EmbeddingHeads` fits linear heads over its
embedding (multi-device pre-training and fine-tuning to a new device).
"""
import dataclasses
import functools
import math
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state
from tqdm import auto as tqdm

from eagle_jax.predictors import batches as batches_lib
from eagle_jax.predictors import losses, models, schedules

SCHEDULERS = ('cosine', 'plateau', 'constant')


@dataclasses.dataclass(frozen=True)
class HeadLoss:
  """A predictor's own loss (`losses.batch_loss` of its head) on `batches.Arrays`; an ensemble's is the mean of
  its members' losses, each on its own row weights (`Arrays.member_weights`, e.g. a bootstrap), so every member
  gets its own gradient in the one fit."""
  model: models.Predictor

  def __call__(self, params, data: batches_lib.Arrays, rows, mask, dropout_key, deterministic: bool = False):
    batch = data.take(rows)
    ensemble = self.model.ensemble > 1
    terms = self.model.apply({'params': params}, batch.adjacency, batch.features, batch.augments,
                             deterministic=deterministic, rngs={'dropout': dropout_key}, members=ensemble)
    if not ensemble:
      return losses.batch_loss(self.model.head, terms, batch.targets, mask)
    weights = (jnp.ones((mask.shape[0], self.model.ensemble)) if batch.member_weights is None
               else batch.member_weights)
    member_loss = lambda member_terms, w: losses.batch_loss(self.model.head, member_terms, batch.targets, mask * w)
    return jnp.mean(jax.vmap(member_loss, in_axes=(0, 1))(terms, weights))

  def evaluate(self, params, data: batches_lib.Arrays) -> float:
    """The loss over every row, the forward pass in chunks (`batches.head_terms`)."""
    terms = batches_lib.head_terms(batches_lib.make_apply(self.model), params, data)
    terms = {k: jnp.asarray(v) for k, v in terms.items()}
    return float(losses.batch_loss(self.model.head, terms, data.targets, jnp.ones(len(data))))


@functools.partial(jax.jit, static_argnums=0)
def full_loss(objective, params, data):
  """An objective's deterministic loss over every row of `data` at once (small sets)."""
  n = len(data)
  return objective(params, data, jnp.arange(n), jnp.ones(n), jax.random.PRNGKey(0), True)


def _is_head(path) -> bool:
  return any(getattr(entry, 'key', None) == 'last' for entry in path)  # an ensemble's: members/last


@functools.lru_cache(maxsize=64)
def optimizer(learning_rate: float, weight_decay: float, head_only: bool = False):
  """AdamW with the learning rate as a state hyperparameter; one object per setting, so a jitted epoch compiles
  once per model and data shape, not once per fit."""
  adamw = optax.inject_hyperparams(optax.adamw)(learning_rate=learning_rate, b1=0.9, b2=0.999, eps=1e-8,
                                               weight_decay=weight_decay)
  if not head_only:
    return adamw
  labels = lambda params: jax.tree_util.tree_map_with_path(lambda p, _: 'head' if _is_head(p) else 'body', params)
  return optax.multi_transform({'head': adamw, 'body': optax.set_to_zero()}, labels)


def _set_learning_rate(state: train_state.TrainState, learning_rate: float):
  state.opt_state.hyperparams['learning_rate'] = jnp.asarray(learning_rate, jnp.float32)


@functools.partial(jax.jit, static_argnames='objective')
def train_epoch(state, data, batches, masks, rng, objective):
  """One epoch of optimiser steps (lax.scan over padded batches of rows of `data`)."""

  def step(carry, batch):
    state, rng = carry
    rows, mask = batch
    rng, dropout_rng = jax.random.split(rng)
    loss, grads = jax.value_and_grad(objective)(state.params, data, rows, mask, dropout_rng)
    return (state.apply_gradients(grads=grads), rng), loss

  (state, _), step_losses = jax.lax.scan(step, (state, rng), (batches, masks))
  return state, jnp.mean(step_losses)


@dataclasses.dataclass
class FitResult:
  params: dict
  best_epoch: int
  epochs_run: int
  history: list
  seconds_to_best: float


def check_options(training: ml_collections.ConfigDict, where: str = 'config.training') -> None:
  """The fitting options `fit` reads, refused with their name and value when out of range."""
  def whole(name, low, default=None):
    value = training.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
      raise ValueError(f'{where}.{name} must be an integer >= {low}, got {value!r}')
  def real(name, positive, default=None):
    value = training.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
        value <= 0 if positive else value < 0):
      raise ValueError(f'{where}.{name} must be a number {"> 0" if positive else ">= 0"}, got {value!r}')
  whole('epochs', 1)
  whole('batch_size', 1)
  real('learning_rate', True)
  real('weight_decay', False, 0.0)
  for name in ('lr_patience', 'es_patience', 'warmup_epochs'):
    whole(name, 0, 0)
  scheduler = training.get('lr_scheduler', 'cosine')
  if scheduler not in SCHEDULERS:
    raise ValueError(f'{where}.lr_scheduler must be one of {SCHEDULERS}, got {scheduler!r}')


def _new_state(params, learning_rate: float, weight_decay: float, head_only: bool = False):
  return train_state.TrainState.create(apply_fn=None, params=params,
                                       tx=optimizer(float(learning_rate), float(weight_decay), head_only))


def fit(objective, params, train, valid, training: ml_collections.ConfigDict, seed: int, progress: bool = True,
        where: str = 'config.training', desc: str = 'epochs') -> FitResult:
  """Fits `params` to `train` (data the objective reads, e.g. `batches.Arrays`); the validation loss (or, without
  `valid`, the training loss) picks the best epoch. Options of `training` (`where` names it in messages): epochs,
  batch_size, learning_rate, weight_decay (0), lr_scheduler ('cosine'), lr_patience, es_patience (0: off),
  warmup_epochs (0: epochs training only params['last'] first), shuffle (True), legacy_last_weights (False)."""
  check_options(training, where)
  scheduler = training.get('lr_scheduler', 'cosine')
  rng = np.random.default_rng(seed)
  key = jax.random.PRNGKey(seed)
  batch_size = min(int(training.batch_size), len(train))
  shuffle = training.get('shuffle', True)

  def run_epoch(state):
    nonlocal key
    batches, masks = batches_lib.padded_batches(len(train), batch_size, rng, shuffle)
    key, epoch_key = jax.random.split(key)
    return train_epoch(state, train, batches, masks, epoch_key, objective=objective)

  if training.get('warmup_epochs', 0) > 0:
    warm = _new_state(params, training.learning_rate, 0.0, head_only=True)
    for _ in range(training.warmup_epochs):
      warm, _ = run_epoch(warm)
    params = warm.params
  state = _new_state(params, training.learning_rate, training.get('weight_decay', 0.0))
  plateau = schedules.PlateauSchedule(training.learning_rate, training.get('lr_patience', 0))
  stopper = schedules.EarlyStopping(training.get('es_patience', 0))
  best = (math.inf, params, 0, 0.0)
  history, learning_rate = [], training.learning_rate
  start = time.perf_counter()
  bar = tqdm.trange(1, training.epochs + 1, desc=desc, disable=not progress, leave=False)
  for epoch in bar:
    _set_learning_rate(state, learning_rate)
    state, train_loss = run_epoch(state)
    train_loss = float(train_loss)
    val_loss = objective.evaluate(state.params, valid) if valid is not None and len(valid) > 1 else train_loss
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
      raise FloatingPointError(f'training diverged: loss is {train_loss} (validation {val_loss}) at epoch {epoch} '
                               f'with learning rate {learning_rate:g}; nothing was saved. Lower '
                               f'{where}.learning_rate, or normalise the targets (config.data.normalize)')
    history.append({'epoch': epoch, 'train_loss': train_loss, 'valid_loss': val_loss, 'lr': learning_rate})
    bar.set_postfix(train=f'{train_loss:.4g}', valid=f'{val_loss:.4g}')
    if val_loss < best[0]:
      best = (val_loss, state.params, epoch, time.perf_counter() - start)
    if scheduler == 'cosine':
      learning_rate = schedules.cosine_learning_rate(training.learning_rate, epoch, training.epochs)
    elif scheduler == 'plateau' and epoch > schedules.SCHEDULE_START_EPOCH:
      learning_rate = plateau.step(val_loss)
    if epoch > schedules.SCHEDULE_START_EPOCH and stopper.should_stop(val_loss):
      break
  if training.get('legacy_last_weights', False):
    return FitResult(state.params, len(history), len(history), history, time.perf_counter() - start)
  return FitResult(best[1], best[2], len(history), history, best[3])
