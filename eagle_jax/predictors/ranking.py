"""Scoring and ranking candidate sets of any size with a trained predictor: candidates arrive in chunks (a sampler's
stream), are encoded a chunk at a time and scored by one jitted step sharded over every local device
(`jax.sharding`); only one score per candidate and the running top-k are kept, so memory does not grow with the
embeddings. Across processes (`jax.distributed`), each process scores the chunks whose index it owns and the
top-k are merged.
"""
import dataclasses
import time
from typing import Iterable, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm import auto as tqdm

from eagle_jax.predictors import batches, models


@dataclasses.dataclass
class Ranked:
  """Scores of a candidate stream (higher = better: larger accuracy or smaller latency), in stream order; the
  best `top_k` candidates (their stream positions and keys, best first)."""
  scores: np.ndarray
  top: np.ndarray
  top_scores: np.ndarray
  top_keys: np.ndarray
  seconds: float


def local_mesh(devices=None) -> Mesh:
  """A one-axis ('batch') mesh over the given devices (default: every local device)."""
  return Mesh(np.array(devices if devices is not None else jax.local_devices()), ('batch',))


def make_scorer(predictor, mesh: Mesh):
  """A jitted step (params, adjacency, features, augments) -> score per candidate, the candidate axis sharded over
  the mesh and the parameters replicated."""
  sign = -1.0 if predictor.lower_is_better and not predictor.binary else 1.0
  split, replicated = NamedSharding(mesh, PartitionSpec('batch')), NamedSharding(mesh, PartitionSpec())

  def score(params, adjacency, features, augments):
    terms = predictor.model.apply({'params': params}, adjacency, features, augments, deterministic=True)
    return sign * models.ranking_score(terms)

  return jax.jit(score, in_shardings=(replicated, split, split, split), out_shardings=split)


def _merge_top(best_scores, best_index, scores, index, top_k):
  scores, index = np.concatenate([best_scores, scores]), np.concatenate([best_index, index])
  keep = np.argsort(-scores, kind='stable')[:top_k] if len(scores) <= 4 * top_k else None
  if keep is None:
    keep = np.argpartition(-scores, top_k - 1)[:top_k]
    keep = keep[np.lexsort((index[keep], -scores[keep]))]
  return scores[keep], index[keep]


class Scorer:
  """Scores key arrays of the predictor's space, a sharded step at a time."""

  def __init__(self, predictor, mesh: Optional[Mesh] = None, fill_missing: Optional[float] = None):
    self.predictor, self.space, self.fill_missing = predictor, predictor.space, fill_missing
    self.mesh = mesh or local_mesh()
    self._score = make_scorer(predictor, self.mesh)
    self._params = jax.device_put(predictor.params, NamedSharding(self.mesh, PartitionSpec()))

  def __call__(self, keys: np.ndarray) -> np.ndarray:
    """Scores of `keys`, in `batches.CHUNK` steps (a multiple of the device count)."""
    def inputs(rows):
      adjacency, features = self.space.encode(keys[rows])
      augments = batches.card_augments(self.space, keys[rows], self.predictor.card, self.fill_missing)
      augments = np.zeros((len(rows), 0), np.float32) if augments is None else augments
      return jnp.asarray(adjacency), jnp.asarray(features), jnp.asarray(augments, jnp.float32)
    scores = batches.chunked(lambda *x: self._score(self._params, *x), len(keys), inputs,
                             multiple=self.mesh.devices.size)
    return np.asarray(scores, np.float32)


def rank_stream(predictor, chunks: Iterable[np.ndarray], top_k: int = 1000, mesh: Optional[Mesh] = None,
                owned=None, keep=None, total: Optional[int] = None, progress: bool = False,
                fill_missing: Optional[float] = None) -> Ranked:
  """Scores every candidate of `chunks` (key arrays, in stream order) and keeps the best `top_k`.

  `owned(chunk_index) -> bool` restricts scoring to some chunks (a process's share; the others' scores are NaN);
  `keep(keys) -> bool mask` excludes candidates (score -inf; e.g. over a latency limit); `total` (candidates)
  only sizes the progress bar; `fill_missing`: see `batches.card_augments`."""
  start_time = time.perf_counter()
  scorer = Scorer(predictor, mesh, fill_missing=fill_missing)
  scores, best_scores, best_index, best_keys = [], np.empty(0, np.float32), np.empty(0, np.int64), {}
  offset = 0
  bar = tqdm.tqdm(total=total, desc='ranking', unit='model', disable=not progress, leave=False)
  for number, keys in enumerate(chunks):
    if owned is not None and not owned(number):
      scores.append(np.full(len(keys), np.nan, np.float32))
      offset += len(keys)
      continue
    chunk_scores = scorer(keys)
    if keep is not None:
      chunk_scores[~np.asarray(keep(keys), bool)] = -np.inf
    scores.append(chunk_scores)
    eligible = np.nonzero(chunk_scores > -np.inf)[0]  # excluded candidates never enter the top-k
    best_scores, best_index = _merge_top(best_scores, best_index, chunk_scores[eligible], offset + eligible, top_k)
    for i in best_index[(best_index >= offset) & (best_index < offset + len(keys))]:
      best_keys[int(i)] = keys[int(i) - offset]
    best_keys = {int(i): best_keys[int(i)] for i in best_index}
    offset += len(keys)
    bar.update(len(keys))
  bar.close()
  top_keys = np.stack([best_keys[int(i)] for i in best_index]) if len(best_index) else np.empty((0,), np.int8)
  return Ranked(np.concatenate(scores) if scores else np.empty(0, np.float32), best_index, best_scores, top_keys,
                time.perf_counter() - start_time)


def candidate_stream(space, candidates: int = 0, seed: int = 0, sampler: str = 'fast', chunk: int = 100_000):
  """A function returning a candidate stream of key-array chunks: every valid arch of a finite space
  (`candidates` 0), or `candidates` sampled with `seed` by the space's `sample_chunks` (DARTS streams them:
  `sampler` 'fast' or 'eagle')."""
  if candidates > 0:
    return lambda: space.sample_chunks(candidates, seed, chunk, mode=sampler)
  keys = space.enumerate()
  keys = keys[space.is_valid(keys)]
  return lambda: (keys[start:start + chunk] for start in range(0, len(keys), chunk))


def _gather(array: np.ndarray) -> np.ndarray:
  """Every process's `array` stacked (process, ...); strings travel as their code points."""
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  if array.dtype.kind == 'U':
    width = array.dtype.itemsize // 4
    codes = multihost_utils.process_allgather(array.view(np.uint32).reshape(*array.shape, width))
    return np.ascontiguousarray(codes).view(f'<U{width}').reshape(codes.shape[:-1])
  return np.asarray(multihost_utils.process_allgather(array))


def gather_scores(scores: np.ndarray) -> np.ndarray:
  """Every candidate's score from the processes' shares (each NaN outside the chunks it owns)."""
  if jax.process_count() == 1:
    return scores
  return np.fmax.reduce(_gather(np.asarray(scores, np.float32)), axis=0)


def rank_across_processes(predictor, make_chunks, top_k: int = 1000, keep=None, total: Optional[int] = None,
                          progress: bool = False, fill_missing: Optional[float] = None) -> Ranked:
  """`rank_stream` split over the processes of a `jax.distributed` run: every process draws the same seeded stream
  (`make_chunks()`), scores the chunks whose index modulo the process count is its own, on all its local devices;
  the top-k are then merged, so every process returns the same top-k (its `scores` hold its own share, NaN
  elsewhere). With one process this is `rank_stream`."""
  count, me = jax.process_count(), jax.process_index()
  ranked = rank_stream(predictor, make_chunks(), top_k, owned=lambda number: number % count == me, keep=keep,
                       total=total, progress=progress and me == 0, fill_missing=fill_missing)
  if count == 1:
    return ranked
  k = len(ranked.top)
  prototype = ranked.top_keys if k else predictor.space.sample(1, 0)  # key dtype and shape, alike everywhere
  width = prototype.shape[1:]
  sizes = _gather(np.array([k], np.int64)).reshape(-1)
  pad = int(sizes.max())
  scores = np.full(pad, -np.inf, np.float32)
  index = np.full(pad, -1, np.int64)
  keys = np.zeros((pad,) + width, prototype.dtype)
  scores[:k], index[:k] = ranked.top_scores, ranked.top
  if k:
    keys[:k] = ranked.top_keys
  all_scores, all_index, all_keys = _gather(scores).reshape(-1), _gather(index).reshape(-1), _gather(keys)
  all_keys = all_keys.reshape((-1,) + width)
  valid = all_index >= 0
  order = np.lexsort((all_index[valid], -all_scores[valid]))[:top_k]
  return Ranked(ranked.scores, all_index[valid][order], all_scores[valid][order], all_keys[valid][order],
                ranked.seconds)
