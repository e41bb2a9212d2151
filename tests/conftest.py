"""Shared fixtures: small public data committed under tests/fixtures, and the large public datasets.

Most tests run on the fixtures (tests/fixtures/README.md) and the data bundled in the package, so a fresh clone
passes without anything beside it. A test that needs a large public dataset asks `external(...)` for it: it is
found under $EAGLE_JAX_DATA, or ../shared/data beside the checkout, and the test is skipped with a message saying
how to get it otherwise (failed instead where EAGLE_JAX_REQUIRE_DATA=1, as in CI).
"""
import csv
import functools
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / 'fixtures'
NASLIB_DARTS_JSON = FIXTURES / 'naslib' / 'zc_nasbench301.json'
NASLIB_NB101_JSON = FIXTURES / 'naslib' / 'zc_nasbench101.json'
NASLIB_NB201_CSV = FIXTURES / 'naslib' / 'zc_nasbench201_subset.csv'
NATS_BENCH = FIXTURES / 'nats_bench'
HELP_HEAD_CSV = FIXTURES / 'help' / 'help_latency_nb201_first200.csv'
LATBENCH = 'eagle-latbench-nb201/raw'
LATBENCH_DEVICES = ('desktop-cpu-core-i7-7820x-fp32', 'desktop-gpu-gtx-1080ti-fp32', 'embedded-gpu-jetson-nano-fp16',
                    'mobile-cpu-snapdragon-855-kryo-485-int8', 'mobile-gpu-snapdragon-855-adreno-640-int8')


def external_root() -> Path:
  """Where the large public datasets are: $EAGLE_JAX_DATA, else ../shared/data beside the checkout."""
  if os.environ.get('EAGLE_JAX_DATA'):
    return Path(os.environ['EAGLE_JAX_DATA']).expanduser()
  return Path(__file__).resolve().parents[2] / 'shared' / 'data'


def external(relative: str) -> Path:
  """The path of a large public dataset file; skips the test (fails it under EAGLE_JAX_REQUIRE_DATA=1) when absent."""
  path = external_root() / relative
  if not path.exists():
    message = (f'needs the public dataset file {relative}, not found under {external_root()}: set EAGLE_JAX_DATA '
               'to a folder holding it (the LatBench pickles: python -m eagle_jax.data fetch latbench '
               '--output=$EAGLE_JAX_DATA; the others are described in tests/fixtures/README.md)')
    if os.environ.get('EAGLE_JAX_REQUIRE_DATA') == '1':
      pytest.fail(message)
    pytest.skip(message)
  return path


@functools.lru_cache(maxsize=None)
def _read_csv(path: Path) -> list:
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def read_csv(path) -> list:
  """Rows of a CSV: a fixture path, or a path relative to the external data folder."""
  path = Path(path)
  return _read_csv(path if path.is_absolute() else external(str(path)))


@pytest.fixture
def latbench_path():
  def path(device: str) -> Path:
    return external(f'{LATBENCH}/{device}.pickle')
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
  import time  # pylint: disable=g-import-not-at-top
  deadline = time.time() + 10
  while (left := _processes_started_after(os.getpid())) and time.time() < deadline:
    time.sleep(0.5)
  if left:
    session.exitstatus = 1
    print(f'\nprocesses left running after the tests: {left}')
