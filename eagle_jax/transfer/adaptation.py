"""Adapting a pre-trained multi-device model to a new device from K measured models.

The new device's head is Bayesian linear regression on the body's embedding phi(x) = [h(x), 1], predicting log
seconds, with the source devices' heads as the prior: mean = their mean, covariance = their covariance plus an
isotropic floor (`prior_floor` times the mean prior variance), noise = the heads' held-out residual variance.
Closed form: milliseconds. The same posterior picks which K models to measure: 'informative' (greedy D-optimal
design: each pick the candidate whose prediction the current posterior is least sure of), 'disagreement' (each pick
the candidate whose measurement most shrinks the posterior's predictive variance summed over every candidate: the
disagreement of the heads it still allows, over the space), or 'random'.

Compared against (experiments/validations/transfer_table.py): `scale_shift` (the mean source head, scaled and shifted to the K
samples), `finetune` (every parameter of the pre-trained network, from the best-fitting source head, Adam on the K
samples), and fits on the K samples alone: `flops` (log latency linear in log FLOPs) and `linear` (one-hot ridge).
"""
from typing import Optional, Tuple

import jax
import ml_collections
import numpy as np

from eagle_jax import spaces
from eagle_jax.predictors import baselines, initialization, training
from eagle_jax.transfer import pretraining

METHODS = ('bayes', 'scale_shift', 'finetune', 'flops', 'linear')
CHOICES = ('informative', 'disagreement', 'random')


def prior(pretrained: pretraining.Pretrained, floor: float) -> Tuple[np.ndarray, np.ndarray]:
  """(mean, covariance) of a device head from the source heads."""
  heads = pretrained.heads.T
  mean = heads.mean(axis=0)
  cov = np.cov(heads, rowvar=False) if len(heads) > 1 else np.zeros((heads.shape[1],) * 2)
  scale = np.trace(cov) / len(cov) if np.trace(cov) > 0 else 1.0
  return mean, cov + floor * scale * np.eye(len(cov))


def posterior(phi: np.ndarray, log_latency: np.ndarray, mean: np.ndarray, cov: np.ndarray,
              noise_var: float) -> np.ndarray:
  """Posterior mean head given K embeddings and log latencies."""
  precision = np.linalg.inv(cov)
  a = precision + phi.T @ phi / noise_var
  return np.linalg.solve(a, precision @ mean + phi.T @ log_latency / noise_var)


def candidate_pool(space: spaces.Space, keys: np.ndarray) -> np.ndarray:
  """Rows of `keys` with distinct encodings (one per group of identical networks)."""
  first, _ = space.group_identical_encodings(keys)
  return np.asarray(first, np.int64)


def choose(pretrained: pretraining.Pretrained, keys: np.ndarray, k: int, choice: str, seed: int,
           floor: float, pool_fraction: float = 0.5) -> np.ndarray:
  """Rows of `keys` to measure: `k` distinct networks, 'random', or greedy from a seeded random `pool_fraction`
  of the candidates: 'informative' (the largest predictive variance) or 'disagreement' (the largest drop of the
  predictive variance summed over all candidates)."""
  if choice not in CHOICES:
    raise ValueError(f'config.transfer.choice must be one of {CHOICES}, got {choice!r}')
  space = spaces.get(pretrained.space_name)
  everyone = candidate_pool(space, keys)
  if k > len(everyone):
    raise ValueError(f'config.transfer.samples={k} but only {len(everyone)} distinct networks are candidates')
  rng = np.random.default_rng(seed)
  if choice == 'random':
    return np.sort(rng.choice(everyone, k, replace=False))
  pool = rng.choice(len(everyone), max(k, int(round(pool_fraction * len(everyone)))), replace=False)
  rows = everyone[pool]
  if choice == 'disagreement':  # sum over candidates x of (phi_x' S u)^2 = u' S G S u, G their second moment
    every_phi = pretrained.embed(keys[everyone])  # the pool's embeddings are among them
    gram = every_phi.T @ every_phi / len(every_phi)
    phi = every_phi[pool]
  else:
    phi = pretrained.embed(keys[rows])
  cov = prior(pretrained, floor)[1]
  projected = phi @ cov  # rank-one updates of every candidate's predictive variance after each pick
  variance = np.sum(projected * phi, axis=1)
  chosen = []
  for _ in range(k):
    if choice == 'disagreement':
      score = np.sum((projected @ gram) * projected, axis=1) / (pretrained.noise_var + variance)
    else:
      score = variance.copy()
    score[chosen] = -np.inf
    pick = int(np.argmax(score))
    chosen.append(pick)
    u = projected[pick]
    scale = pretrained.noise_var + u @ phi[pick]
    correction = phi @ u
    variance = variance - correction ** 2 / scale
    projected = projected - np.outer(correction, u) / scale
  return np.sort(rows[chosen])


class Adapted:
  """A device predictor: a head over [embedding, 1] in log seconds, on the pre-trained body or on a fine-tuned
  `body` (Predictor params)."""

  def __init__(self, pretrained: pretraining.Pretrained, head: np.ndarray, body: Optional[dict] = None):
    self.pretrained, self.head, self.body = pretrained, np.asarray(head, np.float64), body

  def predict(self, keys) -> np.ndarray:
    """Seconds."""
    return np.exp(self.pretrained.embed(keys, self.body) @ self.head)

  def predictor_params(self) -> dict:
    """The params of a unary Predictor whose value is log seconds (a `python -m eagle_jax.train` checkpoint)."""
    head = self.head.astype(np.float32)
    body = self.pretrained.params if self.body is None else self.body
    return {**body, 'last': {'kernel': head[:-1, None], 'bias': head[-1:]}}


def adapt(method: str, pretrained: pretraining.Pretrained, keys: np.ndarray, latency: np.ndarray,
          floor: float, finetune_steps: int = 200, finetune_lr: float = 1e-3):
  """A predictor of the new device from its K measured `keys` and `latency` (seconds): an `Adapted` for the
  methods on the pre-trained network, a fitted baseline for `flops` and `linear`."""
  if method not in METHODS:
    raise ValueError(f'config.transfer.method must be one of {METHODS}, got {method!r}')
  log_latency = np.log(np.asarray(latency, np.float64))
  if method in ('flops', 'linear'):
    return baselines.fit_baseline(method, pretrained.space, keys, latency)
  phi = pretrained.embed(keys)
  if method == 'bayes':
    mean, cov = prior(pretrained, floor)
    return Adapted(pretrained, posterior(phi, log_latency, mean, cov, pretrained.noise_var))
  if method == 'scale_shift':
    mean = pretrained.heads.mean(axis=1)
    base = phi @ mean
    design = np.stack([base, np.ones_like(base)], axis=1)
    scale, shift = np.linalg.lstsq(design, log_latency, rcond=None)[0] if len(keys) > 1 else (1.0, 0.0)
    head = scale * mean
    head[-1] += shift
    return Adapted(pretrained, head)
  errors = ((phi @ pretrained.heads - log_latency[:, None]) ** 2).mean(axis=0)
  start = pretrained.heads[:, int(np.argmin(errors))]
  body, head = _finetune(pretrained, keys, log_latency, start, finetune_steps, finetune_lr)
  return Adapted(pretrained, head, body)


def _finetune(pretrained, keys, log_latency, start_head, steps: int, learning_rate: float):
  """Adam on every parameter (body and head) of the pre-trained network, full batch on the K samples: `steps`
  epochs of `training.fit`, the deterministic loss on the samples picking the best."""
  space = spaces.get(pretrained.space_name)
  keys = space.as_keys(keys)
  samples = pretraining.encoded(space, keys, np.asarray(log_latency)[:, None], pretrained.cost_features)
  head = np.asarray(start_head, np.float32)
  params = {'body': pretrained.params, 'heads': {'kernel': head[:-1, None], 'bias': head[-1:]}}
  model = initialization.create_model(ml_collections.ConfigDict(pretrained.model_config))
  options = ml_collections.ConfigDict(dict(epochs=steps, batch_size=len(keys), learning_rate=learning_rate,
                                           lr_scheduler='constant', shuffle=False))
  fitted = jax.device_get(training.fit(pretraining.EmbeddingHeads(model), params, samples, samples, options, seed=0,
                                       progress=False, where='config.transfer (finetune_steps, finetune_lr)').params)
  heads = fitted['heads']
  return fitted['body'], np.concatenate([heads['kernel'][:, 0], heads['bias']]).astype(np.float64)
