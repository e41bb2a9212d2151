"""A dataset view: values aligned with the search space's arrays (vectors, indices, encodings, validity)."""
import dataclasses
import functools
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from eagle_jax.data import bundled_data
from eagle_jax.data import formats
from eagle_jax.data import registry
from eagle_jax.spaces import nasbench201


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Values for a set of NB201 archs, one row per arch.

  `values` is what predictors learn (the mean over training seeds where the source has several);
  `seed_values` (n, seeds) keeps each seed's value (NaN where missing) for replay over seeds.
  """
  vectors: np.ndarray
  values: np.ndarray
  name: str = ''
  units: str = ''
  seed_values: Optional[np.ndarray] = None
  seeds: Tuple[int, ...] = ()

  def __post_init__(self):
    if len(self.vectors) != len(self.values):
      raise ValueError(f'{self.name}: {len(self.vectors)} vectors but {len(self.values)} values')

  def __len__(self) -> int:
    return len(self.values)

  @functools.cached_property
  def indices(self) -> np.ndarray:
    return nasbench201.index_of(self.vectors)

  @functools.cached_property
  def valid(self) -> np.ndarray:
    return nasbench201.is_valid(self.vectors)

  @functools.cached_property
  def encodings(self) -> Tuple[np.ndarray, np.ndarray]:
    return nasbench201.encode(self.vectors)

  @functools.cached_property
  def arch_strs(self) -> list:
    return [nasbench201.to_arch_str(v) for v in self.vectors]

  def as_dict(self) -> formats.Measurements:
    return {tuple(int(o) for o in v): float(x) for v, x in zip(self.vectors, self.values)}

  def subset(self, rows) -> 'Dataset':
    """The rows selected by an index array or a boolean mask."""
    rows = np.asarray(rows)
    seed_values = None if self.seed_values is None else self.seed_values[rows]
    return Dataset(self.vectors[rows], self.values[rows], self.name, self.units, seed_values, self.seeds)

  def with_seed(self, seed: int) -> 'Dataset':
    """The same archs valued by one training seed (archs without that seed are dropped)."""
    if seed not in self.seeds:
      raise ValueError(f'{self.name}: no training seed {seed}; seeds are {self.seeds}')
    column = self.seed_values[:, self.seeds.index(seed)]
    has = ~np.isnan(column)
    return Dataset(self.vectors[has], column[has], f'{self.name}@{seed}', self.units, self.seed_values[has],
                   self.seeds)

  def rows_of(self, vecs) -> np.ndarray:
    """Row of each given arch in this dataset; KeyError naming the first arch that is not in it."""
    lookup = np.full(nasbench201.NUM_ARCHS, -1)
    lookup[self.indices] = np.arange(len(self))
    rows = lookup[nasbench201.index_of(nasbench201.as_vectors(vecs))]
    if (rows < 0).any():
      missing = nasbench201.as_vectors(vecs)[np.argmax(rows < 0)]
      raise KeyError(f'{self.name}: arch {nasbench201.to_arch_str(missing)} has no value in this dataset')
    return rows

  @classmethod
  def from_mapping(cls, mapping: formats.Measurements, name: str = '', units: str = '') -> 'Dataset':
    vectors = np.array(list(mapping), dtype=np.int64).reshape(-1, nasbench201.NUM_EDGES)
    return cls(vectors, np.array(list(mapping.values()), np.float64), name, units)


def load_dataset(source, column: Optional[str] = None, where: Optional[dict] = None) -> Dataset:
  """A Dataset from a bundled name (see `bundled()`), or an Eagle pickle / CSV / npz path.

  A file whose SHA-256 is in the registry is named after it; a file carrying a registered name with another
  hash is refused. `column` and `where` select the values of a CSV with several (see formats.read_measurement_csv).
  """
  source_str = str(source)
  if source_str in bundled_data.bundled():
    arrays = bundled_data.load_bundled(source_str)
    vectors = nasbench201.arch_vectors()
    rows = arrays.get('indices', np.arange(nasbench201.NUM_ARCHS))
    values, vectors = arrays['values'], vectors[rows]
    keep = ~np.isnan(values)
    seed_values = arrays.get('seed_values')
    return Dataset(vectors[keep], values[keep], source_str, arrays['units'],
                   None if seed_values is None else seed_values[keep], arrays.get('seeds', ()))
  path = Path(source_str)
  if not path.exists():
    raise FileNotFoundError(f'{source_str!r} is neither a bundled dataset ({", ".join(bundled_data.bundled()[:3])}, '
                            '...; see eagle_jax.data.bundled()) nor an existing file')
  info = registry.identify(path)
  mapping = formats.read_measurements(path, column, where)
  return Dataset.from_mapping(mapping, info.name if info else str(path), info.units if info else '')


def load_measurements(source, column: Optional[str] = None) -> formats.Measurements:
  """{op-vector tuple: value} from an Eagle pickle, a CSV, an npz or a bundled dataset name."""
  return load_dataset(source, column).as_dict()


def save_measurements(mapping: formats.Measurements, path, overwrite: bool = False):
  """Writes {op-vector tuple: value} atomically as .pickle (Eagle), .csv or .npz."""
  return formats.write_measurements(mapping, path, overwrite)
