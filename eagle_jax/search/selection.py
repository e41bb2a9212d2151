"""Iterative data selection (BRP-NAS): which candidates to train next, given predictor scores.

Modes: `sample_best2` (the paper's alpha = 0.5: the predicted best, plus random picks from the predicted top
1/2, 1/2, 1/4, 1/8, ... of the space), `sample_best` (Eagle's median-discard variant with its score pairing fixed),
`random` (a true alpha = 0: uniform over untrained candidates), `halving` (Eagle's default without flags:
the pool permanently halved by the predictor each iteration, then random picks) and `top_pool` (Eagle's manual
DARTS loop: the predicted best, plus random picks from the best `top_pool` untrained). Every mode adds exactly the
requested count, and a pool too small for it is an error, never an endless loop. Candidates outside `eligible`
(over a latency limit, without a prior value) are never picked.
"""
import base64
from typing import Optional

import numpy as np

MODES = ('sample_best2', 'sample_best', 'random', 'halving', 'top_pool')


def pick_random(rng: np.random.Generator, pool: np.ndarray, count: int, exclude: set) -> list:
  """`count` distinct rows of `pool` not in `exclude`, uniformly at random."""
  eligible = np.array([r for r in pool.tolist() if r not in exclude], np.int64)
  if len(eligible) < count:
    raise ValueError(f'cannot pick {count} new models: only {len(eligible)} eligible candidates remain')
  return rng.choice(eligible, count, replace=False).tolist()


def trained_then_ranked(trained: list, scores: np.ndarray) -> list:
  """A search trace: the trained rows in order, then every other candidate by score, highest first."""
  taken = set(trained)
  return list(trained) + [r for r in np.argsort(-scores, kind='stable').tolist() if r not in taken]


class Selector:
  """Keeps the state of one search's selection (the active pool of the halving modes)."""

  def __init__(self, mode: str, num_candidates: int, rng: np.random.Generator, top_pool: int = 100,
               eligible: Optional[np.ndarray] = None):
    if mode not in MODES:
      raise ValueError(f'config.search.selection must be one of {MODES}, got {mode!r}')
    if mode == 'top_pool' and top_pool < 1:
      raise ValueError(f'config.search.top_pool={top_pool} must be at least 1')
    self.mode, self.rng, self.top_pool = mode, rng, top_pool
    self.active = np.ones(num_candidates, bool) if eligible is None else np.array(eligible, bool)

  def state(self) -> dict:
    """What a later process needs to go on (JSON): the generator's state and, for the halving modes, the pool."""
    halving = self.mode in ('halving', 'sample_best')
    return {'rng': self.rng.bit_generator.state,
            'pool': base64.b64encode(np.packbits(self.active).tobytes()).decode() if halving else None}

  def restore(self, state: dict) -> None:
    self.rng.bit_generator.state = state['rng']
    if state.get('pool'):
      bits = np.frombuffer(base64.b64decode(state['pool']), np.uint8)
      self.active = np.unpackbits(bits)[:len(self.active)].astype(bool)

  def initial(self, count: int) -> list:
    return pick_random(self.rng, np.nonzero(self.active)[0], count, set())

  def next(self, scores: np.ndarray, trained: list, count: int, iteration: int, exploit=None) -> list:
    """`count` new candidate rows for iteration `iteration` (>= 1, or 0 after a zero-cost warm-up); the sampling
    modes take the `exploit` best by score (default half) and sample the rest."""
    taken = set(trained)
    exploit = count // 2 if exploit is None else min(exploit, count)
    if self.mode == 'random':
      return pick_random(self.rng, np.nonzero(self.active)[0], count, taken)
    if self.mode in ('halving', 'sample_best'):
      active = np.nonzero(self.active)[0]
      self.active[active[scores[active] <= np.median(scores[active])]] = False
    if self.mode == 'halving':
      return pick_random(self.rng, np.nonzero(self.active)[0], count, taken)
    pool = np.nonzero(self.active)[0]
    order = pool[np.argsort(-scores[pool], kind='stable')]
    best = [r for r in order[:exploit + len(taken)].tolist() if r not in taken][:exploit]
    taken |= set(best)
    if self.mode == 'top_pool':
      top = np.array([r for r in order[:self.top_pool + len(taken)].tolist() if r not in taken], np.int64)
      return best + pick_random(self.rng, top[:max(0, self.top_pool - exploit)], count - exploit, taken)
    if self.mode == 'sample_best':
      return best + pick_random(self.rng, pool, count - exploit, taken)
    threshold = scores[order[min(len(order) - 1, len(order) // 2 ** max(iteration, 1))]]
    top = order[scores[order] > threshold]
    needed = count - exploit
    if sum(r not in taken for r in top.tolist()) < needed:  # a small candidate set: widen the top to fit
      top = np.array([r for r in order.tolist() if r not in taken][:needed], np.int64)
    return best + pick_random(self.rng, top, needed, taken)
