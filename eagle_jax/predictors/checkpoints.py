"""Predictor checkpoints: orbax-saved params plus a JSON card (model config, target, normalisation)."""
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from eagle_jax import files, spaces

PARAMS_DIR = 'checkpoint'
CARD = 'predictor.json'


def params_digest(params) -> str:
  """SHA-256 of every parameter's path, dtype, shape and bytes: ties a card to its parameters."""
  digest = hashlib.sha256()
  for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(params))[0]:
    leaf = np.ascontiguousarray(leaf)
    digest.update(f'{jax.tree_util.keystr(path)}|{leaf.dtype.str}|{leaf.shape}|'.encode())
    digest.update(leaf.tobytes())
  return digest.hexdigest()


def save(workdir, params, card: dict) -> Path:
  """Writes the parameters and their card as one folder, `workdir/checkpoint` (orbax params plus
  `predictor.json`, which holds the parameters' digest), swapped in for an older one by renames; a copy of the
  card goes to `workdir/predictor.json` for people and tools."""
  workdir = Path(workdir).resolve()
  card = {**card, 'params_sha256': params_digest(params)}
  text = json.dumps(card, indent=2, sort_keys=True) + '\n'
  target, staging, old = workdir / PARAMS_DIR, workdir / f'.{PARAMS_DIR}.new', workdir / f'.{PARAMS_DIR}.old'
  for leftover in (staging, old):
    if leftover.exists():
      shutil.rmtree(leftover)
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(staging, jax.device_get(params))
  files.atomic_write_text(staging / CARD, text)
  if target.exists():
    os.replace(target, old)
  os.replace(staging, target)
  files.atomic_write_text(workdir / CARD, text)
  shutil.rmtree(old, ignore_errors=True)
  return target


def locate(path) -> Path:
  """The workdir holding a checkpoint, given the workdir or its checkpoint folder."""
  path = Path(path).resolve()
  workdir = path.parent if path.name == PARAMS_DIR else path
  if not (workdir / PARAMS_DIR).is_dir() and (workdir / f'.{PARAMS_DIR}.old').is_dir():
    raise FileNotFoundError(f'{workdir}: a checkpoint save was interrupted; the previous one is in '
                            f'{workdir / f".{PARAMS_DIR}.old"} (rename it to {PARAMS_DIR}, or train again)')
  if not (workdir / CARD).is_file() or not (workdir / PARAMS_DIR).is_dir():
    raise FileNotFoundError(f'no predictor checkpoint at {path} (expected {CARD} and {PARAMS_DIR}/ in a workdir '
                            'written by python -m eagle_jax.train)')
  return workdir


def load(path) -> Tuple[dict, dict]:
  """(params, card) of a saved predictor; a clear error naming the workdir for a damaged or mismatched pair."""
  workdir = locate(path)
  inner = workdir / PARAMS_DIR / CARD
  card_path = inner if inner.is_file() else workdir / CARD  # workdirs saved before the card moved inside
  try:
    card = json.loads(card_path.read_text())
    if not isinstance(card, dict) or not isinstance(card.get('model'), dict):
      raise ValueError('no "model" section')
  except (ValueError, UnicodeDecodeError) as e:
    raise ValueError(f'{card_path}: not a predictor card: {e}') from None
  try:
    with ocp.StandardCheckpointer() as checkpointer:
      params = checkpointer.restore(workdir / PARAMS_DIR)
  except Exception as e:  # pylint: disable=broad-except  (orbax raises many kinds for a damaged folder)
    raise ValueError(f'{workdir / PARAMS_DIR}: damaged checkpoint ({type(e).__name__}: {e})') from None
  if 'params_sha256' in card and params_digest(params) != card['params_sha256']:
    raise ValueError(f'{workdir}: the checkpoint parameters do not match their card {card_path} (an interrupted '
                     'save or a changed file); train again into a new workdir')
  return params, card


def check_space(card: dict, space, source) -> None:
  """Refuses a predictor trained on another search space's archs (`space`: a Space or its name)."""
  trained_on = card.get('space', spaces.DEFAULT)  # cards written before spaces were named are NB201's
  wanted = spaces.get(space)
  if trained_on not in (wanted.name, wanted.reference):
    raise ValueError(f'predictor {source} was trained on {trained_on} archs and cannot score {wanted.reference} archs')


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
  """Body from `loaded`, last layer from `fresh` (Eagle's --transfer: load all but the head, reset the head).
  From an ensemble (`members`) to a single predictor, the first member's body; from a single predictor to an
  ensemble, its body in every member."""
  if 'members' in fresh:
    if 'members' not in loaded:
      size = jax.tree_util.tree_leaves(fresh)[0].shape[0]
      loaded = {'members': jax.tree_util.tree_map(lambda x: np.broadcast_to(x, (size, *np.shape(x))), loaded)}
    check_compatible(loaded['members'], fresh['members'], source, skip_head=True)
    return {'members': {**loaded['members'], 'last': fresh['members']['last']}}
  if 'members' in loaded:
    loaded = jax.tree_util.tree_map(lambda x: x[0], loaded['members'])
  check_compatible(loaded, fresh, source, skip_head=True)
  return {**loaded, 'last': fresh['last']}
