"""The measurement driver: choose archs, convert in worker processes, time one model at a time, write result
shards of at most `shard_size` models atomically, resume after a crash or kill with nothing measured twice."""
import collections
import concurrent.futures
import hashlib
import importlib
import json
import multiprocessing
import time
from pathlib import Path

import ml_collections
import numpy as np
from tqdm import auto as tqdm

from eagle_jax import files, spaces
from eagle_jax.data import formats, tools
from eagle_jax.measure import runners

PLAN = 'plan.json'
SHARDS = 'results'


def choose_archs(config: ml_collections.ConfigDict) -> np.ndarray:
  """Key array of 'all' (every arch of a finite space, invalid ones recorded as such), 'random' (a seeded
  sample of valid archs) or 'list' (a file of arch strings)."""
  space = spaces.get(config.get('space', 'nasbench201'))
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


def _settings_digest(config: ml_collections.ConfigDict) -> str:
  relevant = {k: config[k].to_dict() for k in ('model', 'conversion', 'runner')}
  if config.get('space', 'nasbench201') != 'nasbench201':  # NB201 digests stay as they were
    relevant['space'] = config.space
  return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class ShardWriter:
  """results/results{k}.pickle, each a list of (key, value); the open shard is rewritten atomically after
  every model and a new one is started at `shard_size` entries."""

  def __init__(self, folder: Path, shard_size: int, space=formats.DEFAULT_SPACE):
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


def convert_arch(spec, builder: str, model_config: dict, conversion_config: dict):
  """Builds (with the space's Keras `builder` module) and converts one arch given by its `Space.spec`; runs in
  a worker process; returns (bytes or an error string, seconds)."""
  from eagle_jax.measure import convert  # pylint: disable=g-import-not-at-top  (TF in workers only)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  start = time.perf_counter()
  try:
    model = importlib.import_module(builder).build(spec, **model_config)
    flatbuffer = convert.to_tflite(model, **conversion_config)
  except Exception as e:  # pylint: disable=broad-except  (recorded with the arch; the run goes on)
    return f'error: conversion failed: {type(e).__name__}: {e}', time.perf_counter() - start
  return flatbuffer, time.perf_counter() - start


def _check_plan(workdir: Path, archs: list, digest: str, fix: bool) -> None:
  plan = {'archs': archs, 'settings': digest}
  path = workdir / PLAN
  if path.exists() and not fix:
    old = json.loads(path.read_text())
    if old != plan:
      raise ValueError(f'{workdir} holds a measurement run with other archs or settings; use another workdir, '
                       'or set config.fix=True to measure only what is missing there')
  files.atomic_write_text(path, json.dumps(plan) + '\n')


def measure(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Measures the configured archs into `workdir/results`; returns (and writes) a summary."""
  workdir = Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  space = spaces.get(config.get('space', 'nasbench201'))
  keys = space.hashable(choose_archs(config))
  if len(set(keys)) != len(keys):
    raise ValueError('the arch list names some archs twice')
  _check_plan(workdir, [space.to_str(k) for k in keys], _settings_digest(config), config.fix)
  writer = ShardWriter(workdir / SHARDS, config.shard_size, space)
  runner = runners.make_runner(config.runner)
  todo = [k for k in keys if k not in writer.done]
  valid = dict(zip(todo, space.is_valid(space.as_keys(todo)))) if todo else {}
  model_config = dict(config.model.to_dict(), input_size=tuple(config.model.input_size))
  conversion_config = config.conversion.to_dict()
  workers = conversion_config.pop('workers')
  totals = collections.Counter()
  start = time.perf_counter()
  context = multiprocessing.get_context('spawn')
  with concurrent.futures.ProcessPoolExecutor(max(workers, 1), mp_context=context) as pool:
    pending = collections.deque()
    queue = iter(k for k in todo if valid[k])
    def refill():
      while len(pending) < 2 * max(workers, 1):
        key = next(queue, None)
        if key is None:
          return
        pending.append((key, pool.submit(convert_arch, space.spec(key), space.keras_builder, model_config,
                                         conversion_config)))
    refill()
    bar = tqdm.tqdm(todo, desc=f'measuring ({runner.describe()})', unit='model', disable=not progress)
    for key in bar:
      if not valid[key]:
        writer.append(key, tools.INVALID)
        totals['invalid'] += 1
        continue
      pending_key, future = pending.popleft()
      assert pending_key == key
      flatbuffer, convert_seconds = future.result()
      refill()
      totals['convert_seconds'] += convert_seconds
      if isinstance(flatbuffer, str):
        writer.append(key, flatbuffer)
        totals['failed'] += 1
        continue
      timing_start = time.perf_counter()
      try:
        value = runner.run(flatbuffer)
        totals['measured'] += 1
      except (RuntimeError, ValueError) as e:
        value = f'error: timing failed: {e}'
        totals['failed'] += 1
      totals['timing_seconds'] += time.perf_counter() - timing_start
      writer.append(key, value)
  wall = time.perf_counter() - start
  summary = {'planned': len(keys), 'already_done': len(keys) - len(todo), **totals, 'wall_seconds': wall,
             'models_per_hour': 3600 * len(todo) / wall if todo and wall > 0 else None,
             'runner': runner.describe(), 'shards': len(tools.shard_paths(workdir / SHARDS))}
  files.atomic_write_text(workdir / 'summary.json', json.dumps(summary, indent=2) + '\n')
  return summary
