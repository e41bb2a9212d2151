"""BRP-NAS with external training, one step per call (ask / tell): Eagle's manual DARTS loop as a
resumable job over the one BRP-NAS engine (`engine.Engine`, configured by `parts.build` exactly as benchmark
mode). The first call asks for the first batch (random, or by the zero-cost prior); each later call is told the
values of the models trained since, retrains the binary predictor warm-started on everything told so far, scores
the whole candidate set (streamed; millions of models) and asks for the next batch by `config.search.selection`.

Workdir: `to_train.txt` (arch strings to train next), `state.json` (the engine's state: everything asked and told;
written last and atomically, so a call that dies leaves the previous state and is simply repeated),
`summary.json`, `eligible.npy` (which candidates the latency limit and prior coverage keep, computed once) and the
predictor checkpoint (`predictors.load(workdir)`). Telling a value twice is a no-op; a different value for a model
already told, or a value for a model never asked for, is refused.
"""
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional

import ml_collections
import numpy as np

from eagle_jax import files, spaces
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import checkpoints
from eagle_jax.search import candidates as candidates_lib
from eagle_jax.search import parts

STATE, TO_TRAIN, SUMMARY, ELIGIBLE = 'state.json', 'to_train.txt', 'summary.json', 'eligible.npy'
NEXT = '.next'  # the retrained predictor, moved into the workdir once the state naming it is written


def settings_digest(config: ml_collections.ConfigDict) -> str:
  """What fixes the candidate set and the choices: a workdir is only continued with the same."""
  relevant = {'space': config.space, 'seed': config.seed, 'model': config.model.to_dict(),
              'search': {k: v for k, v in config.search.to_dict().items() if k != 'results'},
              'latency': config.latency.to_dict(), 'zero_cost': config.zero_cost.to_dict()}
  return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class AskTell:
  """The library face: `ask()` the models to train, `tell({arch: value})` their values, repeat."""

  def __init__(self, config: ml_collections.ConfigDict, workdir):
    self.config, self.workdir = config, Path(workdir)
    self.space = spaces.get(config.space)
    self.digest = settings_digest(config)
    path = self.workdir / STATE
    state = None
    if path.exists():
      state = json.loads(path.read_text())
      if 'selector' not in state:
        raise ValueError(f'{path} was written by an earlier eagle_jax (before the one BRP-NAS engine); finish it '
                         'with that version or start a new workdir')
      if state.get('settings') != self.digest:
        raise ValueError(f'{self.workdir} holds an ask/tell search with other settings (space, seed, model, search, '
                         'latency or zero-cost fields changed); use a new workdir')
    self._finish_commit(state)
    params = checkpoints.load(self.workdir)[0] if (self.workdir / checkpoints.PARAMS_DIR).exists() else None
    candidates = candidates_lib.of_config(self.space, config.search)
    self.engine = parts.build(config, candidates, params, state, self._eligible(config, candidates))
    self.engine.state['settings'] = self.digest

  def _eligible(self, config, candidates) -> np.ndarray:
    """The engine's eligible candidates, computed on the first call and read back later (a pass over millions of
    candidates with the latency predictor is not repeated every round)."""
    path = self.workdir / ELIGIBLE
    if path.exists():
      mask = np.load(path)
      if mask.shape == (len(candidates),):
        return mask
    mask = parts.eligible(config, candidates)
    buffer = io.BytesIO()
    np.save(buffer, mask)
    self.workdir.mkdir(parents=True, exist_ok=True)
    files.atomic_write_bytes(path, buffer.getvalue())
    return mask

  def _finish_commit(self, state: Optional[dict]) -> None:
    """Moves a retrained predictor whose state was written into place; drops one whose state never was."""
    staged = self.workdir / NEXT
    if not staged.exists():
      return
    card = json.loads((staged / checkpoints.CARD).read_text()) if (staged / checkpoints.CARD).exists() else {}
    if state and card.get('params_sha256') and card['params_sha256'] == state.get('params_sha256'):
      target, old = self.workdir / checkpoints.PARAMS_DIR, self.workdir / f'.{checkpoints.PARAMS_DIR}.old'
      shutil.rmtree(old, ignore_errors=True)
      if target.exists():
        os.replace(target, old)
      os.replace(staged / checkpoints.PARAMS_DIR, target)
      os.replace(staged / checkpoints.CARD, self.workdir / checkpoints.CARD)
      shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)

  @property
  def state(self) -> dict:
    return self.engine.state

  def tell(self, results: Dict, source: str = 'results') -> int:
    """Records values of asked models ({key or arch string: value}); returns how many were new."""
    return self.engine.tell(results, f'{source} ({self.workdir / TO_TRAIN} lists the models asked for)')

  def tell_file(self, path) -> int:
    """Reads a results file (CSV `arch_str,value`, or an Eagle-format pickle) and tells its values."""
    results = dataset_lib.load_measurements(path, space=self.space)
    return self.tell(results, str(path))

  def pending(self) -> List[str]:
    return self.engine.pending()

  @property
  def finished(self) -> bool:
    return self.engine.finished

  def fit(self) -> bool:
    """Retrains on everything told (when anything is new) and stages the predictor in the workdir."""
    dataset_lib.require_spread(self.engine.trained()[2], f'the results told to {self.workdir}')
    if not self.engine.fit():
      return False
    predictor = self.engine.learner.predictor
    (self.workdir / NEXT).mkdir(parents=True, exist_ok=True)
    checkpoints.save(self.workdir / NEXT, predictor.params, predictor.card)
    self.state['params_sha256'] = checkpoints.params_digest(predictor.params)
    return True

  def ask(self, progress: bool = False) -> List[str]:
    """The models to train next: the ones asked and not yet told, or (all told) a new batch."""
    if not self.pending() and not self.finished:
      self.fit()
    return self.engine.ask(progress)

  # ----- the binary's step -----
  def step(self, results: Optional[str] = None, progress: bool = True) -> dict:
    """Tells a results file (if given), asks for what to train next, writes the workdir; returns the summary."""
    self.workdir.mkdir(parents=True, exist_ok=True)
    new = self.tell_file(results) if results else 0
    to_train = self.ask(progress)
    if self.finished:
      self.fit()  # the final predictor has seen every model told
    files.atomic_write_text(self.workdir / TO_TRAIN, ''.join(f'{text}\n' for text in to_train))
    told = self.state['told']
    best = max(told, key=told.get) if told else None
    summary = {'space': self.space.reference, 'iteration': self.state['iteration'], 'told': len(told),
               'new_results': new, 'budget': self.config.search.budget, 'to_train': len(to_train),
               'finished': self.finished, 'best_told': {'arch_str': best, 'value': told[best]} if best else None,
               'candidates': len(self.engine.candidates), 'history': self.state['history']}
    files.atomic_write_text(self.workdir / SUMMARY, json.dumps(summary, indent=2) + '\n')
    files.atomic_write_text(self.workdir / STATE, json.dumps(self.state, indent=1) + '\n')
    self._finish_commit(self.state)
    return summary
