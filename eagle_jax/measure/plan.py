"""A measurement run's plan: which archs (config.archs), the settings their results depend on (a digest kept in
plan.json), and every setting checked before anything is written; a workdir of other settings or archs is
refused."""
import hashlib
import json
import signal
import sys
from pathlib import Path

import ml_collections
import numpy as np

from eagle_jax import files
from eagle_jax.measure import convert, runners

PLAN = 'plan.json'


def choose_archs(config: ml_collections.ConfigDict, space) -> np.ndarray:
  """Key array of 'all' (every arch of a finite space, invalid ones recorded as such), 'random' (a seeded
  sample of valid archs) or 'list' (a file of arch strings)."""
  if config.archs == 'all':
    return space.enumerate()
  if config.archs == 'random':
    try:
      return space.sample(config.num_archs, config.seed)
    except ValueError as e:
      raise ValueError(f'config.num_archs={config.num_archs}: {e}') from e
  if config.archs == 'list':
    path = Path(config.arch_list)
    if not path.is_file():
      raise FileNotFoundError(f'config.arch_list {path} is not a file of arch strings (one per line)')
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    try:
      return space.as_keys([space.from_str(line) for line in lines])
    except ValueError as e:
      raise ValueError(f'config.arch_list {path}: {e}') from e
  raise ValueError(f"config.archs must be 'all', 'random' or 'list', got {config.archs!r}")


def conversion_settings(config: ml_collections.ConfigDict) -> dict:
  """`to_tflite`'s arguments from config.conversion (all of it but the worker count)."""
  return {k: v for k, v in config.conversion.to_dict().items() if k != 'workers'}


def settings_digest(config: ml_collections.ConfigDict, space) -> str:
  """Digest of what a result depends on: space, model, conversion (not its worker count) and timing settings
  (not the device addresses, timeouts or token)."""
  conversion = conversion_settings(config)
  runner = {k: config.runner[k] for k in ('kind', 'threads', 'xnnpack', 'runs', 'avg_between', 'interval', 'warmup')}
  if config.runner.kind == 'adb':
    runner['delegate'] = config.runner.get('delegate', 'xnnpack')
  if config.runner.kind == 'local' and config.runner.get('interleave', 1) != 1:  # one at a time: digests as before
    runner['interleave'] = config.runner.interleave
  relevant = {'space': space.name, 'model': config.model.to_dict(),
              'conversion': conversion, 'runner': runner}
  return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def check_config(config: ml_collections.ConfigDict, space) -> list:
  """Every setting checked before any work (a bad one must not poison a workdir); returns the runners."""
  space.network()  # a space without a Keras network cannot be measured: said here, before any work
  if not (isinstance(config.shard_size, int) and config.shard_size >= 1):
    raise ValueError(f'config.shard_size must be an integer >= 1, got {config.shard_size!r}')
  conversion = config.conversion
  if conversion.mode not in convert.MODES:
    raise ValueError(f'config.conversion.mode must be one of {convert.MODES}, got {conversion.mode!r}')
  if not conversion.workers >= 1 or not conversion.calibration_size >= 1:
    raise ValueError(f'config.conversion.workers ({conversion.workers}) and calibration_size '
                     f'({conversion.calibration_size}) must be >= 1')
  if config.runner.get('pause_conversion', False) and (config.runner.kind != 'local' or
                                                      not hasattr(signal, 'SIGSTOP')):
    raise ValueError("config.runner.pause_conversion pauses conversion on this machine while it times: it needs "
                     f"runner.kind='local' on a POSIX system (kind is {config.runner.kind!r} on {sys.platform})")
  input_size = tuple(config.model.input_size)
  if len(input_size) < 2 or not all(isinstance(d, int) and d >= 1 for d in input_size):
    raise ValueError(f'config.model.input_size must be positive integers, got {input_size}')
  return runners.make_runners(config.runner)


def check(workdir: Path, archs: list, digest: str, fix: bool) -> None:
  """Refuses a workdir measured with other settings (always) or other archs (unless `fix`)."""
  path = workdir / PLAN
  if not path.exists():
    return
  try:
    old = json.loads(path.read_text())
    old_archs, old_digest = old['archs'], old['settings']
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path} is not a measurement plan ({e}); use another workdir') from None
  if old_digest != digest:
    raise ValueError(f'{workdir} holds a measurement run with other settings (model, conversion or timing); '
                     'results measured differently must not be mixed: use another workdir')
  if old_archs != archs and not fix:
    raise ValueError(f'{workdir} holds a measurement run with other archs; use another workdir, or set '
                     'config.fix=True to measure there only what is missing from the new list')


def write(workdir: Path, archs: list, digest: str) -> None:
  files.atomic_write_text(workdir / PLAN, json.dumps({'archs': archs, 'settings': digest}) + '\n')
