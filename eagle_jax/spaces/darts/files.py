"""DARTS data files: NASLib's zero-cost JSON (zc_nasbench301.json) and Eagle's DARTS pickles.

Eagle's known-points file is a pickled iterable of (genotype, accuracy) pairs, the genotype a Genotype namedtuple
or its repr text; its candidate file pickles (seed, [(Genotype, -1), ...]). Genotype namedtuples are unpickled as
eagle_jax's own Genotype (whatever module pickled them) and nothing else is admitted beyond plain containers,
numbers, strings and `range`.
"""
import ast
import json
import pickle
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

from eagle_jax.spaces.darts import archs as darts


def read_naslib_json(path, column: Optional[str] = None, dataset: str = 'cifar10') -> Dict[tuple, float]:
  """{key: value} from NASLib's zc_nasbench301.json: `column` is val_accuracy (default; NAS-Bench-301 surrogate
  predictions, not trained results), flops, params or a proxy name."""
  path = Path(path)
  try:
    records = json.loads(path.read_text())['nasbench301'][dataset]
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path}: not NASLib DARTS JSON with ["nasbench301"][{dataset!r}]: {e}') from e
  column = column or 'val_accuracy'
  out = {}
  for text, record in records.items():
    where = f'{path} entry {text[:40]}...'
    if column not in record:
      raise ValueError(f'{where}: has no {column!r}; fields: {sorted(record)}')
    try:
      normal, reduce = ast.literal_eval(text)
      cells = [[(darts.OPS[op], source) for source, op in cell] for cell in (normal, reduce)]
    except (ValueError, SyntaxError, TypeError, IndexError) as e:
      raise ValueError(f'{where}: not two lists of (input, op) pairs: {e}') from e
    key = darts.genotype_key(darts.Genotype(cells[0], darts.CONCAT, cells[1], darts.CONCAT), where)
    value = record[column]['score'] if isinstance(record[column], dict) else record[column]
    out[key] = float(value)
  if not out:
    raise ValueError(f'{path}: holds no DARTS entries')
  return out


class _GenotypeUnpickler(pickle.Unpickler):
  _PLAIN = {('builtins', 'range'), ('collections', 'OrderedDict'), ('numpy', 'dtype'),
            ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar')}

  def __init__(self, file, path):
    super().__init__(file)
    self._path = path

  def find_class(self, module, name):
    if name == 'Genotype':
      return darts.Genotype
    if (module, name) in self._PLAIN:
      return super().find_class(module, name)
    raise pickle.UnpicklingError(f'{self._path}: refusing to unpickle {module}.{name}; a DARTS file holds '
                                 'Genotypes, plain containers, numbers and strings only')


def _load(path: Path):
  if not path.is_file():
    raise FileNotFoundError(f'DARTS file {path} does not exist')
  try:
    with open(path, 'rb') as f:
      return _GenotypeUnpickler(f, path).load()
  except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
    raise ValueError(f'{path}: not a readable DARTS pickle: {e}') from e


def _key(genotype, where: str) -> tuple:
  if isinstance(genotype, str):
    return darts.parse_text(genotype, where)
  return darts.genotype_key(genotype, where)


def read_known_points(path) -> Dict[tuple, float]:
  """{key: accuracy} from Eagle's DARTS known-points pickle: (genotype, accuracy) pairs or a {genotype: accuracy}
  dict, genotypes as Genotype namedtuples or their text."""
  path = Path(path)
  obj = _load(path)
  pairs = obj.items() if isinstance(obj, dict) else obj
  out = {}
  try:
    for number, (genotype, value) in enumerate(pairs):
      key = _key(genotype, f'{path} entry {number}')
      if key in out:
        raise ValueError(f'{path} entry {number}: duplicate genotype')
      out[key] = value
  except TypeError as e:
    raise ValueError(f'{path}: expected (genotype, accuracy) pairs: {e}') from e
  return out


def read_candidates(path) -> Tuple[int, np.ndarray]:
  """(seed, keys (n, 32)) from Eagle's DARTS candidate file: a pickled (seed, [(Genotype, -1), ...])."""
  path = Path(path)
  obj = _load(path)
  if not (isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], int)):
    raise ValueError(f'{path}: expected a pickled (seed, [(Genotype, -1), ...])')
  seed, entries = obj
  keys = [_key(entry[0] if isinstance(entry, tuple) and len(entry) == 2 else entry, f'{path} candidate {number}')
          for number, entry in enumerate(entries)]
  return seed, np.array(keys, np.int8).reshape(-1, darts.KEY_WIDTH)


def read_file(path, column=None, where=None) -> Optional[dict]:
  """NASLib's JSON (.json) or an Eagle known-points pickle (.pickle/.pkl holding pairs); None for others."""
  path = Path(path)
  suffix = path.suffix.lower()
  if suffix == '.json':
    return read_naslib_json(path, column, **(where or {}))
  if suffix in ('.pickle', '.pkl'):
    return read_known_points(path)
  return None
