"""Benchmarks of the predictors, each beside the simplest alternative in the same run (2-core CPU):
- whole-space ranking (15625 archs, embed + rank) with a full-size binary GCN, against Eagle's way: one
  comparator call per comparison of a Python sort (timed on a sample of comparisons, extrapolated);
- binary training on 100 models for 250 epochs, against Eagle's per-pair batches (64 pairs = 128 graph passes
  per step, 155 steps an epoch; one epoch timed, extrapolated);
- dense against jraph message passing for the same forward pass.

python experiments/benchmarks/predictors.py   (writes experiments/benchmarks/predictors.json)
"""
import functools
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from eagle_jax import data, files
from eagle_jax.predictors import batches, inference, initialization, models, normalization, training
from eagle_jax.spaces import nasbench201

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.predictors import acc_gcn_nasbench201_bin  # pylint: disable=g-import-not-at-top,wrong-import-position


def _time(fn, repeats=3):
  fn()  # compile / warm up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main():
  config = acc_gcn_nasbench201_bin.get_config()
  model = initialization.create_model(config.model)
  params = initialization.fresh_params(model, 'nasbench201', 0)
  card = {'model': config.model.to_dict(), 'normalization': {'min': 0.0, 'max': 1.0}}
  predictor = inference.TrainedPredictor(params, card)
  out = {'machine': machine.describe(), 'jax': jax.__version__}

  out['rank_whole_space_s'] = _time(lambda: predictor.rank())
  terms = predictor.head_terms()
  out['faithful_two_scalar_sort_s'] = _time(lambda: inference.faithful_sort(terms['a'], terms['b'], terms['c']), 1)
  comparisons = []
  counted = lambda i, j: comparisons.append(1) or terms['a'][i] + terms['b'][j] + terms['c']
  sorted(range(nasbench201.NUM_ARCHS), key=functools.cmp_to_key(counted))
  embeddings = jnp.asarray(np.random.default_rng(0).normal(size=(2, 600)), jnp.float32)
  pair_call = jax.jit(lambda p, e1, e2: models.pair_logits(model.apply({'params': p}, jnp.stack([e1, e2]),
                                                                       method=models.Predictor.regress))[0, 1])
  per_call = _time(lambda: [pair_call(params, embeddings[0], embeddings[1]).block_until_ready()
                            for _ in range(500)], 1) / 500
  out['comparisons'] = len(comparisons)
  out['eagle_style_per_comparison_call_s'] = per_call * len(comparisons)

  dataset = data.load_dataset('nb201/cifar100')
  rows = np.random.default_rng(0).choice(len(dataset), 100, replace=False)
  arrays = batches.Arrays.of(dataset, rows, normalization.Normalizer.fit(dataset.values, True).apply(dataset.values))
  cfg = config.training
  cfg.es_patience = 0
  start = time.perf_counter()
  training.fit(training.HeadLoss(model), params, arrays, None, cfg, seed=0, progress=False)
  out['binary_100_models_250_epochs_s'] = time.perf_counter() - start
  steps_rows, masks = batches.padded_batches(128, 128, np.random.default_rng(0), False)
  state = training.train_state.TrainState.create(apply_fn=None, params=params, tx=training.optimizer(3.5e-4, 5e-4))
  pair_arrays = arrays.take(np.random.default_rng(0).integers(0, 100, 128))
  steps = np.repeat(steps_rows, 155, axis=0), np.repeat(masks, 155, axis=0)
  epoch = lambda: training.train_epoch(state, pair_arrays, *steps, jax.random.PRNGKey(0),
                                      objective=training.HeadLoss(model))[1]
  out['eagle_style_pair_batches_250_epochs_s'] = _time(epoch, 1) * 250

  adjacency, features = nasbench201.encode(nasbench201.arch_vectors()[:4096])
  for path in models.MESSAGE_PASSING:
    net = model.clone(message_passing=path)
    forward = jax.jit(lambda p, a, x, net=net: net.apply({'params': p}, a, x)['a'])
    out[f'forward_4096_{path}_s'] = _time(lambda forward=forward: forward(params, adjacency, features))
  out = {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  main()
