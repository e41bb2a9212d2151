"""Losses: L1 for unary predictors, pairwise soft-target losses for binary comparators."""
import jax
import jax.numpy as jnp

from eagle_jax.predictors import models


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
