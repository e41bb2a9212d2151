"""Datasets bundled in the package (no download): NB201 accuracies per seed, HELP device latencies, latencies
this project measured (cpu/...) and zero-cost proxies it computed (zc/..., one column per proxy)."""
import functools
import importlib.resources
import io
import json
from typing import Dict, Optional, Tuple

from pathlib import Path

import numpy as np

from eagle_jax import files, spaces

def _bundled_file(name: str):
  return importlib.resources.files(__package__).joinpath('bundled', name)


@functools.lru_cache(maxsize=None)
def _npz(name: str) -> Dict[str, np.ndarray]:
  with _bundled_file(name).open('rb') as f:
    with np.load(io.BytesIO(f.read()), allow_pickle=False) as npz:
      return {k: npz[k] for k in npz.files}


@functools.lru_cache(maxsize=None)
def _tables() -> Dict[str, dict]:
  """The two whole-space tables (tables.json): NB201 accuracies per seed ({name: column}) and HELP latencies
  (help/<device>), each with its space."""
  return json.loads(_bundled_file('tables.json').read_text())


def _accuracy_columns() -> Dict[str, str]:
  return _tables()['nb201_accuracy.npz']['datasets']


@functools.lru_cache(maxsize=None)
def _cards() -> Dict[str, dict]:
  """Datasets described by a JSON card beside their npz: cpu/<name> latencies, nb101/... accuracies."""
  cards = {}
  for entry in _bundled_file('').iterdir():
    if entry.name.endswith('.json') and _bundled_file(entry.name[:-len('.json')] + '.npz').is_file():
      card = json.loads(entry.read_text())
      cards[card['name']] = card
  return cards


def card(name: str) -> dict:
  """The card of a bundled dataset described by one (cpu/<name>, nb101/...): origin, machine, settings, date."""
  if name not in _cards():
    raise KeyError(f'no card for {name!r}; datasets with cards: {", ".join(sorted(_cards()))}')
  return dict(_cards()[name])


def bundled() -> Tuple[str, ...]:
  """Names of the bundled datasets: nb201/... and nb101/... (accuracy, %), help/<device> and cpu/<name>
  (latency, s), zc/<name> (zero-cost proxies, one column each)."""
  prefix = _tables()['help_latency.npz']['prefix']
  help_devices = [f'{prefix}{d}' for d in _npz('help_latency.npz')['devices'].tolist()]
  return tuple(sorted(_accuracy_columns())) + tuple(help_devices) + tuple(sorted(_cards()))


def write_bundle(name: str, mapping: dict, space: str, card: dict) -> Path:
  """Bundles {key: value} of `space` as dataset `name` (npz of keys, the specs they need, values; and a JSON
  card with `card`'s fields) in the package's bundled folder; returns the card's path."""
  space = spaces.get(space)
  keys = space.as_keys(list(mapping))
  stem = name.replace('/', '_')
  buffer = io.BytesIO()
  np.savez_compressed(buffer, keys=keys, values=np.array(list(mapping.values()), np.float64),
                      **space.spec_arrays(keys))
  folder = Path(str(_bundled_file('')))
  files.atomic_write_bytes(folder / f'{stem}.npz', buffer.getvalue())
  card = {'name': name, 'file': f'{stem}.npz', 'space': space.name, 'entries': len(keys), **card}
  return files.atomic_write_text(folder / f'{stem}.json', json.dumps(card, indent=2) + '\n')


def write_table_bundle(name: str, columns: Dict[str, np.ndarray], space: str, card: dict,
                       keys: Optional[np.ndarray] = None) -> Path:
  """Bundles several values per arch (columns, NaN where an arch has none) as dataset `name`, read one column at a
  time (`load_bundled(name, column)`): of `keys`, or (None) of a finite `space`'s whole enumeration."""
  space = spaces.get(space)
  stem = name.replace('/', '_')
  values = np.stack([np.asarray(v, np.float64) for v in columns.values()], 1)
  arrays = dict(indices=np.arange(len(space.enumerate()))) if keys is None else dict(keys=keys,
                                                                                      **space.spec_arrays(keys))
  if len(values) != len(next(iter(arrays.values()))):
    raise ValueError(f'{name}: {len(values)} rows of values for {len(next(iter(arrays.values())))} archs')
  buffer = io.BytesIO()
  np.savez_compressed(buffer, values=values, **arrays)
  folder = Path(str(_bundled_file('')))
  files.atomic_write_bytes(folder / f'{stem}.npz', buffer.getvalue())
  card = {'name': name, 'file': f'{stem}.npz', 'space': space.name, 'columns': list(columns), **card}
  return files.atomic_write_text(folder / f'{stem}.json', json.dumps(card, indent=2) + '\n')


def load_bundled(name: str, column: str = '') -> dict:
  """Arrays of a bundled dataset.

  Returns a dict with `space` (its search space's name), `keys` (the space's key array), `values` (n,) (the
  mean over seeds where there are several), `units`, `description`, and for accuracies `seed_values` (n, seeds;
  NaN where a seed is missing) and `seeds`. A dataset of several columns (zc/...) needs `column`.
  """
  if name in _accuracy_columns():
    space = spaces.get(_tables()['nb201_accuracy.npz']['space'])
    arrays = _npz('nb201_accuracy.npz')
    per_seed = arrays[_accuracy_columns()[name]]
    return dict(space=space.name, keys=space.enumerate(), values=np.nanmean(per_seed, axis=1), seed_values=per_seed,
                seeds=tuple(arrays['seeds'].tolist()), units='%',
                description=f'NAS-Bench-201 200-epoch accuracy ({name}), NATS-Bench tss, Apache-2.0')
  prefix = _tables()['help_latency.npz']['prefix']
  if name.startswith(prefix):
    space = spaces.get(_tables()['help_latency.npz']['space'])
    arrays = _npz('help_latency.npz')
    devices = arrays['devices'].tolist()
    device = name[len(prefix):]
    if device in devices:
      return dict(space=space.name, keys=space.enumerate(), values=arrays['latency_s'][:, devices.index(device)],
                  units='s', description=f'HELP latency on {device} (PyTorch, unpruned cells), MIT')
  if name in _cards():
    card = _cards()[name]
    arrays = _npz(card['file'])
    space = spaces.get(card['space'])
    if 'indices' in arrays:
      keys = space.enumerate()[arrays['indices']]
    else:
      keys = space.as_keys(arrays['keys'])
      space.register_spec_arrays(keys, arrays)
    values = arrays['values']
    if 'columns' in card:
      if column not in card['columns']:
        raise KeyError(f'bundled dataset {name!r} holds several columns: name one of {", ".join(card["columns"])} '
                       f'(got {column!r})')
      values = values[:, card['columns'].index(column)]
    return dict(space=space.name, keys=keys, values=values, units=card['units'],
                description=card['description'] + (f' ({column})' if column else ''), card=card)
  raise KeyError(f'unknown bundled dataset {name!r}; bundled datasets: {", ".join(bundled())}')
