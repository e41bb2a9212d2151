"""Input pipeline: Eagle's (adjacency, features) encodings as jraph GraphsTuples.

Batches live on device as dense arrays (n, N, N) and (n, N, F) and become a GraphsTuple inside jitted code.
Every graph of a family has the same N (9 for NB201), and each graph carries all N*N ordered node pairs as
edges whose scalar feature is the adjacency entry (0 or 1), so shapes are static under jit. A message flows
from `senders` (j) to `receivers` (i) when A[i, j] = 1: node i aggregates from its successors, as in Eagle.
"""
import jax.numpy as jnp
import jraph


def to_graphs(adjacency, features) -> jraph.GraphsTuple:
  """A GraphsTuple batch from (n, N, N) adjacency and (n, N, F) features; traceable under jit."""
  n, num_nodes, _ = adjacency.shape
  local = jnp.arange(num_nodes)
  receivers_local = jnp.repeat(local, num_nodes)
  senders_local = jnp.tile(local, num_nodes)
  offsets = (jnp.arange(n) * num_nodes)[:, None]
  return jraph.GraphsTuple(
      nodes=features.reshape(n * num_nodes, features.shape[-1]),
      edges=adjacency.reshape(n * num_nodes * num_nodes),
      receivers=(offsets + receivers_local[None]).reshape(-1),
      senders=(offsets + senders_local[None]).reshape(-1),
      globals=None,
      n_node=jnp.full((n,), num_nodes, jnp.int32),
      n_edge=jnp.full((n,), num_nodes * num_nodes, jnp.int32))


def dense_adjacency(graphs: jraph.GraphsTuple):
  """The (n, N, N) adjacency of a fixed-size GraphsTuple batch built by `to_graphs`."""
  n = graphs.n_node.shape[0]
  num_nodes = graphs.nodes.shape[0] // n
  return graphs.edges.reshape(n, num_nodes, num_nodes)
