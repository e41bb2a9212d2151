"""Pre-training on many devices: one GCN body shared by all source devices, a linear head per device.

Each device's log latencies are standardised (its own mean and spread), so every device weighs the same in the
masked mean-squared loss. What a new device needs from it is kept: the body, every device's head in raw log
seconds (the prior of `adaptation`), and the heads' residual variance on held-out archs (the noise level).
"""
import dataclasses
import functools
import hashlib
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from tqdm import auto as tqdm

from eagle_jax import spaces
from eagle_jax.predictors import batches, checkpoints, initialization, models
from eagle_jax.transfer import devices as devices_lib

CHUNK = 2048  # archs embedded per jitted call


@dataclasses.dataclass
class Pretrained:
  """A body and the raw-log-seconds heads [w; b] (num_hidden + 1, devices) of the source devices."""
  model_config: dict
  params: dict
  heads: np.ndarray
  noise_var: float
  device_names: tuple
  space_name: str
  card: dict = dataclasses.field(default_factory=dict)
  _cached: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)), repr=False, compare=False)
  _cached_rows: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

  @property
  def space(self) -> spaces.Space:
    return spaces.get(self.space_name)

  def embed(self, keys, body=None) -> np.ndarray:
    """Embeddings of `keys` by this body (or another `body` of the same shape, e.g. fine-tuned) with a constant 1
    appended (n, num_hidden + 1), in chunks; this body's embeddings are kept per arch."""
    space = self.space
    keys = space.as_keys(keys)
    if body is not None:
      return self._embed(space, keys, body)
    hashable = space.hashable(keys)
    missing = sorted({i for i, key in enumerate(hashable) if key not in self._cached_rows})
    if missing:
      new = self._embed(space, keys[missing], self.params)
      for offset, i in enumerate(missing):
        self._cached_rows.setdefault(hashable[i], len(self._cached) + offset)
      self._cached = np.concatenate([self._cached, new]) if len(self._cached) else new
    return self._cached[[self._cached_rows[key] for key in hashable]]

  @property
  def cost_features(self) -> tuple:
    return tuple(self.card.get('cost_features', ()))

  def _embed(self, space, keys, params) -> np.ndarray:
    apply = _embed_fn(json.dumps(self.model_config, sort_keys=True))
    out = []
    for start in range(0, len(keys), CHUNK):
      chunk = keys[start:start + CHUNK]
      inputs = [*space.encode(chunk)]
      if self.cost_features:
        inputs.append(batches.cost_features(space, chunk, self.cost_features))
      n = len(chunk)
      pad = CHUNK - n if len(keys) > CHUNK else 0  # one compiled shape for big sets
      inputs = [jnp.asarray(np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]), jnp.float32)
                for x in inputs]
      out.append(np.asarray(apply(params, *inputs))[:n])
    embedding = np.concatenate(out).astype(np.float64)
    return np.concatenate([embedding, np.ones((len(embedding), 1))], axis=1)


@functools.lru_cache(maxsize=8)
def _embed_fn(model_config: str):
  """The jitted embedding of a model config (JSON), compiled once per config."""
  model = initialization.create_model(ml_collections.ConfigDict(json.loads(model_config)))
  return jax.jit(lambda params, adjacency, features, augments=None: model.apply(
      {'params': params}, adjacency, features, augments, method=models.Predictor.embed))


def config_digest(config: ml_collections.ConfigDict) -> str:
  """What a pre-trained model depends on: space, sources, model and pre-training settings, seed."""
  relevant = {'space': config.space, 'sources': list(config.transfer.sources), 'model': config.model.to_dict(),
              'pretrain': config.pretrain.to_dict(), 'seed': config.seed}
  return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def _split_rows(table: devices_lib.DeviceTable, archs: int, validation: float, seed: int):
  """Seeded training and held-out rows among the archs some source device measured."""
  rng = np.random.default_rng(seed)
  rows = rng.permutation(np.nonzero(~np.isnan(table.log_latency).all(axis=1))[0])
  if archs:
    rows = rows[:archs]
  held = max(1, int(round(validation * len(rows))))
  if len(rows) - held < 2:
    raise ValueError(f'config.pretrain.archs={archs}: too few archs to pre-train on ({len(rows)})')
  return rows[held:], rows[:held]


def pretrain(config: ml_collections.ConfigDict, progress: bool = True) -> Pretrained:
  """Trains the shared body and per-device heads on config.transfer.sources."""
  table = devices_lib.device_table(list(config.transfer.sources), config.space)
  options = config.pretrain
  train_rows, held_rows = _split_rows(table, options.archs, options.validation, config.seed)
  log_latency = table.log_latency
  mean = np.nanmean(log_latency[train_rows], axis=0)
  spread = np.nanstd(log_latency[train_rows], axis=0)
  if np.any(spread <= 0) or np.any(np.isnan(spread)):
    bad = table.names[int(np.argmax((spread <= 0) | np.isnan(spread)))]
    raise ValueError(f'source device {bad}: no spread of latencies among the pre-training archs')
  standard = (log_latency - mean) / spread
  adjacency, features = table.space.encode(table.keys)
  adjacency, features = jnp.asarray(adjacency, jnp.float32), jnp.asarray(features, jnp.float32)
  names = tuple(options.cost_features)
  augments = batches.cost_features(table.space, table.keys, names)
  augments = None if augments is None else jnp.asarray(augments)
  targets = jnp.asarray(np.nan_to_num(standard), jnp.float32)
  present = jnp.asarray(~np.isnan(standard), jnp.float32)

  model = initialization.create_model(config.model)
  key = jax.random.PRNGKey(config.seed)
  body = initialization.fresh_params(model, table.space, config.seed, len(names))
  hidden = config.model.num_hidden + len(names)
  head_key, key = jax.random.split(key)
  params = {'body': body, 'heads': {
      'kernel': jax.random.normal(head_key, (hidden, len(table.names))) / math.sqrt(hidden),
      'bias': jnp.zeros(len(table.names))}}
  batch = min(options.batch_size, len(train_rows))
  steps_per_epoch = math.ceil(len(train_rows) / batch)
  schedule = optax.cosine_decay_schedule(options.learning_rate, options.epochs * steps_per_epoch)
  optimizer = optax.adamw(schedule, weight_decay=options.weight_decay)
  opt_state = optimizer.init(params)

  def loss_fn(params, rows, mask, dropout_key, deterministic):
    embedding = model.apply({'params': params['body']}, adjacency[rows], features[rows],
                            None if augments is None else augments[rows], deterministic,
                            method=models.Predictor.embed, rngs={'dropout': dropout_key})
    pred = embedding @ params['heads']['kernel'] + params['heads']['bias']
    weight = present[rows] * mask[:, None]
    return jnp.sum(weight * (pred - targets[rows]) ** 2) / jnp.maximum(jnp.sum(weight), 1.0)

  @jax.jit
  def epoch_fn(params, opt_state, order, mask, key):
    def step(carry, batch):
      params, opt_state, key = carry
      key, dropout_key = jax.random.split(key)
      loss, grads = jax.value_and_grad(loss_fn)(params, batch[0], batch[1], dropout_key, False)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state, key), loss
    (params, opt_state, _), losses = jax.lax.scan(step, (params, opt_state, key), (order, mask))
    return params, opt_state, jnp.mean(losses)

  held = jnp.asarray(held_rows)
  held_loss = jax.jit(lambda params: loss_fn(params, held, jnp.ones(len(held_rows)), key, True))
  rng = np.random.default_rng(config.seed)
  best = (np.inf, params, 0)
  bar = tqdm.trange(1, options.epochs + 1, desc='pre-training on source devices', disable=not progress)
  for epoch in bar:
    order = np.zeros(steps_per_epoch * batch, np.int32)
    order[:len(train_rows)] = rng.permutation(train_rows)
    mask = np.zeros(steps_per_epoch * batch, np.float32)
    mask[:len(train_rows)] = 1
    key, epoch_key = jax.random.split(key)
    params, opt_state, train_loss = epoch_fn(params, opt_state, order.reshape(steps_per_epoch, batch),
                                             mask.reshape(steps_per_epoch, batch), epoch_key)
    valid_loss = float(held_loss(params))
    if not (math.isfinite(float(train_loss)) and math.isfinite(valid_loss)):
      raise FloatingPointError(f'pre-training diverged at epoch {epoch} (loss {float(train_loss)}); lower '
                               'config.pretrain.learning_rate')
    bar.set_postfix(train=f'{float(train_loss):.4f}', held_out=f'{valid_loss:.4f}')
    if valid_loss < best[0]:
      best = (valid_loss, params, epoch)
  params = jax.device_get(best[1])
  kernel, bias = np.asarray(params['heads']['kernel'], np.float64), np.asarray(params['heads']['bias'], np.float64)
  heads = np.concatenate([kernel * spread, (bias * spread + mean)[None]], axis=0)  # raw log seconds
  pretrained = Pretrained(config.model.to_dict(), params['body'], heads, 0.0, table.names, table.space.reference,
                          {'cost_features': list(names)})
  residual = pretrained.embed(table.keys[held_rows]) @ heads - log_latency[held_rows]
  pretrained.noise_var = float(np.nanmean(np.nanvar(residual, axis=0)))
  pretrained.card = {**pretrained.card, 'kind': 'multi_device_latency', 'space': table.space.reference,
                     'model': config.model.to_dict(),
                     'devices': list(table.names), 'sources': list(config.transfer.sources),
                     'heads': heads.tolist(), 'noise_var': pretrained.noise_var, 'best_epoch': best[2],
                     'held_out_loss': best[0], 'archs': {'train': len(train_rows), 'held_out': len(held_rows)},
                     'digest': config_digest(config)}
  return pretrained


def save(pretrained: Pretrained, folder) -> None:
  checkpoints.save(folder, pretrained.params, pretrained.card)


def load(folder) -> Pretrained:
  """A pre-trained multi-device model saved by `save` (a folder holding checkpoint/ and predictor.json)."""
  params, card = checkpoints.load(folder)
  if card.get('kind') != 'multi_device_latency':
    raise ValueError(f'{folder} holds a predictor, not a model pre-trained on several devices')
  return Pretrained(card['model'], params, np.asarray(card['heads']), float(card['noise_var']),
                    tuple(card['devices']), card['space'], card)


def load_or_pretrain(config: ml_collections.ConfigDict, folder: Path, progress: bool = True) -> Pretrained:
  """The pre-trained model in `folder` when it was made from the same settings, else a new one saved there."""
  folder = Path(folder)
  if (folder / checkpoints.CARD).is_file():
    pretrained = load(folder)
    if pretrained.card.get('digest') != config_digest(config):
      raise ValueError(f'{folder} holds a model pre-trained with other sources or settings; use another workdir '
                       '(or point config.transfer.pretrained at the model you mean)')
    return pretrained
  pretrained = pretrain(config, progress)
  folder.mkdir(parents=True, exist_ok=True)
  save(pretrained, folder)
  return pretrained
