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
