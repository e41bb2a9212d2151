"""The measurement driver: choose archs, convert in worker processes, time one model at a time, write result
shards of at most `shard_size` models atomically, resume after a crash or kill with nothing measured twice."""
import collections
import concurrent.futures
import contextlib
import hashlib
import json
import ctypes
import multiprocessing
import os
import queue as queue_lib
import signal
import sys
import threading
import time
from pathlib import Path

import ml_collections
import numpy as np
from tqdm import auto as tqdm

from eagle_jax import files, spaces
from eagle_jax.data import formats, tools
from eagle_jax.measure import convert, runners

PLAN = 'plan.json'
SHARDS = 'results'


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


def _settings_digest(config: ml_collections.ConfigDict, space) -> str:
  """Digest of what a result depends on: space, model, conversion (not its worker count) and timing settings
  (not the device addresses, timeouts or token)."""
  conversion = {k: v for k, v in config.conversion.to_dict().items() if k != 'workers'}
  runner = {k: config.runner[k] for k in ('kind', 'threads', 'xnnpack', 'runs', 'avg_between', 'interval', 'warmup')}
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


class ShardWriter:
  """results/results{k}.pickle, each a list of (key, value); the open shard is rewritten atomically after
  every model and a new one is started at `shard_size` entries."""

  def __init__(self, folder: Path, shard_size: int, space):
    self.folder, self.shard_size = folder, shard_size
    folder.mkdir(parents=True, exist_ok=True)
    paths = tools.shard_paths(folder)
    self.done = collections.OrderedDict(tools.combine(paths, space)) if paths else collections.OrderedDict()
    self.index = len(paths) - 1 if paths else 0
    self.current = tools.read_shard(paths[-1], space) if paths else []
    if len(self.current) >= shard_size:
      self.index, self.current = self.index + 1, []

  def append(self, key: tuple, value) -> None:
    if key in self.done:
      raise ValueError(f'{key} is already measured in {self.folder}')
    self.current.append((key, value))
    formats.write_pickle(self.current, self.folder / f'results{self.index}.pickle', overwrite=True)
    self.done[key] = value
    if len(self.current) >= self.shard_size:
      self.index, self.current = self.index + 1, []


def convert_arch(spec, space, model_config: dict, conversion_config: dict):
  """Builds (with the space's Keras network) and converts one arch given by its `Space.spec`; runs in a worker
  process; returns (bytes or an error string, seconds)."""
  from eagle_jax.measure import convert  # pylint: disable=g-import-not-at-top  (TF in workers only)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  start = time.perf_counter()
  try:
    model = space.network().build(spec, **model_config)
    flatbuffer = convert.to_tflite(model, **conversion_config)
  except Exception as e:  # pylint: disable=broad-except  (recorded with the arch; the run goes on)
    return f'error: conversion failed: {type(e).__name__}: {e}', time.perf_counter() - start
  return flatbuffer, time.perf_counter() - start


def _check_plan(workdir: Path, archs: list, digest: str, fix: bool) -> None:
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


class _Totals(collections.Counter):
  """Counts and seconds, added to from several device threads."""

  def __init__(self):
    super().__init__()
    self.lock = threading.Lock()

  def add(self, **amounts) -> None:
    with self.lock:
      self.update(amounts)


class _Device:
  """A result folder and the runners that fill it (one device, or a farm of identical ones)."""

  def __init__(self, writer: ShardWriter, device_runners: list):
    self.writer, self.runners = writer, device_runners
    self.lock = threading.Lock()
    self.queue = queue_lib.Queue(maxsize=2 * len(device_runners))

  def record(self, key, value) -> None:
    with self.lock:
      self.writer.append(key, value)


def _devices(config, workdir: Path, device_runners: list, space) -> list:
  """One result folder for a single device or a farm (config.runner.farm); else one per device under results/."""
  if len(device_runners) == 1 or config.runner.get('farm', True):
    return [_Device(ShardWriter(workdir / SHARDS, config.shard_size, space), device_runners)]
  return [_Device(ShardWriter(workdir / SHARDS / f'{runner.host}_{runner.port}', config.shard_size, space), [runner])
          for runner in device_runners]


def die_with_parent(parent_pid: int) -> None:
  """Worker initializer: exit when the driver dies, even by kill -9 (Linux: the kernel's parent-death signal;
  elsewhere a watchdog thread)."""
  if sys.platform.startswith('linux'):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
  if os.getppid() != parent_pid:  # the parent died before the signal was armed
    os._exit(1)
  def watch():
    while os.getppid() == parent_pid:
      time.sleep(1.0)
    os._exit(1)
  threading.Thread(target=watch, daemon=True).start()


@contextlib.contextmanager
def conversion_paused(enabled: bool = True):
  """Stops this process's child processes (the conversion workers) with SIGSTOP for the duration, then lets them
  go on: timing on a machine with few cores then has the CPU and memory bandwidth to itself."""
  workers = multiprocessing.active_children() if enabled else []
  for worker in workers:
    os.kill(worker.pid, signal.SIGSTOP)
  try:
    yield
  finally:
    for worker in workers:
      with contextlib.suppress(ProcessLookupError):
        os.kill(worker.pid, signal.SIGCONT)


def _put(queue: queue_lib.Queue, item, stop: threading.Event) -> None:
  """Puts `item` on a bounded queue, giving up once the run is stopping (a device thread may be gone)."""
  while not stop.is_set():
    try:
      queue.put(item, timeout=0.2)
      return
    except queue_lib.Full:
      pass


def _time_models(device: _Device, runner, totals: _Totals, failures: list, stop: threading.Event,
                 bar, pause: bool) -> None:
  """A device thread: times the converted models queued for it until the None sentinel (with conversion paused
  meanwhile if `pause`)."""
  while not stop.is_set():
    try:
      item = device.queue.get(timeout=0.2)
    except queue_lib.Empty:
      continue
    if item is None:
      return
    key, flatbuffer = item
    start = time.perf_counter()
    try:
      with conversion_paused(pause):
        value = runner.run(flatbuffer)
      counted = 'measured'
    except (RuntimeError, ValueError) as e:  # this model or its settings failed on the device: recorded
      value, counted = f'error: timing failed: {e}', 'failed'
    except Exception as e:  # pylint: disable=broad-except  (device unreachable or too slow: stop the run)
      failures.append(e)
      stop.set()
      return
    device.record(key, value)
    totals.add(**{counted: 1, 'timing_seconds': time.perf_counter() - start})
    bar.update(1)


def measure(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Measures the configured archs into `workdir/results` (per device: `results/<host>_<port>`); returns (and
  writes) a summary. Settings are checked, remote devices pinged and the first model converted before anything
  is written."""
  space = spaces.get(config.space)
  device_runners = check_config(config, space)
  keys = space.hashable(choose_archs(config, space))
  if len(set(keys)) != len(keys):
    raise ValueError('the arch list names some archs twice')
  with files.output_dir(workdir) as workdir:
    return _measure_into(config, workdir, device_runners, space, keys, progress)


def _measure_into(config, workdir: Path, device_runners: list, space, keys: list, progress: bool) -> dict:
  archs, digest = [space.to_str(k) for k in keys], _settings_digest(config, space)
  _check_plan(workdir, archs, digest, config.fix)
  for runner in device_runners:
    if isinstance(runner, runners.RemoteRunner):
      runner.limits()  # unreachable devices and wrong tokens fail here, before any work
  model_config = dict(config.model.to_dict(), input_size=tuple(config.model.input_size))
  conversion_config = config.conversion.to_dict()
  workers = conversion_config.pop('workers')
  valid = dict(zip(keys, space.is_valid(space.as_keys(keys)))) if keys else {}
  start = time.perf_counter()
  context = multiprocessing.get_context('spawn')
  with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent,
                                              initargs=(os.getpid(),)) as pool:
    convert_one = lambda key: pool.submit(convert_arch, space.spec(key), space, model_config,
                                          conversion_config)
    first = next((k for k in keys if valid[k]), None)
    first_conversion = convert_one(first) if first is not None else None
    if first_conversion is not None and isinstance(first_conversion.result()[0], str):
      raise ValueError(f'config.model / config.conversion cannot build and convert {space.to_str(first)}: '
                       f'{first_conversion.result()[0]}')
    files.atomic_write_text(workdir / PLAN, json.dumps({'archs': archs, 'settings': digest}) + '\n')
    devices = _devices(config, workdir, device_runners, space)
    return _run(devices, keys, valid, first, first_conversion, convert_one, workers, workdir, progress, start,
                config.runner.get('pause_conversion', False))


def _run(devices, keys, valid, first, first_conversion, convert_one, workers, workdir, progress, start,
         pause: bool) -> dict:
  """Converts each model once (in the pool) and times it on every device folder that lacks it."""
  todo = [k for k in keys if any(k not in d.writer.done for d in devices)]
  totals = _Totals()
  failures, stop = [], threading.Event()
  total_work = sum(k not in d.writer.done for d in devices for k in keys)
  described = ', '.join(r.describe() for d in devices for r in d.runners)
  bar = tqdm.tqdm(total=total_work, desc=f'measuring ({described})', unit='model', disable=not progress)
  threads = [threading.Thread(target=_time_models, args=(d, r, totals, failures, stop, bar, pause),
                              daemon=True)
             for d in devices for r in d.runners]
  for thread in threads:
    thread.start()
  pending = collections.deque()
  queue_keys = iter(k for k in todo if valid[k])
  def refill():
    while len(pending) < 2 * workers:
      key = next(queue_keys, None)
      if key is None:
        return
      pending.append((key, first_conversion if key == first else convert_one(key)))
  try:
    refill()
    for key in todo:
      if stop.is_set():
        break
      lacking = [d for d in devices if key not in d.writer.done]
      if not valid[key]:
        for device in lacking:
          device.record(key, tools.INVALID)
          bar.update(1)
        totals.add(invalid=1)
        continue
      pending_key, future = pending.popleft()
      assert pending_key == key
      flatbuffer, convert_seconds = future.result()
      refill()
      totals.add(convert_seconds=convert_seconds)
      for device in lacking:
        if isinstance(flatbuffer, str):
          device.record(key, flatbuffer)
          totals.add(failed=1)
          bar.update(1)
          continue
        _put(device.queue, (key, flatbuffer), stop)
    for device in devices:
      for _ in device.runners:
        _put(device.queue, None, stop)
    for thread in threads:
      while thread.is_alive() and not stop.is_set():
        thread.join(0.2)
  finally:
    stop.set()  # the threads are done, or must stop (a device failed, or the driver is interrupted)
    for thread in threads:
      thread.join()
    bar.close()
  if failures:
    raise failures[0]
  wall = time.perf_counter() - start
  summary = {'planned': len(keys), 'already_done': len(keys) - len(todo), **totals, 'wall_seconds': wall,
             'models_per_hour': 3600 * len(todo) / wall if todo and wall > 0 else None,
             'runner': described,
             'shards': sum(len(tools.shard_paths(d.writer.folder)) for d in devices)}
  if len(devices) > 1:
    summary['results'] = [str(d.writer.folder.relative_to(workdir)) for d in devices]
  files.atomic_write_text(workdir / 'summary.json', json.dumps(summary, indent=2) + '\n')
  return summary
