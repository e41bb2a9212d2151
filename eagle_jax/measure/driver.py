"""The measurement driver: the plan (measure/plan.py) checked, models converted in worker processes and timed one
at a time (measure/workers.py) into result shards (measure/shards.py); a crashed or killed run resumes with nothing
measured twice."""
import collections
import concurrent.futures
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import ml_collections
from tqdm import auto as tqdm

from eagle_jax import files, spaces
from eagle_jax.data import tools
from eagle_jax.measure import plan as plan_lib
from eagle_jax.measure import layers, shards, workers as workers_lib


def measure(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Measures the configured archs into `workdir/results` (per device: `results/<host>_<port>`); returns (and
  writes) a summary. Settings are checked, remote devices pinged and the first model converted before anything
  is written. `config.layers=True` profiles the network's layers instead (measure/layers.py)."""
  if config.get('layers', False):
    return layers.measure_layers(config, workdir, progress)
  space = spaces.get(config.space)
  device_runners = plan_lib.check_config(config, space)
  keys = space.hashable(plan_lib.choose_archs(config, space))
  if len(set(keys)) != len(keys):
    raise ValueError('the arch list names some archs twice')
  with files.output_dir(workdir, 'measure') as workdir:
    return _measure_into(config, workdir, device_runners, space, keys, progress)


def _measure_into(config, workdir: Path, device_runners: list, space, keys: list, progress: bool) -> dict:
  archs, digest = [space.to_str(k) for k in keys], plan_lib.settings_digest(config, space)
  plan_lib.check(workdir, archs, digest, config.fix)
  for runner in device_runners:
    runner.check()  # unreachable devices, wrong tokens, missing phones or tools fail here, before any work
  model_config = dict(config.model.to_dict(), input_size=tuple(config.model.input_size))
  conversion_config, workers = plan_lib.conversion_settings(config), config.conversion.workers
  valid = dict(zip(keys, space.is_valid(space.as_keys(keys)))) if keys else {}
  start = time.perf_counter()
  context = multiprocessing.get_context('spawn')
  with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=workers_lib.die_with_parent,
                                              initargs=(os.getpid(),)) as pool:
    convert_one = lambda key: pool.submit(workers_lib.convert_arch, space.spec(key), space, model_config,
                                          conversion_config)
    first = next((k for k in keys if valid[k]), None)
    first_conversion = convert_one(first) if first is not None else None
    if first_conversion is not None and isinstance(first_conversion.result()[0], str):
      raise ValueError(f'config.model / config.conversion cannot build and convert {space.to_str(first)}: '
                       f'{first_conversion.result()[0]}')
    plan_lib.write(workdir, archs, digest)
    devices = shards.devices(config, workdir, device_runners, space)
    record = shards.record_devices(workdir, device_runners)
    try:
      return _run(devices, keys, valid, first, first_conversion, convert_one, workers, workdir, progress, start,
                  config.runner.get('pause_conversion', False))
    finally:
      record('after')


def _run(devices, keys, valid, first, first_conversion, convert_one, workers, workdir, progress, start,
         pause: bool) -> dict:
  """Converts each model once (in the pool) and times it on every device folder that lacks it."""
  todo = [k for k in keys if any(k not in d.writer.done for d in devices)]
  totals = workers_lib.Totals()
  failures, stop = [], threading.Event()
  total_work = sum(k not in d.writer.done for d in devices for k in keys)
  described = ', '.join(r.describe() for d in devices for r in d.runners)
  bar = tqdm.tqdm(total=total_work, desc=f'measuring ({described})', unit='model', disable=not progress)
  threads = [threading.Thread(target=workers_lib.time_models, args=(d, r, totals, failures, stop, bar, pause),
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
        workers_lib.put(device.queue, (key, flatbuffer), stop)
    for device in devices:
      for _ in device.runners:
        workers_lib.put(device.queue, None, stop)
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
