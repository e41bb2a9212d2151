"""A user's own search space (tests/toy_space.py, outside the package): registered in Python, and named as
MODULE:ATTRIBUTE on the binaries, which train, rank and search on it with the generic configs."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import toy_space
from eagle_jax import data, spaces
from eagle_jax.predictors import inference

ROOT = Path(__file__).resolve().parents[1]
SMALL = ['--config.model.num_layers=2', '--config.model.num_hidden=32', '--config.training.batch_size=8']


def _write_values(path: Path) -> dict:
  values = {toy_space.SPACE.to_str(k): toy_space.accuracy(k) for k in toy_space.SPACE.hashable(
      toy_space.SPACE.enumerate())}
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['arch_str', 'value'])
    writer.writerows(values.items())
  return values


def _binary(module: str, *args: str) -> subprocess.CompletedProcess:
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), str(ROOT)]))
  return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_a_registered_space_is_found_and_reads_its_files(tmp_path):
  space = spaces.get('toy_space:SPACE')
  assert space is toy_space.SPACE and space.reference == 'toy_space:SPACE'
  assert spaces.get('toy_chain') is space and spaces.register(space) is space  # registering again is harmless
  values = _write_values(tmp_path / 'values.csv')
  dataset = data.load_dataset(tmp_path / 'values.csv', space='toy_space:SPACE')
  assert len(dataset) == 81 and dataset.space is space and dataset.as_dict()[(0, 0, 0, 0)] == values[
      'conv3-conv3-conv3-conv3']
  adjacency, features = space.encode(space.enumerate())
  assert adjacency.shape == (81, 7, 7) and features.shape == (81, 7, 6) and (features.sum(2) == 1).all()
  assert len(space.sample(10, 0)) == 10 and space.mutate((0, 0, 0, 0), np.random.default_rng(0)) != (0, 0, 0, 0)


@pytest.mark.parametrize('name, message', [
    ('toy_space:NOPE', "module 'toy_space' has no 'NOPE'"),
    ('no_such_module_here:SPACE', "cannot import 'no_such_module_here'"),
    ('toy_space:OPS', 'is a tuple, not an eagle_jax.spaces.Space'),
    ('nasbench202', "unknown search space 'nasbench202'"),
    ('', 'no search space given'),
])
def test_bad_space_names_are_refused(name, message):
  with pytest.raises(ValueError, match=message):
    spaces.get(name)


def test_register_refuses_a_clash_and_a_non_space():
  clash = toy_space.ChainSpace()
  clash.name = 'nasbench201'
  with pytest.raises(ValueError, match="a space named 'nasbench201' is already known"):
    spaces.register(clash)
  with pytest.raises(TypeError, match='takes a Space instance'):
    spaces.register('toy_chain')


@pytest.mark.slow
def test_train_rank_and_search_a_users_space_through_the_binaries(tmp_path):
  values = _write_values(tmp_path / 'values.csv')
  common = ['--config.space=toy_space:SPACE', f'--config.data.measurement={tmp_path / "values.csv"}', *SMALL]
  result = _binary('eagle_jax.train', '--config=configs/predictors/acc_gcn_bin.py', f'--workdir={tmp_path / "acc"}',
                   *common, '--config.training.epochs=40')
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = json.loads((tmp_path / 'acc' / 'metrics.json').read_text())
  assert (metrics['n_train'], metrics['n_valid'], metrics['n_test']) == (57, 8, 16)  # 70% and 10% of 81, rounded
  assert metrics['spearman'] > 0.6  # the made-up accuracy is a sum over positions: a GCN learns it

  result = _binary('eagle_jax.rank', f'--predictor={tmp_path / "acc"}', f'--output={tmp_path / "top"}', '--top_k=81')
  assert result.returncode == 0, result.stderr[-3000:]
  with open(tmp_path / 'top' / 'top.csv', newline='') as f:
    ranked = [row['arch_str'] for row in csv.DictReader(f)]
  assert sorted(ranked) == sorted(values)
  assert stats.spearmanr(np.arange(81), [-values[a] for a in ranked])[0] > 0.6
  predictor = inference.load(tmp_path / 'acc')
  assert predictor.space is toy_space.SPACE

  result = _binary('eagle_jax.search', '--config=configs/search/brp.py', f'--workdir={tmp_path / "search"}',
                   *common, '--config.training.epochs=20', '--config.search.budget=20', '--config.search.iterations=2')
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads((tmp_path / 'search' / 'summary.json').read_text())
  trace = (tmp_path / 'search' / 'trace.txt').read_text().split()
  assert summary['models_trained'] == 20 and sorted(trace) == sorted(values)
  assert summary['best_found']['rank_in_space'] <= 10  # 20 of 81 models, chosen by the predictor


def test_a_space_without_a_keras_network_cannot_be_measured(tmp_path):
  result = _binary('eagle_jax.measure', '--config=configs/measure/test.py', f'--workdir={tmp_path / "m"}',
                   '--config.space=toy_space:SPACE')
  assert result.returncode == 2 and 'the toy_chain space has no Keras network' in result.stderr
  assert not (tmp_path / 'm').exists()
