"""BRP-NAS with external training, one step per call (ask / tell): Eagle's manual DARTS loop (reference 6.6) as a
resumable job. The first call asks for random models of the candidate set; each later call is told the values of
the models trained since, retrains the binary predictor warm-started on everything told so far, ranks the whole
candidate set (streamed; millions of models) and asks for the next batch: half the best untrained models, half
drawn at random from the predicted top (`config.search.top_pool`).

Workdir: `to_train.txt` (arch strings to train next), `state.json` (everything asked and told; written last and
atomically, so a call that dies leaves the previous state and is simply repeated), `summary.json`, and the
predictor checkpoint (`predictors.load(workdir)`). Telling a value twice is a no-op; a different value for a model
already told, or a value for a model never asked for, is refused.
"""
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional

import ml_collections
import numpy as np

from eagle_jax import files, spaces
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import checkpoints, inference, initialization, ranking, training
from eagle_jax.search import brpnas

STATE, TO_TRAIN, SUMMARY = 'state.json', 'to_train.txt', 'summary.json'
NEXT = '.next'  # the retrained predictor, moved into the workdir once the state naming it is written


def settings_digest(config: ml_collections.ConfigDict) -> str:
  """What fixes the candidate set and the choices: a workdir is only continued with the same."""
  search = config.search
  relevant = {'space': config.space, 'seed': config.seed, 'model': config.model.to_dict(),
              'candidates': search.candidates, 'sampler': search.sampler, 'candidate_seed': search.candidate_seed,
              'candidate_file': search.candidate_file, 'latency': config.latency.to_dict(),
              'budget': search.budget, 'iterations': search.iterations, 'top_pool': search.top_pool}
  return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def predictor_card(config: ml_collections.ConfigDict, space_name: str, prior: Optional[dict] = None) -> dict:
  """The card of a search's binary predictor (targets: brpnas.comparator_targets); `prior`: the zero-cost block
  whose values it reads as an augment."""
  return {'model': config.model.to_dict(), 'dataset': 'search', 'units': '', 'space': space_name,
          'lower_is_better': False, 'cost_features': [], 'normalization': {'min': 0.0, 'max': 1.0, 'log': False},
          'best_epoch': 0, 'seed': config.seed, **({'prior': prior} if prior else {})}


class AskTell:
  """The library face: `ask()` the models to train, `tell({arch: value})` their values, repeat."""

  def __init__(self, config: ml_collections.ConfigDict, workdir):
    self.config, self.workdir = config, Path(workdir)
    self.space = spaces.get(config.space)
    search = config.search
    if search.budget < 2 or search.iterations < 1 or search.budget < 2 * search.iterations:
      raise ValueError(f'config.search.budget={search.budget} and iterations={search.iterations}: every iteration '
                       'needs at least 2 models')
    self.digest = settings_digest(config)
    path = self.workdir / STATE
    if path.exists():
      self.state = json.loads(path.read_text())
      if self.state.get('settings') != self.digest:
        raise ValueError(f'{self.workdir} holds an ask/tell search with other settings (space, seed, model, '
                         'candidates, budget, iterations or top_pool changed); use a new workdir')
    else:
      self.state = {'settings': self.digest, 'asked': [], 'told': {}, 'iteration': 0, 'history': [],
                    'params_sha256': None}
    self._finish_commit()

  def _finish_commit(self) -> None:
    """Moves a retrained predictor whose state was written into place; drops one whose state never was."""
    staged = self.workdir / NEXT
    if not staged.exists():
      return
    card = json.loads((staged / checkpoints.CARD).read_text()) if (staged / checkpoints.CARD).exists() else {}
    if card.get('params_sha256') and card['params_sha256'] == self.state.get('params_sha256'):
      target, old = self.workdir / checkpoints.PARAMS_DIR, self.workdir / f'.{checkpoints.PARAMS_DIR}.old'
      shutil.rmtree(old, ignore_errors=True)
      if target.exists():
        os.replace(target, old)
      os.replace(staged / checkpoints.PARAMS_DIR, target)
      os.replace(staged / checkpoints.CARD, self.workdir / checkpoints.CARD)
      shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)

  # ----- telling -----
  def tell(self, results: Dict, source: str = 'results') -> int:
    """Records values of asked models ({key or arch string: value}); returns how many were new."""
    asked, told = set(self.state['asked']), self.state['told']
    new = {}
    for key, value in results.items():
      text = self.space.to_str(self.space.key(key))
      value = float(value)
      if not np.isfinite(value):
        raise ValueError(f'{source}: the value of {text} is {value}, not a finite number')
      if text not in asked:
        raise ValueError(f'{source}: {text} was not asked for ({self.workdir / TO_TRAIN} lists the models to train)')
      if text in told and told[text] != value:
        raise ValueError(f'{source}: {text} was told {told[text]} before, now {value}; values cannot change')
      if text not in told:
        new[text] = value
    told.update(new)
    return len(new)

  def tell_file(self, path) -> int:
    """Reads a results file (CSV `arch_str,value`, or an Eagle-format pickle) and tells its values."""
    results = dataset_lib.load_measurements(path, space=self.space)
    return self.tell(results, str(path))

  # ----- asking -----
  def pending(self) -> List[str]:
    return [text for text in self.state['asked'] if text not in self.state['told']]

  @property
  def finished(self) -> bool:
    return len(self.state['told']) >= self.config.search.budget

  def _stream(self):
    search = self.config.search
    if search.candidate_file:  # the archs of a file (e.g. genotypes someone else scored)
      keys = dataset_lib.load_dataset(search.candidate_file, space=self.space).keys
      return lambda: iter([keys])
    return ranking.candidate_stream(self.space, search.candidates, search.candidate_seed, search.sampler)

  def _count(self) -> int:
    search = self.config.search
    per_iteration = search.budget // search.iterations
    if self.state['iteration'] == search.iterations - 1:
      return search.budget - len(self.state['asked'])
    return per_iteration

  def _initial(self, count: int) -> List[str]:
    """Random models of the candidate stream (under the latency limit, if any), drawn with the search seed."""
    stream, keep = self._stream(), self._latency_mask()
    eligible, offset = [], 0
    for chunk in stream():
      mask = np.ones(len(chunk), bool) if keep is None else np.asarray(keep(chunk), bool)
      eligible.append(offset + np.nonzero(mask)[0])
      offset += len(chunk)
    eligible = np.concatenate(eligible)
    if len(eligible) < count:
      raise ValueError(f'only {len(eligible)} candidates meet config.latency.limit; {count} are needed')
    positions = np.sort(np.random.default_rng(self.config.seed).choice(eligible, count, replace=False))
    picked, offset = [], 0
    for chunk in stream():
      inside = positions[(positions >= offset) & (positions < offset + len(chunk))] - offset
      picked += self.space.strs(chunk[inside])
      offset += len(chunk)
    return picked

  def _train(self):
    """The predictor retrained on everything told, warm-started from the saved one; saved in the workdir."""
    config, iteration = self.config, self.state['iteration']
    model = initialization.create_model(config.model)
    if (self.workdir / checkpoints.PARAMS_DIR).exists():
      params, _ = checkpoints.load(self.workdir)
    else:
      params = initialization.fresh_params(model, self.space, config.seed)
    told = self.state['told']
    keys = self.space.as_keys([self.space.from_str(text) for text in told])
    targets = brpnas.comparator_targets(list(told.values()), config.search)
    arrays = inference.EncodedSet(self.space, keys).arrays_of(np.arange(len(keys)), targets)
    options = brpnas.iteration_training(config.training, iteration, config.search.iterations)
    fitted = training.fit(model, params, arrays, None, options, seed=config.seed + iteration, progress=False)
    (self.workdir / NEXT).mkdir(parents=True, exist_ok=True)
    checkpoints.save(self.workdir / NEXT, fitted.params, predictor_card(config, self.space.reference))
    self.state['params_sha256'] = checkpoints.params_digest(fitted.params)
    return inference.load(self.workdir / NEXT, self.space), fitted

  def _latency_mask(self):
    """With config.latency.limit: a mask function keeping candidates the latency predictor puts under it."""
    latency = self.config.get('latency')
    if not latency or not latency.limit:
      return None
    if not latency.checkpoint:
      raise ValueError('a latency limit needs config.latency.checkpoint: a unary latency predictor workdir')
    predictor = inference.load(latency.checkpoint, self.space)
    if predictor.binary:
      raise ValueError(f'{latency.checkpoint} is a binary predictor; a latency limit needs a unary one')
    return lambda keys: predictor.predict(keys) <= latency.limit

  def _next(self, count: int, progress: bool) -> tuple:
    predictor, fitted = self._train()
    pool = self.config.search.top_pool
    told = set(self.state['asked'])
    ranked = ranking.rank_across_processes(predictor, self._stream(), top_k=pool + len(told),
                                           keep=self._latency_mask(), progress=progress)
    top = [text for text in self.space.strs(ranked.top_keys) if text not in told][:pool] if len(ranked.top) else []
    if len(top) < count:
      raise ValueError(f'only {len(top)} untrained candidates are left under config.latency.limit; {count} needed')
    best = top[:count // 2]
    rest = [text for text in top if text not in best]
    rng = np.random.default_rng([self.config.seed, self.state['iteration']])
    picked = best + [rest[i] for i in sorted(rng.choice(len(rest), min(count - len(best), len(rest)),
                                                        replace=False))]
    return picked, {'epochs_run': fitted.epochs_run, 'ranking_seconds': ranked.seconds,
                    'candidates': int(len(ranked.scores))}

  def ask(self, progress: bool = False) -> List[str]:
    """The models to train next: the ones asked and not yet told, or (all told) a new batch."""
    waiting = self.pending()
    if waiting or self.finished:
      return waiting
    count = self._count()
    if not self.state['told']:
      picked, record = self._initial(count), {'initial': 'random'}
    else:
      picked, record = self._next(count, progress)
    self.state['asked'] += picked
    self.state['history'].append({'iteration': self.state['iteration'], 'asked': len(picked),
                                  'told_before': len(self.state['told']), **record})
    self.state['iteration'] += 1
    return picked

  # ----- the binary's step -----
  def step(self, results: Optional[str] = None, progress: bool = True) -> dict:
    """Tells a results file (if given), asks for what to train next, writes the workdir; returns the summary."""
    self.workdir.mkdir(parents=True, exist_ok=True)
    new = self.tell_file(results) if results else 0
    to_train = self.ask(progress)
    files.atomic_write_text(self.workdir / TO_TRAIN, ''.join(f'{text}\n' for text in to_train))
    told = self.state['told']
    best = max(told, key=told.get) if told else None
    summary = {'space': self.space.reference, 'iteration': self.state['iteration'], 'told': len(told),
               'new_results': new, 'budget': self.config.search.budget, 'to_train': len(to_train),
               'finished': self.finished, 'best_told': {'arch_str': best, 'value': told[best]} if best else None,
               'history': self.state['history']}
    files.atomic_write_text(self.workdir / SUMMARY, json.dumps(summary, indent=2) + '\n')
    files.atomic_write_text(self.workdir / STATE, json.dumps(self.state, indent=1) + '\n')
    self._finish_commit()
    return summary
