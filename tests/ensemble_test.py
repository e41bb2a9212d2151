"""Ensembles: K predictors in one set of stacked parameters, fitted at once by the one training loop, each on its
own bootstrap resample; their mean predicts wherever one predictor does, and their spread, calibrated on the
validation split, is a standard deviation with the coverage it claims."""
import csv
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from eagle_jax import data
from eagle_jax.predictors import batches, experiment, inference, initialization, models, normalization, training
from eagle_jax.predictors import uncertainty

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from configs.predictors import test as test_config  # pylint: disable=g-import-not-at-top,wrong-import-position


def _arrays(n=24, seed=0):
  dataset = data.load_dataset('help/pixel3').subset(np.arange(n))
  targets = normalization.Normalizer.fit(dataset.values, True).apply(dataset.values)
  return dataset, batches.Arrays.of(dataset, np.arange(n), targets)


@pytest.mark.parametrize('head', ['unary', 'default'])
def test_members_are_stacked_predictors_and_the_ensemble_predicts_their_mean(head):
  _, arrays = _arrays()
  single = models.Predictor(num_layers=2, num_hidden=16, head=head)
  ensemble = models.Predictor(num_layers=2, num_hidden=16, head=head, ensemble=3)
  params = initialization.fresh_params(ensemble, 'nasbench201', 0)
  shapes = [leaf.shape for leaf in jax.tree_util.tree_leaves(params)]
  single_shapes = [leaf.shape for leaf in jax.tree_util.tree_leaves(initialization.fresh_params(single, 'nasbench201', 0))]
  assert [s[1:] for s in shapes] == single_shapes and all(s[0] == 3 for s in shapes)
  inputs = (arrays.adjacency, arrays.features, None)
  members = ensemble.apply({'params': params}, *inputs, members=True)
  for k in range(3):  # each member is exactly a single predictor with its slice of the parameters
    member_params = jax.tree_util.tree_map(lambda x, k=k: x[k], params['members'])
    alone = single.apply({'params': member_params}, *inputs)
    for name in alone:
      np.testing.assert_allclose(members[name][k], alone[name], rtol=1e-5, atol=1e-6)
  scores = np.asarray(models.ranking_score(members))
  assert np.std(scores, axis=0).min() > 0  # members start apart
  mean = ensemble.apply({'params': params}, *inputs)
  np.testing.assert_allclose(models.ranking_score(mean), scores.mean(0), rtol=1e-5, atol=1e-6)
  per_member = batches.head_terms(batches.make_member_apply(ensemble), params, arrays)['members']
  np.testing.assert_allclose(per_member, scores.T, rtol=1e-5, atol=1e-6)


def test_ensemble_loss_is_the_mean_of_member_losses_on_their_own_resamples():
  _, arrays = _arrays()
  single = models.Predictor(num_layers=2, num_hidden=16)
  ensemble = models.Predictor(num_layers=2, num_hidden=16, ensemble=3)
  params = initialization.fresh_params(ensemble, 'nasbench201', 0)
  resampled = arrays.bootstrapped(3, seed=1)
  weights = np.asarray(resampled.member_weights)
  assert weights.shape == (24, 3) and (weights.sum(0) == 24).all() and (weights == 0).any()
  rows, mask = jnp.arange(24), jnp.ones(24)
  loss = training.HeadLoss(ensemble)(params, resampled, rows, mask, jax.random.PRNGKey(0), True)
  expected = np.mean([training.HeadLoss(single)(jax.tree_util.tree_map(lambda x, k=k: x[k], params['members']),
                                                arrays, rows, mask * weights[:, k], jax.random.PRNGKey(0), True)
                      for k in range(3)])
  np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_calibration_scale_fixes_a_spread_that_is_too_narrow():
  rng = np.random.default_rng(0)
  mean, std = rng.random(4000) + 1.0, 0.1 * (rng.random(4000) + 0.5)
  true = mean + rng.normal(0, 2.0 * std)  # the spread claims half the real error
  before = uncertainty.calibration_metrics(mean, std, true)
  scale = uncertainty.calibration_scale(mean[:2000], std[:2000], true[:2000])
  after = uncertainty.calibration_metrics(mean[2000:], scale * std[2000:], true[2000:])
  assert abs(scale - 2.0) < 0.1 and before['coverage_90'] < 0.65
  assert abs(after['coverage_90'] - 0.90) < 0.03 and abs(after['coverage_68'] - 0.683) < 0.04
  assert after['nll'] < before['nll'] and after['spearman_error_std'] > 0.2


@pytest.mark.slow
@pytest.mark.parametrize('head', ['unary', 'default'])
def test_an_ensemble_trains_reports_its_calibration_and_loads_with_std(tmp_path, head):
  config = test_config.get_config()
  config.model.update(ensemble=3, head=head)
  config.training.epochs = 15
  metrics = experiment.train_and_evaluate(config, tmp_path / 'ensemble')
  rows = list(csv.DictReader((tmp_path / 'ensemble' / 'predictions.csv').open()))
  assert rows and all(float(row['std']) > 0 for row in rows)
  predictor = inference.load(tmp_path / 'ensemble')
  keys = predictor.space.as_keys([row['arch_str'] for row in rows])
  mean, std = predictor.predict(keys, return_std=True)
  np.testing.assert_allclose(mean, predictor.predict(keys), rtol=1e-4)
  np.testing.assert_allclose(std, [float(row['std']) for row in rows], rtol=1e-4)
  if head == 'unary':
    for name in ('coverage_68', 'coverage_90', 'nll', 'spearman_error_std', 'calibration_scale'):
      assert np.isfinite(metrics[name]), name
    assert 0 <= metrics['coverage_68'] <= metrics['coverage_90'] <= 1 and metrics['calibration_scale'] > 0
    assert metrics['spearman'] > 0.5
  assert len(predictor.rank(keys)) == len(keys)  # an ensemble ranks wherever one predictor does
  transform = predictor.normalizer.apply if head == 'unary' else (lambda score: score)
  np.testing.assert_allclose(np.mean([transform(predictor.member(k).predict(keys)) for k in range(3)], axis=0),
                             transform(predictor.predict(keys)), rtol=1e-4, atol=1e-5)
  config.model.ensemble = 1
  experiment.train_and_evaluate(config, tmp_path / 'single')
  with pytest.raises(ValueError, match='no spread'):
    inference.load(tmp_path / 'single').predict(keys, return_std=True)
