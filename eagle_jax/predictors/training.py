"""Training and evaluating predictors: splits, optax AdamW with per-epoch cosine or plateau schedules, early
stopping, the best epoch kept, warm-up of the last layer, transfer, jitted epochs, and the train binary's outputs."""
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Dict, Optional

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state
from tqdm import auto as tqdm

from eagle_jax import files
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import baselines, checkpoints, metrics, models, plots
from eagle_jax.spaces import nasbench201

SCHEDULE_START_EPOCH = 20  # Eagle steps plateau and early stopping only after epoch 20


@dataclasses.dataclass(frozen=True)
class Splits:
  train: np.ndarray
  valid: np.ndarray
  test: np.ndarray


def _count(points, total: int, what: str) -> int:
  if points is None:
    return int(0.1 * total)
  if isinstance(points, float) and 0 < points < 1:
    return int(round(points * total))
  if float(points) != int(points) or points < 0:
    raise ValueError(f'config.data.{what} must be a count or a fraction in (0, 1), got {points!r}')
  return int(points)


def split_rows(total: int, training_points, validation_points, seed: int) -> Splits:
  """A seeded random split into training, validation and test rows (the rest)."""
  n_train = _count(training_points, total, 'training_points')
  n_valid = _count(validation_points, total, 'validation_points')
  if n_train + n_valid > total or n_train < 2:
    raise ValueError(f'{n_train} training + {n_valid} validation points do not fit in {total} models '
                     '(need at least 2 training points)')
  order = np.random.default_rng(seed).permutation(total)
  return Splits(order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])


def load_training_data(data_config: ml_collections.ConfigDict) -> dataset_lib.Dataset:
  """The dataset named by config.data: measurement, column, only_valid, total_points."""
  if not data_config.get('measurement'):
    raise ValueError('config.data.measurement must name a dataset (a file path or a bundled name)')
  dataset = dataset_lib.load_dataset(data_config.measurement, data_config.get('column'))
  if data_config.get('only_valid', True):
    dataset = dataset.subset(dataset.valid)
  total = data_config.get('total_points')
  if total is not None:
    if total > len(dataset):
      raise ValueError(f'config.data.total_points={total} but {dataset.name} has only {len(dataset)} models')
    dataset = dataset.subset(np.arange(total))
  return dataset


@dataclasses.dataclass(frozen=True)
class Normalizer:
  """Target scaling: optional log (for latency: errors become relative), then optional min-max (Eagle's
  normalize tool); the identity when both are off."""
  low: float = 0.0
  high: float = 1.0
  log: bool = False

  @classmethod
  def fit(cls, values, enabled: bool, log: bool = False) -> 'Normalizer':
    values = np.asarray(values, np.float64)
    if log and np.any(values <= 0):
      raise ValueError(f'config.data.log_targets needs positive targets; the smallest is {float(values.min())!r}')
    values = np.log(values) if log else values
    return cls(float(np.min(values)), float(np.max(values)), log) if enabled else cls(log=log)

  def apply(self, values):
    values = np.asarray(values, np.float64)
    return ((np.log(values) if self.log else values) - self.low) / (self.high - self.low)

  def invert(self, values):
    values = np.asarray(values, np.float64) * (self.high - self.low) + self.low
    return np.exp(values) if self.log else values


def create_model(model_config: ml_collections.ConfigDict) -> models.Predictor:
  return models.Predictor(body=model_config.predictor, head=model_config.head,
                          num_layers=model_config.num_layers, num_hidden=model_config.num_hidden,
                          dropout_rate=model_config.dropout, message_passing=model_config.get('message_passing',
                                                                                              'dense'))


def init_params(model: models.Predictor, rng, num_augments: int = 0, num_features: int = nasbench201.NUM_FEATURES,
                num_nodes: int = nasbench201.NUM_NODES):
  """Fresh parameters; `num_augments` zero-cost values are appended to each embedding."""
  adjacency = jnp.zeros((2, num_nodes, num_nodes), jnp.float32)
  features = jnp.zeros((2, num_nodes, num_features), jnp.float32)
  augments = jnp.zeros((2, num_augments), jnp.float32) if num_augments else None
  return model.init({'params': rng}, adjacency, features, augments)['params']


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


def unary_loss(pred, target, mask):
  """Mean L1 over the real (unmasked) models."""
  return jnp.sum(jnp.abs(pred - target) * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def pair_loss(head: str, terms, target, mask):
  """Mean loss over all ordered pairs i != j of real models in a batch.

  default/naive: KL(softmax([t_i, t_j]) || softmax of the 2 logits), stable via log-sigmoid and xlogy;
  oneway: BCE against (t_i - t_j + 1) / 2 clipped to [0, 1]; oneway_hard: BCE against [t_i > t_j].
  """
  d = models.pair_logits(terms)
  diff = target[:, None] - target[None, :]
  if head in ('default', 'naive'):
    p = jax.nn.sigmoid(diff)
    entropy = jax.scipy.special.xlogy(p, p) + jax.scipy.special.xlogy(1 - p, 1 - p)
    loss = entropy - p * jax.nn.log_sigmoid(d) - (1 - p) * jax.nn.log_sigmoid(-d)
  else:
    p = jnp.clip((diff + 1) / 2, 0, 1) if head == 'oneway' else (diff > 0).astype(d.dtype)
    loss = -(p * jnp.maximum(jax.nn.log_sigmoid(d), -100) + (1 - p) * jnp.maximum(jax.nn.log_sigmoid(-d), -100))
  pair_mask = mask[:, None] * mask[None, :] * (1 - jnp.eye(mask.shape[0], dtype=d.dtype))
  return jnp.sum(loss * pair_mask) / jnp.maximum(jnp.sum(pair_mask), 1.0)


def batch_loss(head: str, terms, target, mask):
  return unary_loss(terms['value'], target, mask) if head == 'unary' else pair_loss(head, terms, target, mask)


@flax.struct.dataclass
class Arrays:
  """A split's encodings and targets on device."""
  adjacency: jnp.ndarray
  features: jnp.ndarray
  targets: jnp.ndarray
  augments: Optional[jnp.ndarray] = None

  @classmethod
  def of(cls, dataset: dataset_lib.Dataset, rows, targets, augments=None) -> 'Arrays':
    adjacency, features = dataset.encodings
    return cls(jnp.asarray(adjacency[rows]), jnp.asarray(features[rows]), jnp.asarray(targets[rows], jnp.float32),
               None if augments is None else jnp.asarray(augments[rows], jnp.float32))

  def __len__(self):
    return self.targets.shape[0]

  def take(self, rows) -> 'Arrays':
    return Arrays(self.adjacency[rows], self.features[rows], self.targets[rows],
                  None if self.augments is None else self.augments[rows])


def _train_epoch(state, arrays: Arrays, batches, masks, rng, head: str):
  """One epoch of optimiser steps (lax.scan over padded batches of model rows)."""

  def step(carry, batch):
    state, rng = carry
    rows, mask = batch
    rng, dropout_rng = jax.random.split(rng)
    data = arrays.take(rows)

    def loss_fn(params):
      terms = state.apply_fn({'params': params}, data.adjacency, data.features, data.augments,
                             deterministic=False, rngs={'dropout': dropout_rng})
      return batch_loss(head, terms, data.targets, mask)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return (state.apply_gradients(grads=grads), rng), loss

  (state, _), losses = jax.lax.scan(step, (state, rng), (batches, masks))
  return state, jnp.mean(losses)


train_epoch = jax.jit(_train_epoch, static_argnames='head')


def _padded_batches(n: int, batch_size: int, rng: np.random.Generator, shuffle: bool):
  order = rng.permutation(n) if shuffle else np.arange(n)
  steps = math.ceil(n / batch_size)
  padded = np.zeros(steps * batch_size, np.int32)
  padded[:n] = order
  mask = np.zeros(steps * batch_size, np.float32)
  mask[:n] = 1
  return padded.reshape(steps, batch_size), mask.reshape(steps, batch_size)


def make_apply(model: models.Predictor):
  """A jitted deterministic forward pass returning head terms."""
  return jax.jit(lambda params, adjacency, features, augments: model.apply(
      {'params': params}, adjacency, features, augments, deterministic=True))


def head_terms(apply, params, arrays: Arrays, chunk: int = 2048) -> Dict[str, np.ndarray]:
  """Head outputs for every row of `arrays`, in fixed-size padded chunks (one compilation per chunk size)."""
  n = len(arrays)
  size = min(chunk, 1 << max(0, (n - 1).bit_length()))
  outputs = []
  for start in range(0, n, size):
    rows = np.arange(start, start + size) % n
    outputs.append(jax.device_get(apply(params, *_inputs(arrays.take(rows)))))
  return {k: np.concatenate([o[k] for o in outputs])[:n] if np.ndim(outputs[0][k]) else outputs[0][k]
          for k in outputs[0]}


def _inputs(arrays: Arrays):
  return arrays.adjacency, arrays.features, arrays.augments


def loss_on(apply, params, arrays: Arrays, head: str) -> float:
  terms = head_terms(apply, params, arrays)
  mask = jnp.ones(len(arrays))
  terms = {k: jnp.asarray(v) for k, v in terms.items()}
  return float(batch_loss(head, terms, arrays.targets, mask))


class PlateauSchedule:
  """ReduceLROnPlateau(min, factor, patience, relative threshold 0.01, cooldown 0)."""

  def __init__(self, learning_rate: float, patience: int, factor: float = 0.5, threshold: float = 0.01):
    self.learning_rate, self.patience, self.factor, self.threshold = learning_rate, patience, factor, threshold
    self.best, self.bad_epochs = math.inf, 0

  def step(self, value: float) -> float:
    if value < self.best * (1 - self.threshold):
      self.best, self.bad_epochs = value, 0
    else:
      self.bad_epochs += 1
      if self.bad_epochs > self.patience:
        self.learning_rate *= self.factor
        self.bad_epochs = 0
    return self.learning_rate


class EarlyStopping:
  """Stops after `patience` epochs without improvement (min, min_delta 0); NaN stops at once; 0 disables."""

  def __init__(self, patience: int):
    self.patience, self.best, self.bad_epochs = patience, None, 0

  def should_stop(self, value: float) -> bool:
    if math.isnan(value):
      return True
    if self.best is None or value < self.best:
      self.best, self.bad_epochs = value, 0
      return False
    self.bad_epochs += 1
    return self.patience > 0 and self.bad_epochs >= self.patience


def cosine_learning_rate(base: float, epoch: int, total_epochs: int) -> float:
  """CosineAnnealingLR stepped per epoch (eta_min 0); `epoch` counts from 0."""
  return 0.5 * base * (1 + math.cos(math.pi * epoch / total_epochs))


@dataclasses.dataclass
class FitResult:
  params: dict
  best_epoch: int
  epochs_run: int
  history: list
  seconds_to_best: float


def fit(model: models.Predictor, params, train: Arrays, valid: Optional[Arrays],
        training: ml_collections.ConfigDict, seed: int, progress: bool = True) -> FitResult:
  """Trains `params` on `train`; validation (or, without it, training) loss picks the best epoch."""
  head = model.head
  apply = make_apply(model)
  rng = np.random.default_rng(seed)
  key = jax.random.PRNGKey(seed)
  batch_size = min(int(training.batch_size), len(train))
  if training.get('warmup_epochs', 0) > 0:
    warm = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                         tx=_optimizer(training.learning_rate, 0.0, head_only=True))
    for _ in range(training.warmup_epochs):
      batches, masks = _padded_batches(len(train), batch_size, rng, training.shuffle)
      key, epoch_key = jax.random.split(key)
      warm, _ = train_epoch(warm, train, batches, masks, epoch_key, head=head)
    params = warm.params
  state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                        tx=_optimizer(training.learning_rate, training.weight_decay))
  plateau = PlateauSchedule(training.learning_rate, training.lr_patience)
  stopper = EarlyStopping(training.es_patience)
  if training.lr_scheduler not in ('cosine', 'plateau'):
    raise ValueError(f"config.training.lr_scheduler must be 'cosine' or 'plateau', got {training.lr_scheduler!r}")
  best = (math.inf, params, 0, 0.0)
  history, learning_rate = [], training.learning_rate
  start = time.perf_counter()
  bar = tqdm.trange(1, training.epochs + 1, desc='epochs', disable=not progress, leave=False)
  for epoch in bar:
    _set_learning_rate(state, learning_rate)
    batches, masks = _padded_batches(len(train), batch_size, rng, training.shuffle)
    key, epoch_key = jax.random.split(key)
    state, train_loss = train_epoch(state, train, batches, masks, epoch_key, head=head)
    train_loss = float(train_loss)
    val_loss = loss_on(apply, state.params, valid, head) if valid is not None and len(valid) > 1 else train_loss
    history.append({'epoch': epoch, 'train_loss': train_loss, 'valid_loss': val_loss, 'lr': learning_rate})
    bar.set_postfix(train=f'{train_loss:.4g}', valid=f'{val_loss:.4g}')
    if val_loss < best[0]:
      best = (val_loss, state.params, epoch, time.perf_counter() - start)
    if training.lr_scheduler == 'cosine':
      learning_rate = cosine_learning_rate(training.learning_rate, epoch, training.epochs)
    elif epoch > SCHEDULE_START_EPOCH:
      learning_rate = plateau.step(val_loss)
    if epoch > SCHEDULE_START_EPOCH and stopper.should_stop(val_loss):
      break
  if training.get('legacy_last_weights', False):
    return FitResult(state.params, len(history), len(history), history, time.perf_counter() - start)
  return FitResult(best[1], best[2], len(history), history, best[3])


def _aggregate(runs: list) -> dict:
  """Mean over repeats of every numeric figure, with `<name>_std` beside it."""
  out = {}
  for name, value in runs[0].items():
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      values = np.array([run[name] for run in runs], np.float64)
      out[name] = float(values.mean())
      if len(runs) > 1:
        out[f'{name}_std'] = float(values.std())
  return out


def _test_metrics(head: str, terms, true: np.ndarray, normalizer: Normalizer) -> tuple:
  """(metrics, prediction column) on the test split."""
  if head == 'unary':
    pred = normalizer.invert(terms['value'])
    return metrics.regression_metrics(pred, true), pred
  score = models.ranking_score(terms)
  out = metrics.ranking_metrics(score, true)
  correct, total = metrics.comparator_counts(terms['a'], terms['b'], float(terms['c']), true)
  out['comparator_accuracy'] = correct / total
  return out, score


def train_and_evaluate(config: ml_collections.ConfigDict, workdir) -> dict:
  """Trains (or evaluates) the configured predictor; writes metrics.json, predictions.csv, a checkpoint and a
  scatter plot under `workdir`; returns the metrics."""
  workdir = Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  dataset = load_training_data(config.data)
  kind = config.model.predictor
  normalizer = Normalizer.fit(dataset.values, config.data.get('normalize', False), config.data.get('log_targets', False))
  targets = normalizer.apply(dataset.values)
  groups = nasbench201.group_identical_encodings(dataset.vectors)[1]
  runs, predictions = [], None
  for repeat in range(config.get('repeats', 1)):
    seed = config.seed + repeat
    splits = split_rows(len(dataset), config.data.training_points, config.data.validation_points, seed)
    start = time.perf_counter()
    if kind in baselines.BASELINES:
      baseline = baselines.fit_baseline(kind, dataset.vectors[splits.train], dataset.values[splits.train], seed)
      pred = baseline.predict(dataset.vectors[splits.test])
      run = metrics.regression_metrics(pred, dataset.values[splits.test])
      head, fitted = 'unary', None
    else:
      model = create_model(config.model)
      head = model.head
      fitted = _fit_predictor(config, model, dataset, splits, targets, seed, progress=repeat == 0)
      test = Arrays.of(dataset, splits.test, targets)
      terms = head_terms(make_apply(model), fitted.params, test)
      run, pred = _test_metrics(head, terms, dataset.values[splits.test], normalizer)
      run.update(best_epoch=fitted.best_epoch, epochs_run=fitted.epochs_run, seconds_to_best=fitted.seconds_to_best)
    run.update(n_train=len(splits.train), n_valid=len(splits.valid), n_test=len(splits.test),
               train_seconds=time.perf_counter() - start)
    ceiling = metrics.noise_ceiling(groups, dataset.values, splits.test, unary=head == 'unary')
    if ceiling:
      run.update({f'ceiling_{k}': v for k, v in ceiling.items()})
    runs.append(run)
    if repeat == 0:
      predictions = (splits.test, pred)
      if fitted is not None:
        checkpoints.save(workdir, fitted.params, _card(config, dataset, normalizer, fitted))
        files.atomic_write_text(workdir / 'history.json', json.dumps(fitted.history) + '\n')
        _write_space_predictions(workdir)
  result = {**_aggregate(runs), 'repeats': runs, 'predictor': kind, 'head': head, 'dataset': dataset.name}
  files.atomic_write_text(workdir / 'metrics.json', json.dumps(result, indent=2) + '\n')
  _write_predictions(workdir / 'predictions.csv', dataset, *predictions)
  rows, pred = predictions
  plots.scatter(dataset.values[rows], pred, workdir / 'scatter.png',
                f'{kind} on {dataset.name}: Spearman {runs[0]["spearman"]:.3f}', dataset.units, head == 'unary')
  return result


def _fit_predictor(config, model, dataset, splits: Splits, targets, seed: int, progress: bool) -> FitResult:
  training = config.training
  params = init_params(model, jax.random.PRNGKey(seed))
  if training.get('load_from'):
    loaded, _ = checkpoints.load(training.load_from)
    checkpoints.check_compatible(loaded, params, training.load_from)
    params = loaded
  elif training.get('transfer_from'):
    loaded, _ = checkpoints.load(training.transfer_from)
    params = checkpoints.transfer(loaded, params, training.transfer_from)
  if training.get('eval_only', False):
    if not training.get('load_from'):
      raise ValueError('config.training.eval_only needs config.training.load_from (a trained checkpoint)')
    return FitResult(params, 0, 0, [], 0.0)
  train = Arrays.of(dataset, splits.train, targets)
  valid = Arrays.of(dataset, splits.valid, targets) if len(splits.valid) else None
  return fit(model, params, train, valid, training, seed, progress)


def _card(config, dataset, normalizer: Normalizer, fitted: FitResult) -> dict:
  return {'model': config.model.to_dict(), 'dataset': dataset.name, 'units': dataset.units,
          'lower_is_better': dataset.units == 's',
          'normalization': {'min': normalizer.low, 'max': normalizer.high, 'log': normalizer.log},
          'best_epoch': fitted.best_epoch, 'seed': config.seed}


def _write_predictions(path, dataset, rows, pred) -> None:
  lines = ['arch_str,target,prediction'] + [
      f'{dataset.arch_strs[r]},{float(dataset.values[r])!r},{float(p)!r}' for r, p in zip(rows, pred)]
  files.atomic_write_text(path, '\n'.join(lines) + '\n')


def _write_space_predictions(workdir: Path) -> None:
  """Every valid arch's prediction (unary: target units; binary: ranking score) as an Eagle-format pickle."""
  from eagle_jax.predictors import inference  # pylint: disable=g-import-not-at-top  (inference imports training)
  inference.infer_space(inference.load(workdir), workdir / 'space_predictions.pickle', overwrite=True)
