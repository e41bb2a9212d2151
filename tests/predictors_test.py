"""Predictors: models and heads by hand, losses, training on real data, ranking, checkpoints, the train binary."""
import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from conftest import LATBENCH, external
from eagle_jax import data
from eagle_jax.predictors import baselines, batches, checkpoints, experiment, inference, initialization, losses
from eagle_jax.predictors import metrics, models, normalization, schedules, splitting, training
from eagle_jax.spaces import nasbench201 as nb

ROOT = Path(__file__).resolve().parents[1]
CPU_LATENCY = 'cpu/xeon-litert-fp32-1thread'  # bundled: NB201 latency this project measured, pruned cells


def _config(name: str) -> ml_collections.ConfigDict:
  sys.path.insert(0, str(ROOT))
  module = __import__(f'configs.predictors.{name}', fromlist=['get_config'])
  return module.get_config()


def _layer_norm(x):
  return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)


@pytest.mark.parametrize('message_passing', ['dense', 'jraph'])
def test_gcn_matches_hand_computation(message_passing):
  adjacency, features = nb.encode([(2, 1, 4, 0, 3, 1), (3, 3, 3, 3, 3, 3)])
  model = models.Predictor(body='gcn', head='unary', num_layers=2, num_hidden=3, message_passing=message_passing)
  params = model.init({'params': jax.random.PRNGKey(0)}, adjacency, features)['params']
  p = jax.tree_util.tree_map(np.asarray, params)
  gc0, gc1 = p['encoder']['gc_0'], p['encoder']['gc_1']
  assert np.all(np.abs(gc0['kernel']) <= 1 / math.sqrt(3)) and np.all(np.abs(gc0['bias']) <= 1 / math.sqrt(3))
  expected = []
  for a, x in zip(adjacency, features):
    h = np.maximum(_layer_norm(a @ (x @ gc0['kernel']) + gc0['bias']), 0)  # norms start at scale 1, bias 0
    h = np.maximum(_layer_norm((a @ (h @ gc1['kernel']) + gc1['bias'])[0]), 0)  # global node read-out
    expected.append(h @ p['last']['kernel'][:, 0] + p['last']['bias'][0])
  out = model.apply({'params': params}, adjacency, features)['value']
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_dense_and_jraph_paths_agree_on_the_space():
  adjacency, features = nb.encode(nb.arch_vectors()[::50])
  dense = models.Predictor(num_layers=4, num_hidden=64, message_passing='dense')
  sparse = dense.clone(message_passing='jraph')
  params = dense.init({'params': jax.random.PRNGKey(1)}, adjacency, features)['params']
  np.testing.assert_allclose(dense.apply({'params': params}, adjacency, features)['value'],
                             sparse.apply({'params': params}, adjacency, features)['value'], rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize('head', ['default', 'naive', 'oneway', 'oneway_hard'])
def test_binary_heads_match_the_pair_forward(head):
  embedding = jax.random.normal(jax.random.PRNGKey(2), (5, 4))
  module = models.Head(head)
  params = module.init(jax.random.PRNGKey(3), embedding)['params']
  kernel, bias = np.asarray(params['kernel']), np.asarray(params['bias'])
  logits = np.asarray(models.pair_logits(module.apply({'params': params}, embedding)))
  e = np.asarray(embedding)
  for i in range(5):
    for j in range(5):
      if head == 'naive':
        expected = (e[i] @ kernel[:, 0] + bias[0]) - (e[j] @ kernel[:, 0] + bias[0])
      else:
        z = np.concatenate([e[i], e[j]]) @ kernel + bias
        expected = z[0] - z[1] if head == 'default' else z[0]
      assert logits[i, j] == pytest.approx(expected, abs=1e-5)
  bound = 1 / math.sqrt(kernel.shape[0])
  assert np.all(np.abs(kernel) <= bound) and np.all(np.abs(bias) <= bound)


def test_pair_loss_is_eagle_kl_and_stable():
  terms = {'a': jnp.array([0.3, -0.2, 1.0]), 'b': jnp.array([0.1, 0.4, -0.5]), 'c': jnp.array(0.05)}
  target = jnp.array([0.2, 0.9, 0.5])
  loss = losses.pair_loss('default', terms, target, jnp.ones(3))
  total = 0.0
  for i in range(3):
    for j in range(3):
      if i != j:
        p = np.exp([target[i], target[j]]) / np.exp([target[i], target[j]]).sum()
        d = float(terms['a'][i] + terms['b'][j] + terms['c'])
        log_q = np.array([d, 0.0]) - np.logaddexp(d, 0.0)
        total += float(np.sum(p * (np.log(p) - log_q)))
  assert float(loss) == pytest.approx(total / 6, rel=1e-5)
  huge = losses.pair_loss('default', terms, jnp.array([1e4, -1e4, 800.0]), jnp.ones(3))
  assert np.isfinite(float(huge))
  hard = losses.pair_loss('oneway_hard', terms, target, jnp.array([1.0, 1.0, 0.0]))
  d01, d10 = float(terms['a'][0] + terms['b'][1] + terms['c']), float(terms['a'][1] + terms['b'][0] + terms['c'])
  expected = (-np.log(1 - 1 / (1 + np.exp(-d01))) - np.log(1 / (1 + np.exp(-d10)))) / 2
  assert float(hard) == pytest.approx(expected, rel=1e-5)


def test_metrics_by_hand():
  true, pred = np.array([1.0, 2.0, 4.0, 10.0]), np.array([1.05, 1.7, 4.0, 11.5])
  assert metrics.within(pred, true, 0.1) == 0.5   # 1.05 and 4.0
  assert metrics.eagle_within(pred, true, 0.1) == 0.5
  assert metrics.within(pred, true, 0.16) == 1.0
  assert metrics.eagle_within(pred, true, 0.15) == 0.75  # 2.0 > 1.15 * 1.7
  assert metrics.pairwise_accuracy([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
  assert metrics.top_k_overlap([4, 3, 2, 1], [1, 2, 3, 4], 2) == 0.0
  groups, values = np.array([0, 0, 0, 1, 2, 2]), np.array([1.0, 2.0, 3.0, 5.0, 7.0, 9.0])
  means, has = metrics.duplicate_mean(groups, values, np.array([0, 3, 5]))
  np.testing.assert_array_equal(has, [True, False, True])
  np.testing.assert_allclose(means[has], [2.5, 7.0])


def test_schedules_and_early_stopping():
  assert schedules.cosine_learning_rate(1.0, 0, 10) == 1.0
  assert schedules.cosine_learning_rate(1.0, 5, 10) == pytest.approx(0.5)
  plateau = schedules.PlateauSchedule(1.0, patience=2)
  rates = [plateau.step(v) for v in [10, 9.95, 9.95, 9.95, 5, 5, 5, 5]]
  assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]  # 9.95 is not a 1% improvement on 10
  stopper = schedules.EarlyStopping(2)
  assert [stopper.should_stop(v) for v in [3, 2, 2, 2]] == [False, False, False, True]
  assert schedules.EarlyStopping(5).should_stop(float('nan'))


def test_splits_are_seeded_disjoint_and_accept_fractions():
  a, b = splitting.split_rows(100, 0.5, 10, seed=3), splitting.split_rows(100, 50, 10, seed=3)
  np.testing.assert_array_equal(a.train, b.train)
  assert len(set(a.train) | set(a.valid) | set(a.test)) == 100 and len(a.test) == 40
  assert not np.array_equal(a.train, splitting.split_rows(100, 50, 10, seed=4).train)
  with pytest.raises(ValueError, match='do not fit'):
    splitting.split_rows(100, 95, 10, seed=0)


def _tiny(head='unary', **overrides):
  config = _config('test')
  config.model.head = head
  for key, value in overrides.items():
    section, field = key.split('.')
    config[section][field] = value
  return config


@pytest.mark.slow
def test_gcn_overfits_a_small_real_dataset():
  dataset = data.load_dataset(CPU_LATENCY).subset(np.arange(40))
  model = models.Predictor(num_layers=2, num_hidden=64)
  params = initialization.fresh_params(model, 'nasbench201', 0)
  normalizer = normalization.Normalizer.fit(dataset.values, True)
  arrays = batches.Arrays.of(dataset, np.arange(40), normalizer.apply(dataset.values))
  cfg = _tiny().training
  cfg.update(epochs=300, learning_rate=3e-3, batch_size=8, es_patience=0, lr_scheduler='cosine')
  fitted = training.fit(training.HeadLoss(model), params, arrays, None, cfg, seed=0, progress=False)
  pred = normalizer.invert(batches.head_terms(batches.make_apply(model), fitted.params, arrays)['value'])
  assert metrics.within(pred, dataset.values, 0.05) > 0.9
  assert metrics.ranking_metrics(pred, dataset.values)['spearman'] > 0.95


def _train(tmp_path, config, name='run'):
  workdir = tmp_path / name
  return experiment.train_and_evaluate(config, workdir), workdir


@pytest.mark.slow
def test_binary_rank_equals_faithful_sort(tmp_path):
  config = _tiny('naive', **{'data.measurement': CPU_LATENCY})
  _, workdir = _train(tmp_path, config)
  predictor = inference.load(workdir)
  vecs = nb.arch_vectors()[nb.is_valid(nb.arch_vectors())]
  np.testing.assert_array_equal(predictor.rank(vecs), predictor.rank(vecs, faithful=True))
  assert predictor.lower_is_better
  # a default (2-class) head whose comparator is antisymmetric sorts identically too
  terms = predictor.head_terms(vecs)
  score = models.ranking_score(terms)
  np.testing.assert_array_equal(inference.faithful_sort(score / 2, -score / 2, 0.0), np.argsort(score, kind='stable'))


@pytest.mark.slow
def test_train_binary_writes_every_output(tmp_path):
  workdir = tmp_path / 'bin'
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.train', '--config=configs/predictors/test.py',
                           f'--workdir={workdir}', f'--config.data.measurement={CPU_LATENCY}', '--config.repeats=2'],
                          cwd=ROOT, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-3000:]
  m = json.loads((workdir / 'metrics.json').read_text())
  for key in ['n_train', 'n_valid', 'n_test', 'spearman', 'kendall_tau', 'train_seconds'] + [
      f'{p}within_{x}pct' for p in ('', 'eagle_') for x in (1, 5, 10, 20)]:
    assert key in m and np.isfinite(m[key]), key
  assert m['n_train'] == 60 and m['n_valid'] == 20 and m['n_test'] == 320 and len(m['repeats']) == 2
  assert 'spearman_std' in m and 'ceiling_within_10pct' in m
  assert m['spearman'] > 0.5
  lines = (workdir / 'predictions.csv').read_text().splitlines()
  assert lines[0] == 'arch_str,target,prediction' and len(lines) == 321
  assert nb.from_arch_str(lines[1].split(',')[0])
  assert (workdir / 'scatter.png').read_bytes()[:4] == b'\x89PNG'
  assert (workdir / 'checkpoint').is_dir() and (workdir / 'predictor.json').is_file()
  assert len(data.load_measurements(workdir / 'space_predictions.pickle')) == 15284
  predictor = inference.load(workdir)
  arch_strs = [line.split(',')[0] for line in lines[1:]]
  np.testing.assert_allclose(predictor.predict(arch_strs), [float(line.split(',')[2]) for line in lines[1:]],
                             rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_checkpoint_restore_transfer_warmup_and_mismatch(tmp_path):
  _, source = _train(tmp_path, _tiny(**{'data.measurement': CPU_LATENCY}), 'source')
  loaded, card = checkpoints.load(source / 'checkpoint')
  assert card['lower_is_better'] and card['model']['num_hidden'] == 32
  # transfer to a binary accuracy predictor: body copied, head reset, then trained with head warm-up
  config = _tiny('default', **{'data.measurement': 'nb201/cifar100', 'data.normalize': True,
                               'training.transfer_from': str(source), 'training.warmup_epochs': 3,
                               'training.epochs': 3})
  _, target = _train(tmp_path, config, 'target')
  transferred, _ = checkpoints.load(target)
  assert transferred['last']['kernel'].shape == (64, 2)
  assert not np.allclose(transferred['encoder']['gc_0']['kernel'], 0)
  # eval-only of the loaded checkpoint reproduces the source predictions
  evaluation = _tiny(**{'data.measurement': CPU_LATENCY, 'training.load_from': str(source), 'training.eval_only': True})
  a, _ = _train(tmp_path, evaluation, 'eval')
  b = json.loads((source / 'metrics.json').read_text())
  assert a['spearman'] == pytest.approx(b['spearman'], abs=1e-6)
  bigger = _tiny(**{'data.measurement': CPU_LATENCY, 'training.transfer_from': str(source), 'model.num_hidden': 48})
  with pytest.raises(ValueError, match=r"parameter \['encoder'\]\['gc_0'\]\['bias'\] has shape \(32,\)"):
    _train(tmp_path, bigger, 'bad')
  with pytest.raises(FileNotFoundError, match='no predictor checkpoint'):
    inference.load(tmp_path / 'nowhere')


def test_log_normalizer_round_trips_and_rejects_non_positive_targets():
  values = np.array([1e-3, 2e-3, 8e-3])
  normalizer = normalization.Normalizer.fit(values, True, log=True)
  np.testing.assert_allclose(normalizer.apply(values), [0, 1 / 3, 1])
  np.testing.assert_allclose(normalizer.invert(normalizer.apply(values)), values)
  with pytest.raises(ValueError, match='log_targets needs positive targets; the smallest is 0.0'):
    normalization.Normalizer.fit(np.array([0.0, 1.0]), False, log=True)


@pytest.mark.slow
def test_log_target_predictor_predicts_in_target_units(tmp_path):
  _, workdir = _train(tmp_path, _tiny(**{'data.measurement': CPU_LATENCY, 'data.log_targets': True}))
  lines = (workdir / 'predictions.csv').read_text().splitlines()[1:]
  predictor = inference.load(workdir)
  assert predictor.normalizer.log
  saved = np.array([float(line.split(',')[2]) for line in lines])
  np.testing.assert_allclose(predictor.predict([line.split(',')[0] for line in lines]), saved, rtol=1e-4)
  truth = np.array([float(line.split(',')[1]) for line in lines])
  assert np.median(np.abs(saved / truth - 1)) < 0.5  # seconds, not log-seconds


@pytest.mark.parametrize('override, message', [
    ({'training.lr_scheduler': 'step'}, r"config.training.lr_scheduler must be one of \('cosine', 'plateau', 'constant'\), got 'step'"),
    ({'data.training_points': 500}, 'do not fit'),
    ({'training.eval_only': True}, 'eval_only needs config.training.load_from'),
    ({'model.head': 'threeway'}, 'head must be one of'),
    ({'model.predictor': 'transformer'}, 'config.model.predictor must be one of'),
    ({'data.total_points': 100000}, 'total_points=100000'),
    ({'data.measurement': ''}, 'must name a dataset'),
])
def test_bad_configs_are_named(tmp_path, override, message):
  with pytest.raises(ValueError, match=message):
    _train(tmp_path, _tiny(**override))


def test_linear_baseline_beats_random_on_latbench():
  dataset = data.load_dataset(external(f'{LATBENCH}/desktop-cpu-core-i7-7820x-fp32.pickle'))
  splits = splitting.split_rows(len(dataset), 900, 100, seed=0)
  scores = {}
  for kind in (k for k in baselines.BASELINES if k != 'lut'):  # lut sums a profiled layer table (layers_test)
    fitted = baselines.fit_baseline(kind, dataset.space, dataset.vectors[splits.train], dataset.values[splits.train])
    scores[kind] = metrics.ranking_metrics(fitted.predict(dataset.vectors[splits.test]),
                                           dataset.values[splits.test])['spearman']
  assert scores['linear'] > 0.9 > scores['flops'] > 0.3 > abs(scores['random'])
