"""Latency tables of several devices over one search space: a (archs x devices) matrix of log latencies."""
import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from eagle_jax import spaces
from eagle_jax.data import dataset as dataset_lib


@dataclasses.dataclass(frozen=True)
class DeviceTable:
  """Log latency of `keys` (rows) on `names` (columns); NaN where a device has no measurement."""
  keys: np.ndarray
  log_latency: np.ndarray
  names: tuple
  space_name: str

  @property
  def space(self) -> spaces.Space:
    return spaces.get(self.space_name)


def device_name(source: str) -> str:
  """A short name for a bundled dataset ('help/pixel3' -> 'pixel3') or a file (its stem)."""
  return Path(source).stem if Path(source).suffix else source.rsplit('/', 1)[-1]


def load_latency(source: str, space: str) -> dataset_lib.Dataset:
  """A device's valid archs and latencies (seconds); a clear error for a file of another space or unit."""
  dataset = dataset_lib.load_dataset(source, space=space)
  if dataset.units not in ('', 's'):
    raise ValueError(f'{source}: holds {dataset.units!r} values, not latencies in seconds')
  dataset = dataclasses.replace(dataset.subset(dataset.valid), units='s')  # refuses values that are not positive
  median = float(np.median(dataset.values))
  if median > 10.0:
    raise ValueError(f'{source}: median latency {median:g} s; latency files hold seconds (is it in ms or us?)')
  return dataset


def device_table(sources: Sequence[str], space: str) -> DeviceTable:
  """Every listed device's latencies over the union of their archs."""
  if len(set(sources)) != len(sources):
    raise ValueError(f'a device is listed twice in {list(sources)}')
  datasets = [load_latency(source, space) for source in sources]
  space_obj = spaces.get(space)
  rows = {}
  for dataset in datasets:
    for key in space_obj.hashable(dataset.keys):
      rows.setdefault(key, len(rows))
  table = np.full((len(rows), len(datasets)), np.nan)
  for column, dataset in enumerate(datasets):
    table[[rows[k] for k in space_obj.hashable(dataset.keys)], column] = np.log(dataset.values)
  return DeviceTable(space_obj.as_keys(list(rows)), table, tuple(device_name(s) for s in sources), space_obj.name)
