"""Zero-cost proxies of many archs of a space, resumable: through the space's supernet where it has one (NB201:
built and traced once; each distinct network scored once and its value given to every arch that runs it), else one
network at a time with the space's Keras builder (what the measure binary converts).

Writes to the workdir: proxies.csv (arch_str and one column per proxy), one Eagle pickle {key: value} per proxy
(what config.zero_cost / config.foresight read), summary.json (last), and partial.npz while running: a killed
run goes on from it with nothing scored twice.
"""
import concurrent.futures
import hashlib
import io
import json
import multiprocessing
import os
import time
from pathlib import Path

import ml_collections
import numpy as np
from tqdm import auto as tqdm

from eagle_jax import files, machine, spaces
from eagle_jax.data import formats
from eagle_jax.proxies import scores

PARTIAL, SUMMARY, TABLE = 'partial.npz', 'summary.json', 'proxies.csv'


def _digest(config: ml_collections.ConfigDict) -> str:
  relevant = {k: v for k, v in config.to_dict().items() if k not in ('save_every', 'workers')}
  return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _input_shape(config) -> tuple:
  return (config.batch_size,) + tuple(config.model.input_size[1:])


def _model_config(config, batch) -> dict:
  return {**config.model.to_dict(), 'input_size': (batch,) + tuple(config.model.input_size[1:])}


class _Partial:
  """Values (archs, proxies) with a done mask, saved atomically every `save_every` archs (`set`) or on `save`."""

  def __init__(self, path: Path, digest: str, keys: np.ndarray, names: list, save_every: int):
    self.path, self.save_every, self.pending = path, save_every, 0
    self.values = np.full((len(keys), len(names)), np.nan)
    self.done = np.zeros(len(keys), bool)
    self.digest, self.keys = digest, keys
    if path.exists():
      try:
        with np.load(path, allow_pickle=False) as saved:
          saved = {k: saved[k] for k in ('digest', 'keys', 'values', 'done')}
      except (OSError, ValueError, KeyError) as e:
        raise ValueError(f'{path} is not a proxies run in progress ({e}); remove it or use another workdir') from None
      if str(saved['digest']) != digest or not np.array_equal(saved['keys'], keys):
        raise ValueError(f'{path} holds proxies of other archs or settings; use another workdir')
      self.values, self.done = saved['values'], saved['done']

  def set(self, rows, values: np.ndarray) -> None:
    self.values[rows] = values
    self.done[rows] = True
    self.pending += 1
    if self.pending >= self.save_every:
      self.save()

  def save(self) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, digest=self.digest, keys=self.keys, values=self.values, done=self.done)
    files.atomic_write_bytes(self.path, buffer.getvalue())
    self.pending = 0


def _supernet(config, space, keys, partial: _Partial, names: list, images, labels, progress: bool):
  """Scores each distinct network (`space.supernet_choices`) once on the space's supernet, in config.workers
  processes (each with one thread and its own supernet); invalid archs (no network) stay NaN."""
  valid = space.is_valid(keys)
  distinct, groups = np.unique(space.supernet_choices(keys[valid]), axis=0, return_inverse=True)
  rows_of = [np.nonzero(valid)[0][groups.reshape(-1) == g] for g in range(len(distinct))]
  todo = np.array([g for g in range(len(distinct)) if not partial.done[rows_of[g]].all()], np.int64)
  partial.done[~valid] = True
  if not len(todo):
    return {}
  count = -(-len(todo) // config.save_every)  # tasks of save_every networks, interleaved (cost grows along todo)
  chunks = [todo[k::count] for k in range(count)]
  setup = (space, config.to_dict(), images, labels, names)
  bar = tqdm.tqdm(total=len(todo), desc=f'zero-cost proxies (distinct {space.name} networks)',
                  disable=not progress)
  clock = _Clock(time.perf_counter())
  if config.workers <= 1:
    _start_worker(*setup)
    for chunk in chunks:
      _record(partial, rows_of, chunk, _score_chunk(distinct[chunk]), bar, clock)
  else:
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(config.workers, mp_context=context, initializer=_start_worker,
                                                initargs=setup + (os.getpid(),)) as pool:
      futures = {pool.submit(_score_chunk, distinct[chunk]): chunk for chunk in chunks}
      for future in concurrent.futures.as_completed(futures):
        _record(partial, rows_of, futures[future], future.result(), bar, clock)
  bar.close()
  return clock.report()


class _Clock:
  """Throughput after the first finished task (which carries the supernets' build and tracing)."""

  def __init__(self, start: float):
    self.start, self.first, self.first_count, self.count = start, None, 0, 0

  def tick(self, count: int) -> None:
    self.count += count
    if self.first is None:
      self.first, self.first_count = time.perf_counter(), self.count
    self.last = time.perf_counter()

  def report(self) -> dict:
    if self.first is None:
      return {'networks_scored': 0}
    rate = (self.count - self.first_count) / max(self.last - self.first, 1e-9)
    return {'networks_scored': self.count, 'first_result_seconds': round(self.first - self.start, 1),
            'networks_per_second_after_first': round(rate, 3)}


_WORKER = {}  # a scoring process's supernets and batch


def _start_worker(space, config: dict, images, labels, names, parent_pid: int = 0) -> None:
  """Builds (and traces on first use) the float32 supernet scorer and the float64 synflow supernet."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (TF only when scoring)
  from eagle_jax.measure import workers  # pylint: disable=g-import-not-at-top
  if parent_pid:
    workers.die_with_parent(parent_pid)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
  shape = (None,) + tuple(config['model']['input_size'][1:])
  network = {k: v for k, v in config['model'].items() if k not in ('input_size', 'prune')}
  build_supernet = space.network().build_supernet
  _WORKER.update(images=images, labels=labels, names=names,
                 scorer=scores.Scorer(build_supernet(shape, **network), compiled=True))
  with scores.float64_layers():
    _WORKER['synflow'] = scores.Synflow(build_supernet(shape, **network), compiled=True)


def _score_chunk(choices: np.ndarray) -> np.ndarray:
  w = _WORKER
  return np.stack([_row(w['scorer'], w['synflow'], w['names'], w['images'], w['labels'], c) for c in choices])


def _record(partial: '_Partial', rows_of: list, chunk, values: np.ndarray, bar, clock: _Clock) -> None:
  for group, row in zip(chunk, values):
    partial.values[rows_of[group]] = row
    partial.done[rows_of[group]] = True
  partial.save()
  bar.update(len(chunk))
  clock.tick(len(chunk))


def _row(scorer, synflow, names, images, labels, choice=None) -> np.ndarray:
  """The network proxies among `names` of one network (NaN for flops and params, filled in later)."""
  found = scorer.gradient_proxies(images, labels, choice) if set(names) & set(scores.GRADIENT_PROXIES) else {}
  if 'synflow' in names:
    found['synflow'] = synflow(images.shape, choice)
  return np.array([found.get(n, np.nan) for n in names], np.float64)


def _one_at_a_time(config, space, keys, partial: _Partial, names: list, images, labels, progress: bool):
  """Scores each arch on its own network from the space's Keras builder (eager: no tracing per network)."""
  builder = space.network()
  model_config = _model_config(config, len(images))
  todo = np.nonzero(~partial.done)[0]
  for row in tqdm.tqdm(todo, desc=f'zero-cost proxies ({space.name} networks)', disable=not progress):
    if not space.is_valid(keys[row:row + 1])[0]:
      partial.set([row], np.full(len(names), np.nan))
      continue
    spec = space.spec(keys[row])
    scorer = scores.Scorer(builder.build(spec, **model_config))
    with scores.float64_layers():
      synflow = scores.Synflow(builder.build(spec, **model_config)) if 'synflow' in names else None
    partial.set([row], _row(scorer, synflow, names, images, labels))


def compute(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Computes config.proxies for the archs config.archs names; writes the workdir's outputs; returns the summary."""
  from eagle_jax.measure import plan  # pylint: disable=g-import-not-at-top
  names = scores.proxy_names(list(config.proxies))
  space = spaces.get(config.space)
  keys = plan.choose_archs(config, space)
  network_names = [n for n in names if n not in ('flops', 'params')]
  if network_names:  # the batch is checked (and read) before the workdir is touched
    images, labels = scores.probe_batch(_input_shape(config), config.model.num_classes, config.seed,
                                        config.images, config.labels)
  start = time.perf_counter()
  with files.output_dir(workdir, 'proxies') as workdir:
    partial = _Partial(workdir / PARTIAL, _digest(config), keys, names, config.save_every)
    done_before, timing = int(partial.done.sum()), {}
    if network_names and not partial.done.all():
      run = _one_at_a_time if space.supernet_choices(keys[:1]) is None else _supernet
      timing = run(config, space, keys, partial, names, images, labels, progress) or {}
    partial.done[:] = True
    valid = space.is_valid(keys)
    costs = config.costs.to_dict()
    for name, method in (('flops', space.flops), ('params', space.params)):
      if name in names:
        partial.values[valid, names.index(name)] = method(keys[valid], **costs)
    partial.save()
    summary = _write_outputs(workdir, space, keys, valid, partial.values, names)
    summary.update(archs=int(len(keys)), valid=int(valid.sum()), scored_before_this_run=done_before,
                   seconds=time.perf_counter() - start, **timing, batch=list(_input_shape(config)),
                   data=config.images or 'data-free (Gaussian images, uniform labels)', seed=config.seed,
                   machine=machine.describe())
    files.atomic_write_text(workdir / SUMMARY, json.dumps(summary, indent=2) + '\n')
    (workdir / PARTIAL).unlink()
  return summary


def _write_outputs(workdir: Path, space, keys, valid, values, names) -> dict:
  arch_strs = [space.to_str(k) for k in keys[valid]]
  lines = ['arch_str,' + ','.join(names)]
  lines += [f'"{a}",' + ','.join(repr(float(v)) for v in row) for a, row in zip(arch_strs, values[valid])]
  files.atomic_write_text(workdir / TABLE, '\n'.join(lines) + '\n')
  hashable = space.hashable(keys[valid])
  for k, name in enumerate(names):
    finite = np.isfinite(values[valid, k])
    mapping = {key: float(v) for key, v, ok in zip(hashable, values[valid, k], finite) if ok}
    formats.write_measurements(mapping, workdir / f'{name}.pickle', space, overwrite=True)
  return {'proxies': names, 'table': TABLE, 'pickles': [f'{n}.pickle' for n in names],
          'non_finite': {n: int((~np.isfinite(values[valid, k])).sum()) for k, n in enumerate(names)}}
