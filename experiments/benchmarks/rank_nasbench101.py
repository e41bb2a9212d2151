"""Ranking the whole NB101 space (423,624 cells) with a trained 4x600 binary GCN, beside a bare numpy forward
pass of the same network over the same cells (both encode in chunks of 2048), with the peak memory of each.

python experiments/benchmarks/rank_nasbench101.py   (writes experiments/benchmarks/rank_nasbench101.json)
The predictor is trained first (acc_gcn_nasbench101_bin on the bundled NASLib cells, 50 epochs): ranking time does
not depend on how well it is trained, but a trained one is what users rank with.
"""
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from eagle_jax import files, spaces
from eagle_jax.predictors import batches, experiment, inference

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.predictors import acc_gcn_nasbench101_bin  # pylint: disable=g-import-not-at-top,wrong-import-position

CHUNK = batches.CHUNK


def _peak_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _layer_norm(h):
  return (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-5)


def numpy_scores(params, adjacency, features) -> np.ndarray:
  """The same GCN and default head in numpy: [A (H W) + b -> LayerNorm -> ReLU] x L, global node, a - b."""
  h = features
  layers = sorted(k for k in params['encoder'] if k.startswith('gc_'))
  for k, name in enumerate(layers):
    gc, norm = params['encoder'][name], params['encoder'][f'norm_{k}']
    h = np.einsum('bij,bjh->bih', adjacency, h @ gc['kernel']) + gc['bias']
    h = np.maximum(_layer_norm(h) * norm['scale'] + norm['bias'], 0)
  embedding = h[:, 0]
  kernel, dim = params['last']['kernel'], embedding.shape[-1]
  direction = kernel[:, 0] - kernel[:, 1]
  return embedding @ direction[:dim] - embedding @ direction[dim:]


def main():
  space = spaces.get('nasbench101')
  out = {'machine': machine.describe(), 'jax': jax.__version__, 'cells': 0}
  start = time.perf_counter()
  keys = space.enumerate()
  out.update(cells=len(keys), enumerate_s=time.perf_counter() - start, peak_mib_after_enumeration=_peak_mib())
  with tempfile.TemporaryDirectory() as workdir:
    config = acc_gcn_nasbench101_bin.get_config()
    config.training.epochs = 50
    experiment.train_and_evaluate(config, workdir)
    predictor = inference.load(workdir)
  predictor.rank(keys[:CHUNK])  # compile
  out['peak_mib_before_rank'] = _peak_mib()
  start = time.perf_counter()
  order = predictor.rank(keys)
  out['rank_all_s'] = time.perf_counter() - start
  out['peak_mib_after_rank'] = _peak_mib()
  params = jax.tree_util.tree_map(np.asarray, predictor.params)
  start = time.perf_counter()
  scores = np.concatenate([numpy_scores(params, *space.encode(keys[i:i + CHUNK])) for i in range(0, len(keys), CHUNK)])
  out['numpy_forward_all_s'] = time.perf_counter() - start
  out['peak_mib_after_numpy'] = _peak_mib()
  agree = np.argsort(-scores, kind='stable')[:1000]
  out['top_1000_overlap_with_numpy'] = len(set(agree.tolist()) & set(order[:1000].tolist())) / 1000
  out['full_encoding_array_mib'] = len(keys) * (8 * 8 + 8 * 7) * 4 / 2 ** 20
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  main()
