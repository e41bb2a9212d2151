"""The search-space seam: every space gives the same face; configs name their space; foresight configs are read."""
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NASLIB_DARTS_JSON, NASLIB_NB201_CSV
from eagle_jax import data, spaces
from eagle_jax.predictors import experiment, inference

ROOT = Path(__file__).resolve().parents[1]
ZC_CSV = str(NASLIB_NB201_CSV)
SAMPLES = {'nasbench201': 'nb201/cifar100', 'nasbench101': 'nb101/naslib-cifar10',
           'nasbench_asr': 'cpu/epyc-litert-fp32-1thread-nbasr',
           'darts': str(NASLIB_DARTS_JSON)}


@pytest.mark.parametrize('name', spaces.NAMES)
def test_every_space_gives_the_same_face(name):
  space = spaces.get(name)
  assert space.name == name and spaces.get(space) is space
  keys = data.load_dataset(SAMPLES[name], space=name).keys[:50]
  for key in space.hashable(keys):
    assert space.key(space.from_str(space.to_str(key))) == key
    assert space.key(key) == key
  adjacency, features = space.encode(keys)
  assert adjacency.shape == (50, space.num_nodes, space.num_nodes) and adjacency.dtype == np.float32
  assert features.shape == (50, space.num_nodes, space.num_features) and features.dtype == np.float32
  representatives, inverse = space.group_identical_encodings(keys)
  np.testing.assert_array_equal(space.encode(keys[representatives][inverse])[0], adjacency)
  assert space.linear_features(keys).shape[0] == 50
  assert (space.flops(keys) > 0).all() and (space.params(keys) > 0).all()
  rng = np.random.default_rng(0)
  child = space.mutate(space.hashable(keys)[0], rng)
  assert child != space.hashable(keys)[0] and space.encode(space.as_keys([child]))[0].shape[0] == 1


def test_sampling_is_seeded_and_distinct():
  space = spaces.get('nasbench201')
  first, again, other = space.sample(100, 1), space.sample(100, 1), space.sample(100, 2)
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other) and len(set(space.hashable(first))) == 100
  assert space.is_valid(first).all()
  with pytest.raises(ValueError, match='cannot sample 20000 distinct nasbench201 archs'):
    space.sample(20000, 0)


@pytest.mark.parametrize('kind, name', [('predictors', 'acc_gcn_nasbench201_bin'),
                                        ('predictors', 'lat_gcn_nasbench101'), ('search', 'brp_nasbench101'),
                                        ('measure', 'desktop_nasbench101'), ('measure', 'desktop_nasbench201'),
                                        ('predictors', 'acc_gcn_nasbench_asr_bin_foresight'),
                                        ('predictors', 'lat_gcn_nasbench_asr'), ('search', 'brp_nasbench_asr'),
                                        ('measure', 'desktop_nasbench_asr')])
def test_configs_name_their_space(kind, name):
  sys.path.insert(0, str(ROOT))
  config = __import__(f'configs.{kind}.{name}', fromlist=['get_config']).get_config()
  assert config.space == next(space for space in spaces.NAMES[::-1] if space in name)


def test_a_dataset_of_another_space_is_refused():
  with pytest.raises(ValueError, match="'nb101/naslib-cifar10' holds nasbench101 archs, not nasbench201"):
    data.load_dataset('nb101/naslib-cifar10', space='nasbench201')


def test_train_binary_reads_the_foresight_block(tmp_path):
  sys.path.insert(0, str(ROOT))
  config = __import__('configs.predictors.acc_gcn_nasbench201_bin_foresight', fromlist=['get_config']).get_config()
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=5, batch_size=8)
  config.space_predictions = False
  plain = experiment.train_and_evaluate(config, tmp_path / 'plain')
  config.foresight.update(measurement=ZC_CSV, column='synflow', where_column='dataset', where_value='cifar100',
                          training_points=200, validation_points=50)
  config.foresight.training.update(epochs=5, batch_size=16)
  warmed = experiment.train_and_evaluate(config, tmp_path / 'warm')
  assert warmed['spearman'] != plain['spearman']  # the warm-up changed the starting point
  config.foresight.measurement = str(tmp_path / 'missing.csv')
  with pytest.raises(FileNotFoundError, match='missing.csv'):
    experiment.train_and_evaluate(config, tmp_path / 'missing')


@pytest.mark.parametrize('name', ['test', 'lat_gcn_nasbench101'])
def test_cost_features_are_appended_and_recomputed_at_inference(tmp_path, name):
  sys.path.insert(0, str(ROOT))
  config = __import__(f'configs.predictors.{name}', fromlist=['get_config']).get_config()
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=5, batch_size=16)
  config.data.cost_features = ('flops', 'params')
  config.space_predictions = False
  metrics = experiment.train_and_evaluate(config, tmp_path)
  predictor = inference.load(tmp_path)
  assert predictor.card['cost_features'] == ['flops', 'params'] and metrics['spearman'] > 0.5
  keys = data.load_dataset(config.data.measurement).keys[:7]
  assert predictor.predict(keys).shape == (7,) and np.all(predictor.predict(keys) > 0)
  config.data.cost_features = ('latency',)
  with pytest.raises(ValueError, match="cost_features: unknown feature 'latency'"):
    experiment.train_and_evaluate(config, tmp_path / 'bad')
