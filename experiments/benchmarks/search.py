"""Benchmark: a full BRP-NAS search (5 iterations, 100 trained models, final ranking of 15284 candidates) on
the bundled CIFAR-100 table, beside iterative ridge regression with the same selection schedule.

python experiments/benchmarks/search.py   (writes experiments/benchmarks/search.json)
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

from eagle_jax import files
from eagle_jax.search import brpnas, job, replay, tables

sys.path.insert(0, str(Path(__file__).parent))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.search import defaults  # pylint: disable=g-import-not-at-top,wrong-import-position


def main():
  config = defaults.brp_config('nb201/cifar100')
  dataset, searched, _, description = job.load_benchmark(config)
  evaluate = lambda v: searched[dataset.rows_of(v)]
  out = {'machine': machine.describe(), 'values': description}
  for seed in range(2):  # the first run includes compilation
    config.seed = seed
    start = time.perf_counter()
    result = brpnas.run_search(config, dataset.vectors, evaluate, progress=False)
    out[f'brpnas_seed{seed}_s'] = round(time.perf_counter() - start, 2)
    out[f'brpnas_seed{seed}_best_rank'] = tables.rank_in_space(searched, result.trained[int(np.argmax(result.values))])
    start = time.perf_counter()
    trace = replay.ridge_search(dataset.vectors, searched, 100, 5, seed)
    out[f'ridge_seed{seed}_s'] = round(time.perf_counter() - start, 2)
    out[f'ridge_seed{seed}_best_rank'] = tables.rank_in_space(searched, int(trace[np.argmax(searched[trace[:100]])]))
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  main()
