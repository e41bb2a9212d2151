"""Dataset tools: combine result shards, reduce raw timings (inter-quartile mean), normalise, describe."""
import json
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from eagle_jax import files
from eagle_jax.data import formats
from eagle_jax.data import registry

INVALID = 'invalid'
LAYER_TABLE = 'results_layers.pickle'  # per-layer profiling's table (measure/layers.py), not a shard


def _natural_key(path: Path):
  return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', path.name)]


def shard_paths(folder, pattern: str = 'results*.pickle') -> List[Path]:
  """Shard files in `folder` matching `pattern`, in natural name order (results2 before results10); a layer
  table there is not one."""
  folder = Path(folder)
  if not folder.is_dir():
    raise NotADirectoryError(f'{folder} is not a folder of result shards')
  return sorted((p for p in folder.glob(pattern) if p.is_file() and p.name != LAYER_TABLE), key=_natural_key)


def read_shard(path, space) -> list:
  """A raw result shard: a list of (key, timings | 'invalid' | error string)."""
  obj = formats.read_pickle(path)
  if not isinstance(obj, list) or not all(isinstance(e, (tuple, list)) and len(e) == 2 for e in obj):
    raise ValueError(f'{path}: not a result shard (expected a pickled list of (architecture key, value) pairs)')
  return [(formats.parse_key(point, path, space), value) for point, value in obj]


def combine(paths: Sequence, space) -> list:
  """Concatenates shards in the given order; identical repeats are dropped, conflicting ones are an error."""
  combined, seen = [], {}
  for path in paths:
    for key, value in read_shard(path, space):
      if key in seen:
        if seen[key][1] != value:
          raise ValueError(f'{path}: entry for {key} conflicts with the one in {seen[key][0]}')
        continue
      seen[key] = (path, value)
      combined.append((key, value))
  return combined


def iqr_mean(values) -> float:
  """Mean of the samples within [q25, q75] (numpy linear interpolation), as Eagle's calc_stats.

  With two distinct samples nothing lies between the quartiles (Eagle returns NaN); the median is used then.
  """
  values = np.asarray(values, np.float64)
  low, high = np.percentile(values, [25, 75])
  inner = values[(values >= low) & (values <= high)]
  return float(inner.mean()) if inner.size else float(np.median(values))


def two_level_iqr_mean(timings) -> float:
  """Eagle's latency statistic: the inter-quartile mean of each run, then of the per-run means."""
  runs = [np.asarray(run, np.float64).reshape(-1) for run in timings]
  if not runs or any(run.size == 0 for run in runs):
    raise ValueError('timings must be a non-empty list of non-empty runs')
  return iqr_mean([iqr_mean(run) for run in runs])


def stats(entries) -> Tuple[formats.Measurements, Dict[str, int]]:
  """Reduces raw (key, timings) entries to {key: seconds}; drops 'invalid' and failed entries."""
  out, counts = {}, {'all': 0, 'invalid': 0, 'failed': 0, 'valid': 0}
  for key, value in entries:
    counts['all'] += 1
    if isinstance(value, str):
      counts['invalid' if value == INVALID else 'failed'] += 1
      continue
    if key in out:
      raise ValueError(f'duplicated entry {key}')
    try:
      out[key] = two_level_iqr_mean(value)
    except (ValueError, TypeError) as e:
      raise ValueError(f'entry {key}: timings are not numeric runs: {e}') from e
    counts['valid'] += 1
  return out, counts


def normalize(mapping: formats.Measurements) -> Tuple[formats.Measurements, Dict[str, float]]:
  """Min-max normalisation y' = (y - min) / (max - min); invert with y = y' (max - min) + min."""
  values = np.array(list(mapping.values()))
  low, high = float(values.min()), float(values.max())
  if high <= low:
    raise ValueError(f'cannot normalise: all {len(values)} values equal {low}')
  return {k: (v - low) / (high - low) for k, v in mapping.items()}, {'min': low, 'max': high}


def denormalize(values, constants: Dict[str, float]):
  return np.asarray(values) * (constants['max'] - constants['min']) + constants['min']


def constants_path(normalized_path) -> Path:
  """Where `normalize` stores the min/max beside its output."""
  return Path(normalized_path).with_suffix('.minmax.json')


def write_normalized(mapping: formats.Measurements, path, space, overwrite: bool = False) -> Dict[str, float]:
  normalized, constants = normalize(mapping)
  files.check_writable(constants_path(path), overwrite)
  formats.write_measurements(normalized, path, space, overwrite)
  files.atomic_write_text(constants_path(path), json.dumps(constants, indent=2) + '\n', overwrite)
  return constants


def describe(path, space, column=None) -> dict:
  """Count, range, median, SHA-256 and registry name of a measurement file (or a folder a space reads)."""
  is_file = Path(path).is_file()
  info = registry.identify(path) if is_file else None
  values = np.array(list(formats.read_measurements(path, space, column).values()))
  return {'file': str(path), 'registry_name': info.name if info else None,
          'sha256': registry.sha256_of(path) if is_file else None, 'count': int(values.size),
          'min': float(values.min()), 'median': float(np.median(values)),
          'max': float(values.max())}
