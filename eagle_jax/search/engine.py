"""BRP-NAS as one ask/tell engine: `ask()` proposes the next batch of candidates to
train, `tell({arch: value})` records what training gave, and the next `ask()` refits the learner on everything
told (warm-started) and picks by the configured selection rule. Benchmark mode is the loop
`tell(evaluate(ask()))` (`run`); the ask/tell binary keeps the engine's `state` in its workdir between calls.

The first batch is random (within `eligible`), or, with a prior (zero-cost proxy scores, or a learner pre-trained on
them), its best `search.prior_exploit` share straight from the prior's top and the rest sampled like any later
iteration. The engine's state is JSON: what was asked, what was told, the iteration, the generator's state.
"""
import dataclasses
import time
from typing import Dict, List, Optional

import ml_collections
import numpy as np
from tqdm import auto as tqdm

from eagle_jax.search import selection


def check_budget(search: ml_collections.ConfigDict, num_candidates: Optional[int] = None) -> None:
  """Refuses budgets, iteration counts and prior shares a search cannot run with."""
  budget, iterations = search.budget, search.iterations
  if budget < 2:
    raise ValueError(f'config.search.budget={budget}: a search needs at least 2 models to train')
  if num_candidates is not None and budget > num_candidates:
    raise ValueError(f'config.search.budget={budget} exceeds the {num_candidates} candidate models')
  if iterations < 1 or budget < 2 * iterations:
    raise ValueError(f'config.search.iterations={iterations} must be >= 1 and at most budget/2 = {budget // 2} '
                     f'(at least 2 models per iteration; config.search.budget={budget})')
  prior_exploit = search.get('prior_exploit', 0.5)
  if not 0 <= prior_exploit <= 1:
    raise ValueError(f'config.search.prior_exploit={prior_exploit} must be a share between 0 and 1')


class Engine:
  """One search over `candidates` (a `candidates` module set) with a learner (`learners`)."""

  def __init__(self, config: ml_collections.ConfigDict, candidates, learner, prior: Optional[np.ndarray] = None,
               pretrained: bool = False, eligible: Optional[np.ndarray] = None, state: Optional[dict] = None):
    self.search, self.candidates, self.learner = config.search, candidates, learner
    self.space = candidates.space
    self.prior, self.pretrained = prior, pretrained
    check_budget(self.search, int(np.sum(eligible)) if eligible is not None else len(candidates))
    self.selector = selection.Selector(self.search.selection, len(candidates), np.random.default_rng(config.seed),
                                       self.search.get('top_pool', 100), eligible)
    self.state = state or {'rows': [], 'asked': [], 'told': {}, 'iteration': 0, 'fitted': 0, 'history': []}
    if state:
      self.selector.restore(state['selector'])
    self._start = time.perf_counter()

  # ----- telling -----
  def tell(self, results: Dict, source: str = 'results') -> int:
    """Records values of asked models ({key or arch string: value}); returns how many were new. Telling a value
    twice is a no-op; a changed value, a value that is not finite or a model never asked for is refused."""
    asked, told = set(self.state['asked']), self.state['told']
    new = {}
    for key, value in results.items():
      text = key if isinstance(key, str) and key in asked else self.space.to_str(self.space.key(key))
      value = float(value)
      if not np.isfinite(value):
        raise ValueError(f'{source}: the value of {text} is {value}, not a finite number')
      if text not in asked:
        raise ValueError(f'{source}: {text} was not asked for')
      if text in told and told[text] != value:
        raise ValueError(f'{source}: {text} was told {told[text]} before, now {value}; values cannot change')
      if text not in told:
        new[text] = value
    told.update(new)
    return len(new)

  # ----- asking -----
  def pending(self) -> List[str]:
    return [text for text in self.state['asked'] if text not in self.state['told']]

  @property
  def finished(self) -> bool:
    return len(self.state['told']) >= self.search.budget

  def trained(self) -> tuple:
    """(rows, arch strings, values) of the models told, in the order they were asked."""
    told = self.state['told']
    pairs = [(row, text) for row, text in zip(self.state['rows'], self.state['asked']) if text in told]
    return [r for r, _ in pairs], [t for _, t in pairs], [told[t] for _, t in pairs]

  def fit(self) -> bool:
    """Refits the learner when values were told since its last fit; True if it did."""
    rows, archs, values = self.trained()
    if len(values) <= self.state['fitted']:
      return False
    keys = self.space.as_keys([self.space.from_str(text) for text in archs])
    record = self.learner.fit(keys, values, self.state['iteration'] - 1)
    self.state['fitted'] = len(values)
    self.state['history'].append({'iteration': self.state['iteration'] - 1, 'trained': len(values),
                                  'best_value': float(np.max(values)), **record,
                                  'seconds': time.perf_counter() - self._start})
    return True

  def _count(self) -> int:
    if self.state['iteration'] == self.search.iterations - 1:
      return self.search.budget - len(self.state['rows'])
    return self.search.budget // self.search.iterations

  def ask(self, progress: bool = False) -> List[str]:
    """The models to train next (arch strings): the ones asked and not yet told, or (all told) a new batch."""
    waiting = self.pending()
    if waiting or self.finished:
      return waiting
    self.fit()
    count, iteration = self._count(), self.state['iteration']
    if iteration == 0 and self.prior is None and not self.pretrained:
      rows = self.selector.initial(count)
    else:
      start = time.perf_counter()
      scores = (self.prior if iteration == 0 and self.prior is not None
                else self.learner.scores(self.candidates, progress, draw=iteration))
      exploit = round(self.search.get('prior_exploit', 0.5) * count) if iteration == 0 else None
      rows = self.selector.next(scores, self.state['rows'], count, iteration, exploit)
      if self.state['history']:
        self.state['history'][-1]['scoring_seconds'] = time.perf_counter() - start
    self.state['rows'] += [int(r) for r in rows]
    self.state['asked'] += self.space.strs(self.candidates.keys_at(rows))
    self.state['iteration'] += 1
    self.state['selector'] = self.selector.state()
    return self.state['asked'][-len(rows):]

  def scores(self, progress: bool = False) -> np.ndarray:
    """The learner's score of every candidate, refitted first on anything told since."""
    self.fit()
    return self.learner.scores(self.candidates, progress)


@dataclasses.dataclass
class SearchResult:
  trained: List[int]              # candidate rows in the order they were trained
  values: np.ndarray              # value of each trained model (same order)
  scores: np.ndarray              # final predicted score of every candidate (higher = better)
  history: List[dict]
  seconds: float

  @property
  def trace(self) -> List[int]:
    """Trained rows in order, then every other candidate by predicted score, best first."""
    return selection.trained_then_ranked(self.trained, self.scores)


def run(engine: Engine, evaluate, progress: bool = True) -> SearchResult:
  """Benchmark mode: `tell(evaluate(ask()))` until the budget is spent; `evaluate(rows) -> values` (rows of the
  candidate set) stands for training (higher = better)."""
  start = time.perf_counter()
  bar = tqdm.tqdm(total=engine.search.budget, desc='BRP-NAS', unit='model', disable=not progress)
  while not engine.finished:
    archs = engine.ask()
    values = evaluate(np.asarray(engine.state['rows'][-len(archs):], np.int64))
    engine.tell(dict(zip(archs, np.asarray(values).tolist())))
    bar.update(len(archs))
    bar.set_postfix(best=f"{max(engine.state['told'].values()):.3f}")
  bar.close()
  scores = engine.scores()
  rows, _, values = engine.trained()
  return SearchResult(rows, np.asarray(values), np.asarray(scores, np.float64), engine.state['history'],
                      time.perf_counter() - start)
