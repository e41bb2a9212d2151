"""Benchmark: the README's main job (the default BRP-NAS search binary: zero-cost priors, 5 iterations, 100
trained models, outputs written) on the bundled CIFAR-100 table, end to end in-process, beside the same search
without priors and iterative ridge regression with the same selection schedule.

python experiments/benchmarks/search.py   (writes experiments/benchmarks/search.json)
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eagle_jax import files
from eagle_jax.search import defaults, job, replay, tables

sys.path.insert(0, str(Path(__file__).parent))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position


def main():
  out = {'machine': machine.describe()}
  with tempfile.TemporaryDirectory() as tmp:
    for seed in range(2):  # the first run includes compilation
      for name, mode in (('default', None), ('no_priors', 'none')):
        config = defaults.brp_config('nb201/cifar100', 'nasbench201')
        config.seed = seed
        if mode:
          config.zero_cost.mode = mode
        start = time.perf_counter()
        summary = job.run(config, Path(tmp) / f'{name}{seed}', progress=False)
        out[f'{name}_seed{seed}_s'] = round(time.perf_counter() - start, 2)
        out[f'{name}_seed{seed}_best_rank'] = summary['best_found']['rank_in_space']
      dataset, searched, _, out['values'] = job.load_benchmark(config)
      start = time.perf_counter()
      trace = replay.ridge_search(dataset.space, dataset.keys, searched, 100, 5, seed)
      out[f'ridge_seed{seed}_s'] = round(time.perf_counter() - start, 2)
      out[f'ridge_seed{seed}_best_rank'] = tables.rank_in_space(searched, int(trace[np.argmax(searched[trace[:100]])]))
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  main()
