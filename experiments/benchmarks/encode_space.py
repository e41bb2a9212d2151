"""Benchmark: arch_vectors() + encode() over the whole NB201 space, beside the op-by-op Python encoder.

python experiments/benchmarks/encode_space.py
"""
import json
import sys
from pathlib import Path

import time

import numpy as np

from eagle_jax.spaces import nasbench201, nasbench201_sequential

sys.path.insert(0, str(Path(__file__).parent))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position


def _median_seconds(fn, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main():
  vectorised = _median_seconds(lambda: nasbench201.encode(nasbench201.arch_vectors()), repeats=9)
  vecs = nasbench201.arch_vectors()
  sequential = _median_seconds(lambda: [nasbench201_sequential.encode_one(v) for v in vecs], repeats=3)
  print(json.dumps({'machine': machine.describe(),
                    'archs': len(vecs), 'vectorised_encode_s': round(vectorised, 4),
                    'sequential_python_encode_s': round(sequential, 3),
                    'speedup': round(sequential / vectorised, 1)}, indent=2))


if __name__ == '__main__':
  main()
