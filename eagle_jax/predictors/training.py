"""Fitting a predictor: optax AdamW with per-epoch cosine or plateau schedules, early stopping, the best epoch
kept, warm-up of the last layer, epochs as one jitted lax.scan."""
import dataclasses
import math
import time
from typing import Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state
from tqdm import auto as tqdm

from eagle_jax.predictors import batches as batches_lib
from eagle_jax.predictors import losses, models, schedules


def _is_head(path) -> bool:
  return path[0].key == 'last'


def _optimizer(learning_rate: float, weight_decay: float, head_only: bool = False):
  adamw = optax.inject_hyperparams(optax.adamw)(learning_rate=learning_rate, b1=0.9, b2=0.999, eps=1e-8,
                                               weight_decay=weight_decay)
  if not head_only:
    return adamw
  labels = lambda params: jax.tree_util.tree_map_with_path(lambda p, _: 'head' if _is_head(p) else 'body', params)
  return optax.multi_transform({'head': adamw, 'body': optax.set_to_zero()}, labels)


def _set_learning_rate(state: train_state.TrainState, learning_rate: float):
  state.opt_state.hyperparams['learning_rate'] = jnp.asarray(learning_rate, jnp.float32)


def _train_epoch(state, arrays: batches_lib.Arrays, batches, masks, rng, head: str):
  """One epoch of optimiser steps (lax.scan over padded batches of model rows)."""

  def step(carry, batch):
    state, rng = carry
    rows, mask = batch
    rng, dropout_rng = jax.random.split(rng)
    data = arrays.take(rows)

    def loss_fn(params):
      terms = state.apply_fn({'params': params}, data.adjacency, data.features, data.augments,
                             deterministic=False, rngs={'dropout': dropout_rng})
      return losses.batch_loss(head, terms, data.targets, mask)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return (state.apply_gradients(grads=grads), rng), loss

  (state, _), step_losses = jax.lax.scan(step, (state, rng), (batches, masks))
  return state, jnp.mean(step_losses)


train_epoch = jax.jit(_train_epoch, static_argnames='head')


def loss_on(apply, params, arrays: batches_lib.Arrays, head: str) -> float:
  terms = batches_lib.head_terms(apply, params, arrays)
  mask = jnp.ones(len(arrays))
  terms = {k: jnp.asarray(v) for k, v in terms.items()}
  return float(losses.batch_loss(head, terms, arrays.targets, mask))


@dataclasses.dataclass
class FitResult:
  params: dict
  best_epoch: int
  epochs_run: int
  history: list
  seconds_to_best: float


def fit(model: models.Predictor, params, train: batches_lib.Arrays, valid: Optional[batches_lib.Arrays],
        training: ml_collections.ConfigDict, seed: int, progress: bool = True) -> FitResult:
  """Trains `params` on `train`; validation (or, without it, training) loss picks the best epoch."""
  head = model.head
  apply = batches_lib.make_apply(model)
  rng = np.random.default_rng(seed)
  key = jax.random.PRNGKey(seed)
  batch_size = min(int(training.batch_size), len(train))
  if training.get('warmup_epochs', 0) > 0:
    warm = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                         tx=_optimizer(training.learning_rate, 0.0, head_only=True))
    for _ in range(training.warmup_epochs):
      batches, masks = batches_lib.padded_batches(len(train), batch_size, rng, training.shuffle)
      key, epoch_key = jax.random.split(key)
      warm, _ = train_epoch(warm, train, batches, masks, epoch_key, head=head)
    params = warm.params
  state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                        tx=_optimizer(training.learning_rate, training.weight_decay))
  plateau = schedules.PlateauSchedule(training.learning_rate, training.lr_patience)
  stopper = schedules.EarlyStopping(training.es_patience)
  if training.lr_scheduler not in ('cosine', 'plateau'):
    raise ValueError(f"config.training.lr_scheduler must be 'cosine' or 'plateau', got {training.lr_scheduler!r}")
  best = (math.inf, params, 0, 0.0)
  history, learning_rate = [], training.learning_rate
  start = time.perf_counter()
  bar = tqdm.trange(1, training.epochs + 1, desc='epochs', disable=not progress, leave=False)
  for epoch in bar:
    _set_learning_rate(state, learning_rate)
    batches, masks = batches_lib.padded_batches(len(train), batch_size, rng, training.shuffle)
    key, epoch_key = jax.random.split(key)
    state, train_loss = train_epoch(state, train, batches, masks, epoch_key, head=head)
    train_loss = float(train_loss)
    val_loss = loss_on(apply, state.params, valid, head) if valid is not None and len(valid) > 1 else train_loss
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
      raise FloatingPointError(f'training diverged: loss is {train_loss} (validation {val_loss}) at epoch {epoch} '
                               f'with learning rate {learning_rate:g}; nothing was saved. Lower '
                               'config.training.learning_rate, or normalise the targets (config.data.normalize)')
    history.append({'epoch': epoch, 'train_loss': train_loss, 'valid_loss': val_loss, 'lr': learning_rate})
    bar.set_postfix(train=f'{train_loss:.4g}', valid=f'{val_loss:.4g}')
    if val_loss < best[0]:
      best = (val_loss, state.params, epoch, time.perf_counter() - start)
    if training.lr_scheduler == 'cosine':
      learning_rate = schedules.cosine_learning_rate(training.learning_rate, epoch, training.epochs)
    elif epoch > schedules.SCHEDULE_START_EPOCH:
      learning_rate = plateau.step(val_loss)
    if epoch > schedules.SCHEDULE_START_EPOCH and stopper.should_stop(val_loss):
      break
  if training.get('legacy_last_weights', False):
    return FitResult(state.params, len(history), len(history), history, time.perf_counter() - start)
  return FitResult(best[1], best[2], len(history), history, best[3])
