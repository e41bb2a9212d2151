"""Eagle's NB201 encoding done as the original describes it, one arch and one op at a time.

The reference that the vectorised `nasbench201.encode` is tested against, and the simple alternative its
benchmark is compared with.
"""
import numpy as np

from eagle_jax.spaces.nasbench201 import archs as nb


def encode_one(vec) -> tuple:
  """(adjacency (9, 9), features (9, 6)) for one op vector, by sequential edge surgery and BFS pruning."""
  n = nb.NUM_DAG_NODES
  succ = {u: set() for u in range(n)}
  for src, dst in nb._DAG_EDGES:  # pylint: disable=protected-access
    succ[src].add(dst)
  labels = [None] * n
  for position, op in enumerate(vec):
    node = position + 1
    preds = [u for u in range(n) if node in succ[u]]
    if op == nb.NONE:
      for u in preds:
        succ[u].discard(node)
      succ[node] = set()
    elif op == nb.SKIP:
      if succ[node]:
        for u in preds:
          succ[u] |= succ[node]
          succ[u].discard(node)
      succ[node] = set()
    else:
      labels[node] = op

  def reachable(start, edges):
    seen, stack = {start}, [start]
    while stack:
      for v in edges[stack.pop()]:
        if v not in seen:
          seen.add(v)
          stack.append(v)
    return seen

  pred = {v: {u for u in range(n) if v in succ[u]} for v in range(n)}
  forward, backward = reachable(0, succ), reachable(n - 1, pred)
  alive = forward & backward if n - 1 in forward else set()
  adjacency = np.eye(n + 1, dtype=np.float32)
  adjacency[0, :] = 1
  for u in alive:
    for v in succ[u] & alive:
      adjacency[u + 1, v + 1] = 1
  features = np.zeros((n + 1, nb.NUM_FEATURES), np.float32)
  features[0, 5] = features[1, 3] = features[n, 4] = 1
  for node in alive:
    if labels[node] is not None:
      features[node + 1, labels[node] - nb.CONV1X1] = 1
  return adjacency, features
