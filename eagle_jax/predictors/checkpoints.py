"""Predictor checkpoints: orbax-saved params plus a JSON card (model config, target, normalisation)."""
import json
import shutil
from pathlib import Path
from typing import Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from eagle_jax import files

PARAMS_DIR = 'checkpoint'
CARD = 'predictor.json'


def save(workdir, params, card: dict) -> Path:
  """Writes `workdir/checkpoint` (orbax, atomic) and `workdir/predictor.json`; replaces an older one."""
  workdir = Path(workdir).resolve()
  target = workdir / PARAMS_DIR
  if target.exists():
    shutil.rmtree(target)
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(target, jax.device_get(params))
  files.atomic_write_text(workdir / CARD, json.dumps(card, indent=2, sort_keys=True) + '\n')
  return target


def locate(path) -> Path:
  """The workdir holding a checkpoint, given the workdir or its checkpoint folder."""
  path = Path(path).resolve()
  workdir = path.parent if path.name == PARAMS_DIR else path
  if not (workdir / CARD).is_file() or not (workdir / PARAMS_DIR).is_dir():
    raise FileNotFoundError(f'no predictor checkpoint at {path} (expected {CARD} and {PARAMS_DIR}/ in a workdir '
                            'written by python -m eagle_jax.train)')
  return workdir


def load(path) -> Tuple[dict, dict]:
  """(params, card) of a saved predictor."""
  workdir = locate(path)
  card = json.loads((workdir / CARD).read_text())
  with ocp.StandardCheckpointer() as checkpointer:
    params = checkpointer.restore(workdir / PARAMS_DIR)
  return params, card


def check_space(card: dict, space_name: str, source) -> None:
  """Refuses a predictor trained on another search space's archs."""
  trained_on = card.get('space', 'nasbench201')  # cards written before spaces were named are NB201's
  if trained_on != space_name:
    raise ValueError(f'predictor {source} was trained on {trained_on} archs and cannot score {space_name} archs')


def _shapes(tree) -> dict:
  flat = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path): np.shape(leaf) for path, leaf in flat}


def check_compatible(loaded, expected, source, skip_head: bool = False) -> None:
  """Raises ValueError naming the first parameter whose presence or shape differs."""
  got, want = _shapes(loaded), _shapes(expected)
  for name in sorted(set(got) | set(want)):
    if skip_head and name.startswith("['last']"):
      continue
    if got.get(name) != want.get(name):
      raise ValueError(f'checkpoint {source} does not fit this predictor: parameter {name} has shape '
                       f'{got.get(name, "missing")} in the checkpoint but {want.get(name, "missing")} in the '
                       'model (body, layers and hidden size must match)')


def transfer(loaded, fresh, source) -> dict:
  """Body from `loaded`, last layer from `fresh` (Eagle's --transfer: load all but the head, reset the head)."""
  check_compatible(loaded, fresh, source, skip_head=True)
  return {**loaded, 'last': fresh['last']}
