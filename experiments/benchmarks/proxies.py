"""Benchmark: zero-cost proxies of NB201 networks. The supernet path (python -m eagle_jax.proxies) in one process
(TF's own threads) and in --workers single-thread processes, on the same sample of distinct networks, each
projected to the 9,444 distinct networks of the whole space (first result + the rest at the steady rate); beside
the simplest way: a Keras network built and scored per cell (eager).

python experiments/benchmarks/proxies.py --networks=600   (writes experiments/benchmarks/proxies.json)
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.spaces.nasbench201 import network as nb201_network
from eagle_jax.proxies import compute, scores
from eagle_jax.spaces import nasbench201 as nb

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position

_NETWORKS = flags.DEFINE_integer('networks', 600, 'Distinct networks in the sample.')
_WORKERS = flags.DEFINE_list('workers', ['1', '2'], 'Worker counts to time.')
_EAGER = flags.DEFINE_integer('eager', 5, 'Networks scored one Keras network at a time.')
SPACE_NETWORKS = 9444  # distinct pruned networks among NB201's 15,284 valid cells


def _sample(count: int) -> np.ndarray:
  """`count` valid cells with distinct pruned networks, drawn with seed 0."""
  vecs = nb.arch_vectors()[nb.is_valid(nb.arch_vectors())]
  _, first = np.unique(nb.live_ops(vecs), axis=0, return_index=True)
  return vecs[np.random.default_rng(0).choice(first, count, replace=False)]


def main(argv):
  del argv
  config = __import__('configs.proxies.nasbench201', fromlist=['get_config']).get_config()
  sample = _sample(_NETWORKS.value)
  out = {'machine': machine.describe(), 'networks': _NETWORKS.value, 'batch': config.batch_size}
  with tempfile.TemporaryDirectory() as tmp:
    archs = Path(tmp) / 'archs.txt'
    archs.write_text('\n'.join(nb.to_arch_str(v) for v in sample) + '\n')
    for workers in map(int, _WORKERS.value):
      config.update(archs='list', arch_list=str(archs), workers=workers)
      summary = compute.compute(config, Path(tmp) / f'w{workers}', progress=False)
      rate = summary['networks_per_second_after_first']
      out[f'supernet_{workers}_workers'] = {
          'seconds': round(summary['seconds'], 1), 'first_result_seconds': summary['first_result_seconds'],
          'networks_per_second_after_first': rate,
          'projected_whole_space_minutes': round((summary['first_result_seconds'] + SPACE_NETWORKS / rate) / 60, 1)}
      print(json.dumps(out, indent=2), flush=True)
  images, labels = scores.probe_batch((config.batch_size, 32, 32, 3), 100, 0)
  start = time.perf_counter()
  for vec in sample[:_EAGER.value]:
    scores.score_network(lambda v=vec: nb201_network.build(v, input_size=images.shape), images, labels)
  per_network = (time.perf_counter() - start) / _EAGER.value
  out['keras_network_per_cell'] = {'seconds_per_network': round(per_network, 2),
                                   'projected_whole_space_minutes': round(SPACE_NETWORKS * per_network / 60, 1)}
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  app.run(main)
