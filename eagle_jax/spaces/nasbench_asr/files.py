"""NAS-Bench-ASR's own data files, read into {graph hash: value}.

NAS-Bench-ASR pickles two objects one after the other: a header dict (`dataset_type`, `columns`, `version`,
`search_space`, and `seed` or `device`), then a list of rows `[model_hash, *values]`:
- training files `nb-asr-e{epochs}-{seed}.pickle`: columns start `model_hash, val_per, test_per` (val_per a list,
  one PER per epoch; the last value of a row is the arch vector, checked against the hash here);
- benchmarking files `nb-asr-bench-{device}.pickle`: `model_hash, latency`;
- the static file `nb-asr-info.pickle`: `model_hash, params[, flops]`.
A folder of training files (one per seed) reads as the mean over seeds, as Eagle's `nbasr_inv_avg_val_per.pickle`
was made. Eagle's own `{hash: value}` pickles are plain measurement files (eagle_jax.data reads them).
"""
import math
import re
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench_asr import archs as nbasr

# Columns of a training file: best (lowest) validation PER over the epochs, its complement (Eagle's accuracy
# target, higher is better), and the test PER at the best validation epoch as NAS-Bench-ASR stores it.
TRAINING_COLUMNS = ('inv_val_per', 'val_per', 'test_per')
_FIRST_COLUMNS = {'training': ['model_hash', 'val_per', 'test_per'], 'benchmarking': ['model_hash', 'latency'],
                  'static': ['model_hash', 'params']}
_TRAINING_FILE = re.compile(r'nb-asr-e(\d+)-(\d+)\.pickle')


def _header_and_rows(path: Path):
  """(header, rows) of a NAS-Bench-ASR pickle, or None when the file is not one (an Eagle {key: value} pickle)."""
  from eagle_jax.data import formats  # pylint: disable=g-import-not-at-top  (data imports spaces)
  objects = formats.read_pickle_objects(path)
  if not (objects and isinstance(objects[0], dict) and 'dataset_type' in objects[0]):
    return None
  if len(objects) != 2 or not isinstance(objects[1], (list, tuple)):
    raise ValueError(f'{path}: a NAS-Bench-ASR file holds a header and a list of rows; found {len(objects)} '
                     'objects')
  header, rows = objects
  kind = header['dataset_type']
  if kind not in _FIRST_COLUMNS:
    raise ValueError(f'{path}: unknown NAS-Bench-ASR dataset_type {kind!r} (known: {", ".join(_FIRST_COLUMNS)})')
  columns = header.get('columns')
  expected = _FIRST_COLUMNS[kind]
  if not isinstance(columns, list) or columns[:len(expected)] != expected:
    raise ValueError(f'{path}: a NAS-Bench-ASR {kind} file\'s columns must start {expected}, got {columns}')
  if not rows:
    raise ValueError(f'{path}: holds no rows')
  return header, rows


def _row(row, columns, path, number):
  where = f'{path} row {number}'
  if not isinstance(row, (list, tuple)) or len(row) != len(columns):
    raise ValueError(f'{where}: expected {len(columns)} values ({", ".join(columns)}), got {row!r:.120}')
  return space_lib.check_hash(row[0], 'NB-ASR graph hash', where), dict(zip(columns[1:], row[1:])), where


def _training_value(values: dict, column: str, epochs: Optional[int], where: str) -> float:
  per = values['val_per']
  if not isinstance(per, (list, tuple)) or not per:
    raise ValueError(f'{where}: val_per must be a list of per-epoch PERs, got {per!r:.80}')
  if epochs is not None and not 1 <= epochs <= len(per):
    raise ValueError(f'{where}: epochs={epochs} is outside the {len(per)} epochs stored')
  best = min(float(p) for p in per[:epochs])
  return {'val_per': best, 'inv_val_per': 1.0 - best, 'test_per': float(values['test_per'])}[column]


def read_training(path, column: Optional[str] = None, epochs: Optional[int] = None) -> Dict[str, float]:
  """{hash: value} from one training file; `column` in TRAINING_COLUMNS (default inv_val_per = 1 - best
  validation PER), `epochs` limits the best PER to the first epochs."""
  path = Path(path)
  column = column or 'inv_val_per'
  if column not in TRAINING_COLUMNS:
    raise ValueError(f'{path}: unknown column {column!r}; NB-ASR training columns: {", ".join(TRAINING_COLUMNS)}')
  parsed = _header_and_rows(path)
  if parsed is None or parsed[0]['dataset_type'] != 'training':
    raise ValueError(f'{path}: not a NAS-Bench-ASR training file')
  header, rows = parsed
  out = {}
  for number, row in enumerate(rows):
    key, values, where = _row(row, header['columns'], path, number)
    arch = row[-1] if len(header['columns']) > 3 else None
    if arch is not None and nbasr.vector_hash(nbasr.flat_vector(arch, where)) != key:
      raise ValueError(f'{where}: the arch vector {arch} does not hash to {key}')
    out[key] = _training_value(values, column, epochs, where)
  return out


def read_training_folder(folder, column: Optional[str] = None, epochs: Optional[int] = None,
                         max_epochs: int = 40) -> Dict[str, float]:
  """The mean over seeds of `column` from a folder's `nb-asr-e{max_epochs}-{seed}.pickle` files (every file must
  hold the same hashes): with the defaults, Eagle's nbasr_inv_avg_val_per.pickle."""
  folder = Path(folder)
  paths = sorted(p for p in folder.iterdir() if (m := _TRAINING_FILE.fullmatch(p.name)) and int(m[1]) == max_epochs)
  if not paths:
    raise ValueError(f'{folder}: no NAS-Bench-ASR training files nb-asr-e{max_epochs}-SEED.pickle')
  seeds = [read_training(p, column, epochs) for p in paths]
  for path, values in zip(paths[1:], seeds[1:]):
    if values.keys() != seeds[0].keys():
      missing = sorted(seeds[0].keys() ^ values.keys())[0]
      raise ValueError(f'{path}: its hashes differ from {paths[0].name}\'s (e.g. {missing})')
  return {key: float(np.mean([values[key] for values in seeds])) for key in seeds[0]}


def read_benchmark_file(path, column: Optional[str] = None, epochs: Optional[int] = None,
                        max_epochs: int = 40) -> Optional[Dict[str, float]]:
  """{hash: value} from any NAS-Bench-ASR file or folder of training files; None for other files (read by
  eagle_jax.data). Benchmarking files give `latency` (or another column), static files `params` or `flops`."""
  path = Path(path)
  if path.is_dir():
    return read_training_folder(path, column, epochs, max_epochs)
  if path.suffix.lower() not in ('.pickle', '.pkl') or not path.is_file():
    return None
  parsed = _header_and_rows(path)
  if parsed is None:
    return None
  header, rows = parsed
  if header['dataset_type'] == 'training':
    return read_training(path, column, epochs)
  columns = header['columns']
  column = column or columns[1]
  if column not in columns[1:]:
    raise ValueError(f'{path}: unknown column {column!r}; this file has {", ".join(columns[1:])}')
  out = {}
  for number, row in enumerate(rows):
    key, values, where = _row(row, columns, path, number)
    value = values[column]
    if isinstance(value, (list, tuple)):  # a latency file may keep every timed run
      value = float(np.median(value)) if value else math.nan
    out[key] = value
  return out
