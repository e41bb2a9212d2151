"""Flax predictors: Eagle's GCN (jraph message passing, or a dense kernel) and MLP bodies, unary and binary heads.

A predictor embeds each graph once. A unary head regresses a value. Every binary head's pair logit (positive:
the first model has the larger target) is affine in the two embeddings, d(i, j) = a_i + b_j + c, so
heads return the per-model terms (a, b) and the scalar c: all pairs of a batch cost one embedding pass, and
ranking a space is one sort by a - b.
"""
import math
from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph

from eagle_jax.predictors import graphs as graphs_lib

HEADS = ('unary', 'default', 'naive', 'oneway', 'oneway_hard')
BODIES = ('gcn', 'mlp')
MESSAGE_PASSING = ('dense', 'jraph')


def thomas_init(key, shape, dtype=jnp.float32):
  """Eagle's 'thomas' (Kipf) init: uniform(-s, s), s = 1 / sqrt(last dimension), for weights and biases."""
  scale = 1.0 / math.sqrt(shape[-1])
  return jax.random.uniform(key, shape, dtype, -scale, scale)


def torch_linear_init(fan_in: int):
  """PyTorch's nn.Linear default for weight and bias: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
  scale = 1.0 / math.sqrt(fan_in)
  return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -scale, scale)


class GraphConvolution(nn.Module):
  """H' = A (H W) + b; with `global_only`, only the global node's row (node 0 of each graph) is computed."""
  features: int
  message_passing: str = 'dense'
  global_only: bool = False

  @nn.compact
  def __call__(self, graphs: jraph.GraphsTuple, h):
    kernel = self.param('kernel', thomas_init, (h.shape[-1], self.features))
    bias = self.param('bias', thomas_init, (self.features,))
    n = graphs.n_node.shape[0]
    num_nodes = h.shape[0] // n
    if self.message_passing == 'dense':
      adjacency = graphs_lib.dense_adjacency(graphs)
      h = h.reshape(n, num_nodes, -1)
      if self.global_only:  # (A H)[0] W: aggregate first, one matmul per graph
        return jnp.einsum('bj,bjh->bh', adjacency[:, 0, :], h) @ kernel + bias
      return (jnp.einsum('bij,bjh->bih', adjacency, h @ kernel) + bias).reshape(n * num_nodes, -1)
    if self.message_passing != 'jraph':
      raise ValueError(f'message_passing must be one of {MESSAGE_PASSING}, got {self.message_passing!r}')
    if self.global_only:
      aggregated = jraph.segment_sum(graphs.edges[:, None] * h[graphs.senders], graphs.receivers, n * num_nodes)
      return aggregated.reshape(n, num_nodes, -1)[:, 0] @ kernel + bias
    messages = graphs.edges[:, None] * (h @ kernel)[graphs.senders]
    return jraph.segment_sum(messages, graphs.receivers, n * num_nodes) + bias


class GCN(nn.Module):
  """Eagle's GCN body: [GraphConv -> LayerNorm(1e-5) -> ReLU -> Dropout] x L, read out at the global node."""
  num_layers: int = 4
  num_hidden: int = 600
  dropout_rate: float = 0.0
  message_passing: str = 'dense'

  @nn.compact
  def __call__(self, graphs: jraph.GraphsTuple, deterministic: bool = True):
    h = graphs.nodes
    for layer in range(self.num_layers):
      last = layer == self.num_layers - 1
      h = GraphConvolution(self.num_hidden, self.message_passing, global_only=last, name=f'gc_{layer}')(graphs, h)
      h = nn.LayerNorm(epsilon=1e-5, name=f'norm_{layer}')(h)
      h = nn.Dropout(self.dropout_rate)(nn.relu(h), deterministic=deterministic)
    return h


class MLP(nn.Module):
  """MLP over each graph's flattened features and adjacency: [Dense -> LayerNorm -> ReLU -> Dropout] x L."""
  num_layers: int = 4
  num_hidden: int = 600
  dropout_rate: float = 0.0

  @nn.compact
  def __call__(self, graphs: jraph.GraphsTuple, deterministic: bool = True):
    n = graphs.n_node.shape[0]
    h = jnp.concatenate([graphs.nodes.reshape(n, -1), graphs.edges.reshape(n, -1)], axis=-1)
    for layer in range(self.num_layers):
      init = torch_linear_init(h.shape[-1])
      h = nn.Dense(self.num_hidden, kernel_init=init, bias_init=init, name=f'dense_{layer}')(h)
      h = nn.LayerNorm(epsilon=1e-5, name=f'norm_{layer}')(h)
      h = nn.Dropout(self.dropout_rate)(nn.relu(h), deterministic=deterministic)
    return h


class Head(nn.Module):
  """The last layer: unary value, or binary pair terms (a, b, c) with d(i, j) = a_i + b_j + c."""
  kind: str = 'unary'

  @nn.compact
  def __call__(self, embedding):
    dim = embedding.shape[-1]
    if self.kind not in HEADS:
      raise ValueError(f'head must be one of {HEADS}, got {self.kind!r}')
    paired = self.kind in ('default', 'oneway', 'oneway_hard')
    fan_in = 2 * dim if paired else dim
    outputs = 2 if self.kind == 'default' else 1
    init = torch_linear_init(fan_in)
    kernel = self.param('kernel', init, (fan_in, outputs))
    bias = self.param('bias', init, (outputs,))
    if self.kind == 'unary':
      return {'value': embedding @ kernel[:, 0] + bias[0]}
    if self.kind == 'naive':  # two independent scores: d = s_i - s_j
      score = embedding @ kernel[:, 0] + bias[0]
      return {'a': score, 'b': -score, 'c': jnp.zeros((), embedding.dtype)}
    if self.kind == 'default':  # 2-class logits z = [e_i, e_j] W + b; d = z0 - z1
      direction, c = kernel[:, 0] - kernel[:, 1], bias[0] - bias[1]
    else:  # oneway: one logit [e_i, e_j] w + b
      direction, c = kernel[:, 0], bias[0]
    return {'a': embedding @ direction[:dim], 'b': embedding @ direction[dim:], 'c': c}


class Predictor(nn.Module):
  """Body + optional zero-cost augments + head. Input: dense (adjacency, features) batches.

  `ensemble` = K > 1: K members (their own initial weights and dropout; parameters stacked on a leading axis under
  `members`), evaluated at once; `__call__` returns the members' mean terms (so an ensemble ranks and predicts
  wherever one predictor does), and with `members=True` each member's terms on a leading axis."""
  body: str = 'gcn'
  head: str = 'unary'
  num_layers: int = 4
  num_hidden: int = 600
  dropout_rate: float = 0.0
  message_passing: str = 'dense'
  ensemble: int = 1

  def setup(self):
    if self.ensemble > 1:
      stacked = nn.vmap(Predictor, variable_axes={'params': 0}, split_rngs={'params': True, 'dropout': True},
                        in_axes=None, out_axes=0, axis_size=self.ensemble)
      self.members = stacked(self.body, self.head, self.num_layers, self.num_hidden, self.dropout_rate,
                             self.message_passing)
      return
    if self.body == 'gcn':
      self.encoder = GCN(self.num_layers, self.num_hidden, self.dropout_rate, self.message_passing)
    elif self.body == 'mlp':
      self.encoder = MLP(self.num_layers, self.num_hidden, self.dropout_rate)
    else:
      raise ValueError(f'body must be one of {BODIES}, got {self.body!r}')
    self.last = Head(self.head)

  def embed(self, adjacency, features, augments: Optional[jnp.ndarray] = None, deterministic: bool = True):
    if self.ensemble > 1:
      raise ValueError('an ensemble has one embedding per member: embed a single predictor (config.model.ensemble=1)')
    embedding = self.encoder(graphs_lib.to_graphs(adjacency, features), deterministic)
    if augments is not None:
      embedding = jnp.concatenate([embedding, augments.astype(embedding.dtype)], axis=-1)
    return embedding

  def regress(self, embedding):
    return self.last(embedding)

  def __call__(self, adjacency, features, augments=None, deterministic: bool = True, members: bool = False):
    if self.ensemble > 1:
      terms = self.members(adjacency, features, augments, deterministic)
      return terms if members else jax.tree_util.tree_map(lambda t: jnp.mean(t, axis=0), terms)
    return self.regress(self.embed(adjacency, features, augments, deterministic))


def pair_logits(terms) -> jnp.ndarray:
  """All ordered pair logits d[i, j] = a_i + b_j + c of one batch."""
  return terms['a'][:, None] + terms['b'][None, :] + terms['c']


def ranking_score(terms) -> jnp.ndarray:
  """The antisymmetric part a - b of a binary comparator (or the unary value): higher = larger target."""
  return terms['value'] if 'value' in terms else terms['a'] - terms['b']
