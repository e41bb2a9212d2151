"""The measurement's workers: conversion in worker processes that die with their parent, and the device threads
that time converted models one at a time (conversion paused meanwhile where asked)."""
import collections
import contextlib
import ctypes
import multiprocessing
import os
import queue as queue_lib
import signal
import sys
import threading
import time

from eagle_jax.measure import shards


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


class Totals(collections.Counter):
  """Counts and seconds, added to from several device threads."""

  def __init__(self):
    super().__init__()
    self.lock = threading.Lock()

  def add(self, **amounts) -> None:
    with self.lock:
      self.update(amounts)


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


def put(queue: queue_lib.Queue, item, stop: threading.Event) -> None:
  """Puts `item` on a bounded queue, giving up once the run is stopping (a device thread may be gone)."""
  while not stop.is_set():
    try:
      queue.put(item, timeout=0.2)
      return
    except queue_lib.Full:
      pass


def _take(device: shards.Device, stop: threading.Event):
  """The next queued item (None: no more models), or None once the run is stopping."""
  while not stop.is_set():
    try:
      return device.queue.get(timeout=0.2)
    except queue_lib.Empty:
      continue
  return None


def time_models(device: shards.Device, runner, totals: Totals, failures: list, stop: threading.Event,
                 bar, pause: bool) -> None:
  """A device thread: times the converted models queued for it, `runner.together` at a time, until the None
  sentinel (with conversion paused meanwhile if `pause`)."""
  finished = False
  while not finished and not stop.is_set():
    batch = []
    while len(batch) < runner.together:
      item = _take(device, stop)
      if item is None:
        finished = True
        break
      batch.append(item)
    if not batch or stop.is_set():
      return
    start = time.perf_counter()
    try:
      with conversion_paused(pause):
        values = runner.run_together([flatbuffer for _, flatbuffer in batch])
    except Exception as e:  # pylint: disable=broad-except  (device unreachable or too slow: stop the run)
      failures.append(e)
      stop.set()
      return
    seconds = (time.perf_counter() - start) / len(batch)
    for (key, _), value in zip(batch, values):
      failed = isinstance(value, Exception)  # this model or its settings failed on the device: recorded
      device.record(key, f'error: timing failed: {value}' if failed else value)
      totals.add(**{'failed' if failed else 'measured': 1, 'timing_seconds': seconds})
      bar.update(1)
