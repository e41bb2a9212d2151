"""Latency on a new device from K measurements: the transfer binary's modes end to end on a tiny config."""
import json
import pickle
import subprocess
import sys
from pathlib import Path

import ml_collections
import numpy as np
import pytest

from eagle_jax import data, predictors, spaces
from eagle_jax.predictors import batches
from eagle_jax.search import candidates, parts
from eagle_jax.transfer import adaptation, devices, evaluation, job, pretraining

ROOT = Path(__file__).resolve().parents[1]
NB201 = spaces.get('nasbench201')


def _config(**changes):
  from configs.transfer import test  # pylint: disable=g-import-not-at-top
  config = test.get_config()
  for path, value in changes.items():
    section, _, name = path.rpartition('.')
    (config[section] if section else config)[name] = value
  return config


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  folder = tmp_path_factory.mktemp('pretrained')
  model = pretraining.pretrain(_config(), progress=False)
  pretraining.save(model, folder)
  return pretraining.load(folder)


def test_posterior_moves_from_the_prior_to_least_squares():
  rng = np.random.default_rng(0)
  phi = np.concatenate([rng.normal(size=(200, 3)), np.ones((200, 1))], axis=1)
  truth = np.array([0.5, -1.0, 2.0, -3.0])
  y = phi @ truth
  mean, cov = np.array([1.0, 1.0, 1.0, 1.0]), np.eye(4)
  np.testing.assert_allclose(adaptation.posterior(phi[:3], y[:3], mean, cov, 1e6), mean, atol=1e-4)
  np.testing.assert_allclose(adaptation.posterior(phi, y, mean, cov, 1e-8), truth, atol=1e-5)


def test_choice_is_seeded_distinct_and_informative_spreads_latency(pretrained):
  keys = NB201.enumerate()
  keys = keys[NB201.is_valid(keys)]
  first = adaptation.choose(pretrained, keys, 10, 'informative', 0, 0.1)
  assert np.array_equal(first, adaptation.choose(pretrained, keys, 10, 'informative', 0, 0.1))
  encodings = {a.tobytes() + f.tobytes() for a, f in zip(*NB201.encode(keys[first]))}
  assert len(encodings) == 10  # ten different networks
  random = adaptation.choose(pretrained, keys, 10, 'random', 0, 0.1)
  assert not np.array_equal(first, random)
  with pytest.raises(ValueError, match="config.transfer.choice must be one of"):
    adaptation.choose(pretrained, keys, 10, 'smart', 0, 0.1)


def test_disagreement_choice_leaves_the_least_predictive_variance_over_the_space(pretrained):
  keys = NB201.enumerate()
  keys = keys[NB201.is_valid(keys)]
  phi = pretrained.embed(keys)
  cov = adaptation.prior(pretrained, 0.1)[1]

  def variance_left(rows):  # the posterior's predictive variance summed over every candidate
    chosen = pretrained.embed(keys[rows])
    posterior_cov = np.linalg.inv(np.linalg.inv(cov) + chosen.T @ chosen / pretrained.noise_var)
    return float(np.sum((phi @ posterior_cov) * phi))

  left = {choice: np.mean([variance_left(adaptation.choose(pretrained, keys, 8, choice, seed, 0.1))
                           for seed in range(3)]) for choice in ('disagreement', 'informative', 'random')}
  assert left['disagreement'] < left['informative'] and left['disagreement'] < left['random'], left


def test_benchmark_mode_reads_only_the_chosen_latencies(pretrained):
  dataset = devices.load_latency('help/titanx_1', 'nasbench201')
  options = _config().transfer
  metrics, rows, pred = evaluation.evaluate(pretrained, dataset, 5, 'bayes', 'informative', 0, options)
  assert metrics['scored'] == len(dataset) - 5 == len(rows) and metrics['spearman'] > 0.3
  scrambled = dataset.values.copy()
  scrambled[rows] = np.random.default_rng(0).permutation(scrambled[rows])  # every model that is not chosen
  again = evaluation.evaluate(pretrained, type(dataset)(dataset.keys, scrambled, units='s'), 5, 'bayes',
                              'informative', 0, options)[2]
  np.testing.assert_allclose(again, pred)
  for method in adaptation.METHODS:  # every method runs and scores the same models (5 random samples: no bar)
    result = evaluation.evaluate(pretrained, dataset, 5, method, 'random', 0, options)[0]
    assert result['scored'] == len(dataset) - 5 and np.isfinite(result['spearman'])
    assert 0 <= result['false_positive_rate'] <= 1


@pytest.mark.slow
def test_choose_adapt_and_benchmark_modes_end_to_end(tmp_path):
  workdir = tmp_path / 'device'
  def transfer(*overrides):
    return subprocess.run([sys.executable, '-m', 'eagle_jax.transfer', '--config=configs/transfer/test.py',
                           f'--workdir={workdir}', *overrides], cwd=ROOT, capture_output=True, text=True)
  first = transfer()
  assert first.returncode == 0, first.stderr[-3000:]
  lines = (workdir / 'to_measure.txt').read_text().split()
  assert len(lines) == 5 and 'python -m eagle_jax.measure' in json.loads(first.stdout)['next']
  chosen = NB201.as_keys([NB201.from_str(line) for line in lines])
  truth = data.load_dataset('help/titanx_1')
  measured = dict(zip(NB201.hashable(chosen), truth.values[truth.rows_of(chosen)].tolist()))
  (tmp_path / 'measured.pickle').write_bytes(pickle.dumps(measured))
  second = transfer(f'--config.data.measurement={tmp_path / "measured.pickle"}')
  assert second.returncode == 0, second.stderr[-3000:]
  summary = json.loads(second.stdout)
  assert summary['measured'] == 5 and summary['chosen_not_measured'] == 0 and summary['adapt_seconds'] < 10
  predictor = predictors.load(workdir)
  assert predictor.lower_is_better and np.all(predictor.predict(chosen) > 0) and predictor.run_kind == 'transfer'
  others = [key for key in truth.keys[:50] if NB201.hashable([key])[0] not in measured][:5]
  (tmp_path / 'others.pickle').write_bytes(pickle.dumps(dict(zip(NB201.hashable(others), [0.01, 0.02] * 3))))
  wrong = transfer(f'--config.data.measurement={tmp_path / "others.pickle"}')
  assert wrong.returncode == 2 and 'holds none of the 5 models in' in wrong.stderr, wrong.stderr[-2000:]
  keys = NB201.enumerate()[:2000]
  limit = ml_collections.ConfigDict(dict(limit=float(np.median(truth.values)), checkpoint=str(workdir)))
  keep = parts.latency_mask(NB201, candidates.TableCandidates(NB201, keys), limit)
  assert 0 < keep.sum() < len(keys)
  bench = transfer('--config.benchmark=True', '--config.data.measurement=help/titanx_1',
                   '--config.transfer.method=flops')  # baselines are allowed in benchmark mode
  assert bench.returncode == 0, bench.stderr[-3000:]
  metrics = json.loads((workdir / 'metrics.json').read_text())
  assert metrics['samples'] == 5 and metrics['scored'] == len(truth.subset(truth.valid)) - 5
  assert (workdir / 'scatter.png').stat().st_size > 0
  other_sources = transfer('--config.transfer.sources=("help/pixel3","help/samsung_s7")')
  assert other_sources.returncode == 2 and 'pre-trained with other sources' in other_sources.stderr


def test_measurement_files_of_another_space_or_unit_are_refused(tmp_path):
  with pytest.raises(ValueError, match='holds nasbench101 archs, not nasbench201'):
    devices.load_latency('cpu/epyc-litert-fp32-1thread-nb101', 'nasbench201')
  with pytest.raises(ValueError, match="holds '%' values, not latencies in seconds"):
    devices.load_latency('nb201/cifar100', 'nasbench201')
  microseconds = {k: v * 1e6 for k, v in list(data.load_measurements('help/pixel3').items())[:50]}
  (tmp_path / 'us.pickle').write_bytes(pickle.dumps(microseconds))
  with pytest.raises(ValueError, match='latency files hold seconds'):
    devices.load_latency(str(tmp_path / 'us.pickle'), 'nasbench201')
  with pytest.raises(ValueError, match='config.transfer.method must be one of .* benchmark baselines'):
    job.run(_config(**{'transfer.method': 'flops'}), tmp_path / 'run', progress=False)
  assert not (tmp_path / 'run').exists()


def test_unpruned_cost_features_count_dead_ops_and_are_nb201s():
  keys = NB201.enumerate()
  pruned, unpruned = batches.cost_features(NB201, keys, ('flops', 'flops_unpruned')).T
  assert np.all(unpruned >= pruned - 1e-6) and np.mean(unpruned > pruned + 1e-6) > 0.2  # 27%: dead convs run
  dead_conv = NB201.as_keys([(3, 0, 0, 1, 0, 0)])  # conv3x3 into node 1, which reaches nothing; skip 0 -> 3
  pruned, unpruned = batches.cost_features(NB201, dead_conv, ('flops', 'flops_unpruned'))[0]
  assert unpruned > pruned
  nb101_keys = data.load_dataset('nb101/naslib-cifar10').keys[:2]
  with pytest.raises(ValueError, match="nasbench101 cells have no dead ops to keep; use 'flops'"):
    batches.cost_features(spaces.get('nasbench101'), nb101_keys, ('flops_unpruned',))
