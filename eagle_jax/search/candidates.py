"""The candidate sets a BRP-NAS engine searches: a table held in memory (a benchmark's archs, each distinct
encoding embedded once) or a stream of key chunks (millions of sampled archs, scored a sharded step at a time and
never held as encodings). Both give the same four things: their size, the keys at some rows, a function mapped
over every candidate (latency masks, prior values) and a predictor's score of every candidate (higher = better).
"""
from typing import Callable, Optional

import numpy as np

from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import batches, inference, models, ranking

UNPICKED = 0.0  # the prior value given to candidates without one: the engine never picks them (not eligible)


class TableCandidates:
  """Candidates held as one key array."""

  def __init__(self, space, keys: np.ndarray):
    self.space, self.keys = space, keys
    self._encoded = {}

  def __len__(self) -> int:
    return len(self.keys)

  def keys_at(self, rows) -> np.ndarray:
    return self.keys[np.asarray(rows, np.int64)]

  def map(self, function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.asarray(function(self.keys))

  def terms(self, apply, params, card: dict, progress: bool = False) -> dict:
    """Head outputs per candidate (the augments the predictor's card names; encodings grouped once per card)."""
    name = repr((card.get('cost_features'), card.get('prior')))
    if name not in self._encoded:
      self._encoded = {name: inference.EncodedSet(self.space, self.keys,
                                                  batches.card_augments(self.space, self.keys, card, UNPICKED))}
    return self._encoded[name].terms(apply, params, progress)

  def scores(self, predictor: inference.TrainedPredictor, progress: bool = False) -> np.ndarray:
    return np.asarray(models.ranking_score(self.terms(predictor.apply, predictor.params, predictor.card, progress)),
                      np.float64)


class StreamCandidates:
  """Candidates drawn chunk by chunk from a seeded stream (`make_chunks()` starts it again), ranked on every local
  device and across processes; the keys of the best `remember` of the last scoring are kept, so that picking from
  the predicted top does not draw the stream again."""

  def __init__(self, space, make_chunks, total: Optional[int] = None, remember: int = 1000):
    self.space, self.make_chunks, self.remember = space, make_chunks, remember
    self.total = total if total is not None else sum(len(chunk) for chunk in make_chunks())
    self._known = {}

  def __len__(self) -> int:
    return self.total

  def keys_at(self, rows) -> np.ndarray:
    rows = np.asarray(rows, np.int64)
    missing = np.array(sorted({int(r) for r in rows if int(r) not in self._known}), np.int64)
    offset = 0
    for chunk in (self.make_chunks() if len(missing) else ()):
      inside = missing[(missing >= offset) & (missing < offset + len(chunk))]
      self._known.update({int(r): chunk[r - offset] for r in inside})
      offset += len(chunk)
    return np.stack([self._known[int(r)] for r in rows]) if len(rows) else self.space.sample(1, 0)[:0]

  def map(self, function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(function(chunk)) for chunk in self.make_chunks()])

  def scores(self, predictor: inference.TrainedPredictor, progress: bool = False) -> np.ndarray:
    ranked = ranking.rank_across_processes(predictor, self.make_chunks, top_k=self.remember, total=self.total,
                                           progress=progress, fill_missing=UNPICKED)
    self._known = {int(r): key for r, key in zip(ranked.top, ranked.top_keys)}
    return ranking.gather_scores(ranked.scores).astype(np.float64)


def of_config(space, search):
  """The ask/tell candidate set of config.search: `candidate_file`'s archs, or `candidates` sampled with
  `candidate_seed` by `sampler` (0: every valid arch of a finite space)."""
  if search.candidate_file:
    table = dataset_lib.load_dataset(search.candidate_file, space=space)
    return TableCandidates(space, table.subset(table.valid).keys)
  return StreamCandidates(space, ranking.candidate_stream(space, search.candidates, search.candidate_seed,
                                                         search.sampler),
                          remember=2 * search.budget + search.top_pool)
