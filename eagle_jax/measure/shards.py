"""Result shards: results/results{k}.pickle lists of (key, value), written atomically after every model, one
folder per device (or per farm of identical devices), resumed from what they hold; and the record of the devices
(device.json)."""
import collections
import json
import threading
import time
import queue as queue_lib
from pathlib import Path

from eagle_jax import files
from eagle_jax.data import formats, tools

SHARDS = 'results'
DEVICE_RECORD = 'device.json'


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


class Device:
  """A result folder and the runners that fill it (one device, or a farm of identical ones)."""

  def __init__(self, writer: ShardWriter, device_runners: list):
    self.writer, self.runners = writer, device_runners
    self.lock = threading.Lock()
    self.queue = queue_lib.Queue(maxsize=sum(2 * runner.together for runner in device_runners))

  def record(self, key, value) -> None:
    with self.lock:
      self.writer.append(key, value)


def devices(config, workdir: Path, device_runners: list, space) -> list:
  """One result folder for a single device or a farm (config.runner.farm); else one per device under results/
  (named by host_port, or by a phone's serial)."""
  if len(device_runners) == 1 or config.runner.get('farm', True):
    return [Device(ShardWriter(workdir / SHARDS, config.shard_size, space), device_runners)]
  return [Device(ShardWriter(workdir / SHARDS / runner.name, config.shard_size, space), [runner])
          for runner in device_runners]


def record_devices(workdir: Path, device_runners: list):
  """Appends this run's devices to device.json (one entry per run: latency drifts with frequency and heat, and
  runs are compared): each runner's device now; the returned function adds them again at `moment`."""
  path = workdir / DEVICE_RECORD
  runs = json.loads(path.read_text()) if path.is_file() else []
  entry = {'started': time.strftime('%Y-%m-%dT%H:%M:%S%z'), 'devices': {}}
  runs.append(entry)

  def record(moment: str) -> None:
    for runner in device_runners:
      try:
        state = runner.device()
      except Exception as e:  # pylint: disable=broad-except  (a record only: a phone may be gone by the end)
        state = {'error': f'{type(e).__name__}: {e}'}
      entry['devices'].setdefault(runner.name, {})[moment] = state
    files.atomic_write_text(path, json.dumps(runs, indent=2) + '\n')

  record('before')
  return record
