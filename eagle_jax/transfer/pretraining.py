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

from eagle_jax import spaces
from eagle_jax.predictors import batches, checkpoints, initialization, models, training
from eagle_jax.transfer import devices as devices_lib


@dataclasses.dataclass(frozen=True)
class EmbeddingHeads:
  """The `training.fit` objective of linear heads over a predictor's embedding: params {'body': Predictor
  params, 'heads': {'kernel': (hidden, devices), 'bias': (devices,)}}, mean squared error over the measured
  entries of `batches.Arrays` targets (archs, devices), NaN where a device did not measure an arch."""
  model: models.Predictor

  def __call__(self, params, data: batches.Arrays, rows, mask, dropout_key, deterministic: bool = False):
    batch = data.take(rows)
    embedding = self.model.apply({'params': params['body']}, batch.adjacency, batch.features, batch.augments,
                                 deterministic, method=models.Predictor.embed, rngs={'dropout': dropout_key})
    pred = embedding @ params['heads']['kernel'] + params['heads']['bias']
    present = ~jnp.isnan(batch.targets)
    weight = present * mask[:, None]
    error = jnp.where(present, pred - batch.targets, 0.0)
    return jnp.sum(weight * error ** 2) / jnp.maximum(jnp.sum(weight), 1.0)

  def evaluate(self, params, data: batches.Arrays) -> float:
    return float(training.full_loss(self, params, data))


def encoded(space, keys, targets, cost_features) -> batches.Arrays:
  """Device arrays of `keys` with their cost-feature augments and `targets` (archs, devices)."""
  adjacency, features = space.encode(keys)
  augments = batches.cost_features(space, keys, tuple(cost_features))
  return batches.Arrays(jnp.asarray(adjacency, jnp.float32), jnp.asarray(features, jnp.float32),
                        jnp.asarray(targets, jnp.float32), None if augments is None else jnp.asarray(augments))


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

    def inputs(rows):
      adjacency, features = space.encode(keys[rows])
      augments = batches.cost_features(space, keys[rows], self.cost_features)
      return jnp.asarray(adjacency, jnp.float32), jnp.asarray(features, jnp.float32), augments

    embedding = batches.chunked(lambda *x: apply(params, *x), len(keys), inputs).astype(np.float64)
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
  names = tuple(options.cost_features)
  data = encoded(table.space, table.keys, standard, names)
  model = initialization.create_model(config.model)
  body = initialization.fresh_params(model, table.space, config.seed, len(names))
  hidden = config.model.num_hidden + len(names)
  head_key, _ = jax.random.split(jax.random.PRNGKey(config.seed))
  params = {'body': body, 'heads': {
      'kernel': jax.random.normal(head_key, (hidden, len(table.names))) / math.sqrt(hidden),
      'bias': jnp.zeros(len(table.names))}}
  fitted = training.fit(EmbeddingHeads(model), params, data.take(train_rows), data.take(held_rows), options,
                        config.seed, progress, where='config.pretrain', desc='pre-training on source devices')
  params = jax.device_get(fitted.params)
  kernel, bias = np.asarray(params['heads']['kernel'], np.float64), np.asarray(params['heads']['bias'], np.float64)
  heads = np.concatenate([kernel * spread, (bias * spread + mean)[None]], axis=0)  # raw log seconds
  pretrained = Pretrained(config.model.to_dict(), params['body'], heads, 0.0, table.names, table.space.reference,
                          {'cost_features': list(names)})
  residual = pretrained.embed(table.keys[held_rows]) @ heads - log_latency[held_rows]
  pretrained.noise_var = float(np.nanmean(np.nanvar(residual, axis=0)))
  pretrained.card = {**pretrained.card, 'kind': 'multi_device_latency', 'space': table.space.reference,
                     'model': config.model.to_dict(),
                     'devices': list(table.names), 'sources': list(config.transfer.sources),
                     'heads': heads.tolist(), 'noise_var': pretrained.noise_var, 'best_epoch': fitted.best_epoch,
                     'held_out_loss': min(epoch['valid_loss'] for epoch in fitted.history),
                     'archs': {'train': len(train_rows), 'held_out': len(held_rows)},
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
