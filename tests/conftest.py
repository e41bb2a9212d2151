"""Shared fixtures: the public datasets in ../shared/data (present in CI beside the checkout)."""
import csv
import functools
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'
LATBENCH = SHARED_DATA / 'eagle-latbench-nb201' / 'raw'
LATBENCH_DEVICES = ('desktop-cpu-core-i7-7820x-fp32', 'desktop-gpu-gtx-1080ti-fp32', 'embedded-gpu-jetson-nano-fp16',
                    'mobile-cpu-snapdragon-855-kryo-485-int8', 'mobile-gpu-snapdragon-855-adreno-640-int8')


@functools.lru_cache(maxsize=None)
def read_csv(relative: str) -> list:
  path = SHARED_DATA / relative
  if not path.exists():
    pytest.fail(f'{path} is missing: tests need ../shared/data beside the checkout')
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


@pytest.fixture
def latbench_path():
  def path(device: str) -> Path:
    return LATBENCH / f'{device}.pickle'
  return path


def _processes_started_after(pid: int) -> list:
  """(pid, command line) of processes started after `pid` whose command runs eagle_jax or a multiprocessing
  worker, except multiprocessing's resource tracker, which exits with pytest (Linux /proc; empty elsewhere)."""
  def start_ticks(stat_path: Path) -> int:
    return int(stat_path.read_text().rsplit(')', 1)[1].split()[19])
  try:
    own = start_ticks(Path(f'/proc/{pid}/stat'))
  except OSError:
    return []
  found = []
  for stat in Path('/proc').glob('[0-9]*/stat'):
    try:
      other = int(stat.parent.name)
      state = stat.read_text().rsplit(')', 1)[1].split()[0]
      command = (stat.parent / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
      if other != pid and state != 'Z' and start_ticks(stat) >= own and 'resource_tracker' not in command and (
          'eagle_jax' in command or 'multiprocessing' in command):  # the tracker exits with pytest itself
        found.append((other, command.strip()))
    except OSError:
      continue
  return found


def pytest_sessionfinish(session, exitstatus):
  """Nothing a test starts may outlive the test session (servers, drivers, conversion workers)."""
  import os  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  deadline = time.time() + 10
  while (left := _processes_started_after(os.getpid())) and time.time() < deadline:
    time.sleep(0.5)
  if left:
    session.exitstatus = 1
    print(f'\nprocesses left running after the tests: {left}')
