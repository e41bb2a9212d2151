"""Reading and writing measurement files: Eagle pickles (restricted unpickler), CSV and npz.

A measurement file maps a search space's keys (NB201 op vectors, NB101 module hashes) to one number (latency in
seconds, or accuracy). Raw result shards (the measurement driver's output) are pickled lists of (key, timings or
'invalid' or error string). Every reader takes the space (a `Space`, or a name `spaces.get` knows).
"""
import csv
import io
import math
import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, Hashable, Optional

import numpy as np

from eagle_jax import files
from eagle_jax import spaces

Measurements = Dict[Hashable, float]
PICKLE_SUFFIXES = ('.pickle', '.pkl')
_SAFE_GLOBALS = frozenset({
    ('collections', 'OrderedDict'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
})
# Plain numpy arrays, only for files that hold them (Eagle's NB101 structure cache of adjacency matrices).
_ARRAY_GLOBALS = frozenset({
    ('numpy', 'ndarray'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
})


class UnsafePickleError(pickle.UnpicklingError, ValueError):
  """A pickle asked for a class outside plain containers, numbers and numpy scalars."""


class _RestrictedUnpickler(pickle.Unpickler):

  def __init__(self, file, path, allowed):
    super().__init__(file)
    self._path, self._allowed = path, allowed

  def find_class(self, module, name):
    if (module, name) in self._allowed:
      return super().find_class(module, name)
    raise UnsafePickleError(f'{self._path}: refusing to unpickle {module}.{name}; only plain containers, '
                            'numbers and numpy scalars are allowed in a measurement pickle')


def read_pickle(path, arrays: bool = False) -> Any:
  """Unpickles `path` allowing only plain containers, numbers, strings and numpy scalars (and plain numpy
  arrays with `arrays`)."""
  path = Path(path)
  data = _read_bytes(path)
  try:
    return _RestrictedUnpickler(io.BytesIO(data), path, _SAFE_GLOBALS | (_ARRAY_GLOBALS if arrays else set())).load()
  except UnsafePickleError:
    raise
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, AttributeError) as e:
    raise ValueError(f'{path}: not a readable pickle (truncated or corrupted?): {e}') from e


def read_pickle_objects(path) -> list:
  """Every object pickled one after another in `path` (NAS-Bench-ASR's files: a header, then the rows), with the
  same restrictions as `read_pickle`."""
  path = Path(path)
  stream = io.BytesIO(_read_bytes(path))
  unpickler = _RestrictedUnpickler(stream, path, _SAFE_GLOBALS)
  objects = []
  try:
    while stream.tell() < len(stream.getbuffer()):
      objects.append(unpickler.load())
  except UnsafePickleError:
    raise
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, AttributeError) as e:
    raise ValueError(f'{path}: object {len(objects)} is not a readable pickle (truncated or corrupted?): {e}') from e
  return objects


def write_pickle(obj: Any, path, overwrite: bool = False) -> Path:
  return files.atomic_write_bytes(path, pickle.dumps(obj, protocol=4), overwrite)


def _read_bytes(path: Path) -> bytes:
  if not path.is_file():
    raise FileNotFoundError(f'measurement file {path} does not exist')
  data = path.read_bytes()
  if not data:
    raise ValueError(f'{path}: file is empty')
  return data


def parse_key(raw_key, path, space):
  """The space's key from a file's key (a key, its string, or a list form); ValueError naming the file."""
  try:
    return spaces.get(space).key(raw_key)
  except (ValueError, TypeError) as e:
    raise ValueError(f'{path}: bad architecture key {raw_key!r}: {e}') from e


def _number(value, key, path) -> float:
  if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
    raise ValueError(f'{path}: value for {key} is {value!r}, not a number')
  try:
    value = float(value)
  except OverflowError:
    raise ValueError(f'{path}: value for {key} is too large for a float ({str(value)[:20]}...)') from None
  if not math.isfinite(value):
    raise ValueError(f'{path}: value for {key} is {value}, not a finite number')
  return value


def measurements_from_pairs(pairs, path, space) -> Measurements:
  out = {}
  for raw_key, value in pairs:
    key = parse_key(raw_key, path, space)
    if key in out:
      raise ValueError(f'{path}: duplicate entry for {key}')
    out[key] = _number(value, key, path)
  return out


def read_measurement_pickle(path, space) -> Measurements:
  obj = read_pickle(path)
  if not isinstance(obj, dict):
    raise ValueError(f'{path}: expected a pickled dict {{architecture key: value}}, got {type(obj).__name__}')
  if not obj:
    raise ValueError(f'{path}: holds no measurements')
  return measurements_from_pairs(obj.items(), path, space)


def read_measurement_csv(path, space, column: Optional[str] = None, where: Optional[dict] = None) -> Measurements:
  """Reads a CSV with an `arch_str` key (or the space's `csv_key_columns`, NB201's op0..op5) and a value column
  (`value`, `column`, or the only one); `where` keeps only rows whose given columns equal the given strings (e.g.
  {'dataset': 'cifar100'})."""
  path = Path(path)
  try:
    text = _read_bytes(path).decode('utf-8-sig')
  except UnicodeDecodeError as e:
    line = _read_bytes(path)[:e.start].count(b'\n') + 1
    raise ValueError(f'{path}:{line}: not UTF-8 text ({e.reason} at byte {e.start}); save the CSV as UTF-8') from None
  reader = csv.DictReader(io.StringIO(text))
  header = reader.fieldnames or []
  space = spaces.get(space)
  op_cols = list(space.csv_key_columns)
  has_ops = bool(op_cols) and all(c in header for c in op_cols)
  if not has_ops and 'arch_str' not in header:
    raise ValueError(f'{path}: CSV needs an arch_str column{" or " + ",".join(op_cols) + " columns" if op_cols else ""}; '
                     f'header is {header}')
  where = dict(where or {})
  missing = [c for c in where if c not in header]
  if missing:
    raise ValueError(f'{path}: no column {missing[0]!r} to filter on; columns are {header}')
  key_cols = {'arch_str', *space.csv_index_columns, *op_cols, *where}
  if column is None:
    candidates = ['value'] if 'value' in header else [c for c in header if c not in key_cols]
    if len(candidates) != 1:
      raise ValueError(f'{path}: cannot tell which column holds the values ({candidates}); name one with column=')
    column = candidates[0]
  if column not in header:
    raise ValueError(f'{path}: no column {column!r}; columns are {header}')
  pairs = []
  for row in reader:
    line = reader.line_num
    if None in row or None in row.values():
      raise ValueError(f'{path}:{line}: the row does not have the header\'s {len(header)} fields {header}')
    if row[column] == '' or any(row[c] != str(v) for c, v in where.items()):
      continue  # an empty cell is "not measured"; or filtered out
    key = [row[c] for c in op_cols] if has_ops else row['arch_str']
    try:
      key = [int(v) for v in key] if has_ops else key
      value = float(row[column])
    except ValueError as e:
      raise ValueError(f'{path}:{line}: {e}') from e
    pairs.append((key, value))
  if not pairs:
    raise ValueError(f'{path}: holds no measurements in column {column!r}')
  return measurements_from_pairs(pairs, path, space)


def read_measurement_npz(path, space) -> Measurements:
  path = Path(path)
  try:
    with np.load(io.BytesIO(_read_bytes(path)), allow_pickle=False) as npz:
      vectors, values = npz['vectors'], npz['values']
  except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
    raise ValueError(f'{path}: not a measurement npz with arrays "vectors" and "values": {e}') from e
  if len(vectors) != len(values):
    raise ValueError(f'{path}: {len(vectors)} vectors but {len(values)} values')
  return measurements_from_pairs(zip(vectors.tolist(), values.tolist()), path, space)


def read_measurements(path, space, column: Optional[str] = None, where: Optional[dict] = None) -> Measurements:
  """{key: value} from an Eagle pickle, CSV or npz file, or a format of the space's own, chosen by suffix."""
  path = Path(path)
  own = spaces.get(space).read_file(path, column, where)
  if own is not None:
    return measurements_from_pairs(own.items(), path, space)
  suffix = path.suffix.lower()
  if suffix in PICKLE_SUFFIXES:
    return read_measurement_pickle(path, space)
  if suffix == '.csv':
    return read_measurement_csv(path, space, column, where)
  if suffix == '.npz':
    return read_measurement_npz(path, space)
  raise ValueError(f'{path}: unknown measurement format {suffix!r} (use .pickle, .pkl, .csv or .npz; NB101 also '
                   '.json (NASLib) and .tfrecord (NAS-Bench-101); NB-ASR a folder of NAS-Bench-ASR training files)')


def write_measurements(mapping: Measurements, path, space, overwrite: bool = False) -> Path:
  """Writes {key: value} as an Eagle pickle, CSV (arch_str[, the space's csv_key_columns],value) or npz,
  atomically."""
  path = files.check_writable(path, overwrite)
  if not mapping:
    raise ValueError(f'refusing to write an empty measurement file {path}')
  clean = measurements_from_pairs(mapping.items(), '<mapping>', space)
  space = spaces.get(space)
  suffix = path.suffix.lower()
  if suffix in PICKLE_SUFFIXES:
    return write_pickle(clean, path, overwrite)
  if suffix == '.csv':
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['arch_str', *space.csv_key_columns, 'value'])
    for key, value in clean.items():
      writer.writerow([space.to_str(key), *(key if space.csv_key_columns else ()), repr(value)])
    return files.atomic_write_text(path, buffer.getvalue(), overwrite)
  if suffix == '.npz':
    buffer = io.BytesIO()
    keys = space.as_keys(list(clean))
    small = keys.dtype.kind in 'iu' and (not keys.size or (keys.min() >= -128 and keys.max() < 128))
    np.savez_compressed(buffer, vectors=keys.astype(np.int8) if small else keys,
                        values=np.array(list(clean.values())))
    return files.atomic_write_bytes(path, buffer.getvalue(), overwrite)
  raise ValueError(f'{path}: unknown measurement format {suffix!r} (use .pickle, .pkl, .csv or .npz)')
