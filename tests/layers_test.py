"""Per-layer profiling and the layer-wise lookup baseline: NB201's layer table and counts rebuild exactly the
network it measures; the layers are profiled through the measure binary and resume; the lookup predicts latency
through the train binary with the GCN's outputs."""
import collections
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eagle_jax import spaces
from eagle_jax.data import layer_table, tools
from eagle_jax.measure import layers as layers_lib

ROOT = Path(__file__).resolve().parents[1]
_SETTINGS = ('filters', 'kernel_size', 'strides', 'pool_size', 'units')


def _signatures(model) -> collections.Counter:
  """What a Keras model computes, layer by layer: (class, settings, input shapes), counted."""
  found = collections.Counter()
  for layer in model.layers:
    if type(layer).__name__ == 'InputLayer':
      continue
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    settings = tuple((k, str(v)) for k, v in layer.get_config().items() if k in _SETTINGS)
    found[(type(layer).__name__, settings, tuple(tuple(x.shape) for x in inputs))] += 1
  return found


@pytest.mark.parametrize('vec, prune, config', [
    ((3, 3, 3, 3, 3, 3), True, {}),
    ((2, 1, 4, 0, 3, 1), True, dict(channels=8, cells_count=2, num_classes=10)),
    ((0, 4, 0, 2, 4, 1), True, dict(input_size=(2, 16, 16, 3))),
    ((2, 0, 4, 3, 0, 1), False, dict(cells_count=1)),
])
def test_the_layers_times_their_counts_rebuild_the_network(vec, prune, config):
  network = spaces.get('nasbench201').network()
  expected = _signatures(network.build(vec, prune=prune, **config))
  found = collections.Counter()
  layers = network.layers(prune=prune, **config)
  counts = network.layer_counts([vec], prune=prune, **config)[0]
  assert len({layer.tag for layer in layers}) == len(layers) == len(counts)
  for layer, count in zip(layers, counts):
    for signature, n in _signatures(layers_lib.layer_model(layer)).items():
      found[signature] += n * count
  assert +found == expected


def _profile(workdir: Path, *extra) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, '-m', 'eagle_jax.measure', '--config=configs/measure/layers_nasbench201.py',
                         f'--workdir={workdir}', '--config.runner.runs=5', '--config.runner.avg_between=5',
                         '--config.runner.warmup=2', *extra], cwd=ROOT, capture_output=True, text=True,
                        timeout=900, env={**os.environ, 'PYTHONPATH': str(ROOT)})


@pytest.mark.slow
def test_layers_profiled_resumed_and_summed_by_the_lookup_baseline(tmp_path):
  workdir = tmp_path / 'layers'
  first = _profile(workdir)
  assert first.returncode == 0, first.stderr[-3000:]
  tags = [layer.tag for layer in layer_table.space_layers(spaces.get('nasbench201'), {})]
  table = layer_table.read_table(layer_table.path(workdir))
  assert [tag for tag, _ in table] == tags
  assert all(np.asarray(timings).shape == (5, 5) and np.min(timings) > 0 for _, timings in table)
  rows = list(csv.DictReader((workdir / 'layers.csv').open()))
  assert [row['tag'] for row in rows] == tags and all(float(row['latency_s']) > 0 for row in rows)
  by_tag = {row['tag']: row for row in rows}
  assert by_tag['stack1_add3']['input_shapes'] == '1x16x16x32 1x16x16x32 1x16x16x32'
  assert by_tag['head_dense']['output_shape'] == '1x100'
  # a conv3x3 on 16 channels at 32x32 costs more than the 3-input sum beside it
  assert float(by_tag['stack0_relu_conv3x3']['latency_s']) > float(by_tag['stack0_add3']['latency_s'])
  assert tools.shard_paths(workdir / 'results') == []  # the table is not an arch shard
  again = _profile(workdir)
  assert again.returncode == 0 and json.loads((workdir / 'summary.json').read_text())['already_done'] == len(tags)
  other = _profile(workdir, '--config.runner.runs=4')
  assert other.returncode == 2 and 'other settings' in other.stderr.strip().splitlines()[-1]

  train = subprocess.run([sys.executable, '-m', 'eagle_jax.train', '--config=configs/predictors/lat_lut_nasbench201.py',
                          f'--workdir={tmp_path / "lut"}', f'--config.data.layers={workdir}',
                          '--config.data.measurement=cpu/xeon-litert-fp32-1thread'], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env={**os.environ, 'PYTHONPATH': str(ROOT)})
  assert train.returncode == 0, train.stderr[-3000:]
  metrics = json.loads((tmp_path / 'lut' / 'metrics.json').read_text())
  assert metrics['predictor'] == 'lut' and metrics['n_test'] > 50 and metrics['spearman'] > 0.6, metrics
  assert (tmp_path / 'lut' / 'scatter.png').stat().st_size > 0
  predictions = list(csv.DictReader((tmp_path / 'lut' / 'predictions.csv').open()))
  assert len(predictions) == metrics['n_test'] and all(float(p['prediction']) > 0 for p in predictions)
