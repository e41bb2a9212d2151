"""A dataset view: values keyed by a search space's architectures, with their encodings, validity and strings."""
import dataclasses
import functools
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from eagle_jax import spaces
from eagle_jax.data import bundled_data
from eagle_jax.data import formats
from eagle_jax.data import registry


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Values for a set of archs of one search space (a key -> value map), one row per arch.

  `keys` is the space's key array (NB201: op vectors (n, 6); NB101: module hashes (n,)). `values` is what
  predictors learn (the mean over training seeds where the source has several); `seed_values` (n, seeds) keeps
  each seed's value (NaN where missing) for replay over seeds.
  """
  keys: np.ndarray
  values: np.ndarray
  name: str = ''
  units: str = ''
  seed_values: Optional[np.ndarray] = None
  seeds: Tuple[int, ...] = ()
  space: spaces.Space = spaces.DEFAULT  # a Space, or a name `spaces.get` resolves

  def __post_init__(self):
    object.__setattr__(self, 'space', spaces.get(self.space))
    if len(self.keys) != len(self.values):
      raise ValueError(f'{self.name}: {len(self.keys)} keys but {len(self.values)} values')
    values = np.asarray(self.values, np.float64)
    bad = ~np.isfinite(values) | ((values <= 0) if self.units == 's' else False)
    if bad.any():
      row = int(np.argmax(bad))
      raise ValueError(f'{self.name or "dataset"}: value {values[row]} for {self.space.to_str(self.keys[row])} is '
                       f'not {"a positive latency" if self.units == "s" else "a finite number"}')

  def __len__(self) -> int:
    return len(self.values)

  @property
  def space_name(self) -> str:
    return self.space.name

  @property
  def vectors(self) -> np.ndarray:
    """The key array (NB201's name for it: op vectors)."""
    return self.keys

  @functools.cached_property
  def indices(self) -> np.ndarray:
    """Position of each arch in the space's enumeration (NB201: its index)."""
    return self.space.index_of(self.keys)

  @functools.cached_property
  def valid(self) -> np.ndarray:
    return self.space.is_valid(self.keys)

  @functools.cached_property
  def encodings(self) -> Tuple[np.ndarray, np.ndarray]:
    return self.space.encode(self.keys)

  @functools.cached_property
  def arch_strs(self) -> list:
    return self.space.strs(self.keys)

  @functools.cached_property
  def _rows(self) -> dict:
    return {key: row for row, key in enumerate(self.space.hashable(self.keys))}

  def as_dict(self) -> formats.Measurements:
    return dict(zip(self.space.hashable(self.keys), self.values.tolist()))

  def subset(self, rows) -> 'Dataset':
    """The rows selected by an index array or a boolean mask."""
    rows = np.asarray(rows)
    seed_values = None if self.seed_values is None else self.seed_values[rows]
    return dataclasses.replace(self, keys=self.keys[rows], values=self.values[rows], seed_values=seed_values)

  def with_seed(self, seed: int) -> 'Dataset':
    """The same archs valued by one training seed (archs without that seed are dropped)."""
    if seed not in self.seeds:
      raise ValueError(f'{self.name}: no training seed {seed}; seeds are {self.seeds}')
    column = self.seed_values[:, self.seeds.index(seed)]
    has = ~np.isnan(column)
    return dataclasses.replace(self, keys=self.keys[has], values=column[has], name=f'{self.name}@{seed}',
                               seed_values=self.seed_values[has])

  def has(self, keys) -> np.ndarray:
    """Whether each given arch has a value in this dataset."""
    return np.array([key in self._rows for key in self.space.hashable(self.space.as_keys(keys))], bool)

  def rows_of(self, keys) -> np.ndarray:
    """Row of each given arch in this dataset; KeyError naming the first arch that is not in it."""
    rows = []
    for key in self.space.hashable(self.space.as_keys(keys)):
      if key not in self._rows:
        raise KeyError(f'{self.name}: arch {self.space.to_str(key)} has no value in this dataset')
      rows.append(self._rows[key])
    return np.asarray(rows, np.int64)

  @classmethod
  def from_mapping(cls, mapping: formats.Measurements, name: str = '', units: str = '',
                   space=spaces.DEFAULT) -> 'Dataset':
    keys = spaces.get(space).as_keys(list(mapping))
    return cls(keys, np.array(list(mapping.values()), np.float64), name, units, space=space)


def require_spread(values, what: str) -> None:
  """Refuses target values that are all equal: a predictor has nothing to learn from them (train, search and
  ask/tell apply the same rule)."""
  values = np.asarray(values, np.float64)
  if len(values) > 1 and np.ptp(values) == 0:
    raise ValueError(f'{what}: all {len(values)} values equal {float(values[0])!r}; a predictor has nothing to '
                     'learn from them')


def load_dataset(source, column: Optional[str] = None, where: Optional[dict] = None,
                 space: Optional[str] = None) -> Dataset:
  """A Dataset from a bundled name (see `bundled()`), or an Eagle pickle / CSV / npz path, or a file (or folder) of
  a space's own formats (NB101 JSON and tfrecords, NAS-Bench-ASR pickles).

  `space` is the search space of a file's keys (default spaces.DEFAULT, NB201; bundled datasets know their own and refuse
  another; those of several columns, zc/..., need `column`). A file whose SHA-256 is in the registry is named after it; a file carrying a registered name with
  another hash is refused. `column` and `where` select the values of a CSV with several (see
  formats.read_measurement_csv).
  """
  source_str = str(source)
  if source_str in bundled_data.bundled():
    arrays = bundled_data.load_bundled(source_str, column or '')
    if space is not None and spaces.get(space).name != arrays['space']:
      raise ValueError(f'bundled dataset {source_str!r} holds {arrays["space"]} archs, not {spaces.get(space).name}')
    values = arrays['values']
    keep = ~np.isnan(values)
    seed_values = arrays.get('seed_values')
    return Dataset(arrays['keys'][keep], values[keep], source_str, arrays['units'],
                   None if seed_values is None else seed_values[keep], arrays.get('seeds', ()), arrays['space'])
  space = spaces.get(space or spaces.DEFAULT)
  path = Path(source_str)
  if not path.exists():
    raise FileNotFoundError(f'{source_str!r} is neither a bundled dataset ({", ".join(bundled_data.bundled()[:3])}, '
                            '...; see eagle_jax.data.bundled()) nor an existing file')
  info = registry.identify(path) if path.is_file() else None  # folders: a space's own (NB-ASR's seeds)
  mapping = formats.read_measurements(path, space, column, where)
  return Dataset.from_mapping(mapping, info.name if info else str(path), info.units if info else '', space)


def load_measurements(source, column: Optional[str] = None, space: Optional[str] = None) -> formats.Measurements:
  """{key: value} (NB201: op-vector tuples) from an Eagle pickle, a CSV, an npz or a bundled dataset name."""
  return load_dataset(source, column, space=space).as_dict()


def save_measurements(mapping: formats.Measurements, path, overwrite: bool = False, space=spaces.DEFAULT):
  """Writes {key: value} atomically as .pickle (Eagle), .csv or .npz."""
  return formats.write_measurements(mapping, path, space, overwrite)
