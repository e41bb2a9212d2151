"""BRP-NAS search: selection counts, logs and traces, latency limits, zero-cost modes, replay, the binary."""
import json
import subprocess
import sys
from pathlib import Path

import ml_collections
import numpy as np
import pytest
from scipy import stats

from conftest import NASLIB_NB201_CSV
from eagle_jax import data, predictors, spaces
from eagle_jax.predictors import experiment, inference, priors
from eagle_jax.search import defaults, job, learners, logs, parts, replay, selection, tables
from eagle_jax.spaces import nasbench201 as nb

ROOT = Path(__file__).resolve().parents[1]
ZC_CSV = str(NASLIB_NB201_CSV)


def _config(name='test') -> ml_collections.ConfigDict:
  sys.path.insert(0, str(ROOT))
  return __import__(f'configs.search.{name}', fromlist=['get_config']).get_config()


@pytest.mark.parametrize('mode', selection.MODES)
def test_selection_picks_exactly_the_configured_counts(mode):
  rng = np.random.default_rng(0)
  scores = rng.random(1000)
  selector = selection.Selector(mode, 1000, rng)
  trained = selector.initial(21)
  for iteration in range(1, 5):
    new = selector.next(scores, trained, 21, iteration)
    assert len(new) == 21 and not set(new) & set(trained) and len(set(new)) == 21
    trained += new
  assert len(trained) == 105


def test_sample_best2_takes_the_best_and_the_top_pool():
  scores = np.arange(100, dtype=float)
  selector = selection.Selector('sample_best2', 100, np.random.default_rng(0))
  new = selector.next(scores, [99, 98], 10, iteration=3)
  assert new[:5] == [97, 96, 95, 94, 93]  # the predicted best not yet trained
  assert all(s > 100 - 100 // 8 - 1 for s in new[5:])  # random picks from the top 1/8
  assert selector.next(scores, [99, 98], 10, iteration=0, exploit=10) == list(range(97, 87, -1))  # all from the top


def test_sample_best_pairs_scores_with_candidates():
  scores = np.arange(100, dtype=float)[::-1].copy()  # row 0 best
  selector = selection.Selector('sample_best', 100, np.random.default_rng(0))
  new = selector.next(scores, [], 10, iteration=1)
  assert new[:5] == [0, 1, 2, 3, 4] and all(r < 50 for r in new)


def test_too_small_a_pool_is_an_error_not_a_hang():
  with pytest.raises(ValueError, match='only 3 eligible'):
    selection.pick_random(np.random.default_rng(0), np.arange(5), 4, {0, 1})


def test_log_round_trip_and_trace(tmp_path):
  entries = [(70.0, 2.0, (3, 3, 3, 3, 3, 3)), (50.0, 0.0, (1, 1, 1, 1, 1, 1)), (60.0, 1.0, (2, 2, 2, 2, 2, 2)),
             (65.0, 3.0, (2, 1, 4, 0, 3, 1))]
  run = logs.LogRun(entries, [(1, 1, 1, 1, 1, 1)], ['1/2 predictions correct', '0/2 predictions skipped'])
  logs.append_run(tmp_path / 'log.txt', run)
  logs.append_run(tmp_path / 'log.txt', run)
  text = (tmp_path / 'log.txt').read_text()
  assert text.count('===') == 1 and text.splitlines()[0] == '70.0 2.0 (3, 3, 3, 3, 3, 3)'
  parsed = logs.parse_log(tmp_path / 'log.txt', 'nasbench201')
  assert len(parsed) == 2 and parsed[0].entries == entries and parsed[1].diagnostics == run.diagnostics
  assert logs.trace_of(parsed[0]) == [(1,) * 6, (2, 1, 4, 0, 3, 1), (3,) * 6, (2,) * 6]
  (tmp_path / 'bad.txt').write_text('70.0 (3, 3)\n---\n---\n')
  with pytest.raises(ValueError, match='not "GT PRED KEY"'):
    logs.parse_log(tmp_path / 'bad.txt', 'nasbench201')


def test_replay_curves_by_hand():
  searched = np.array([1.0, 5.0, 3.0, 9.0, 2.0])
  reported = np.array([1.5, 4.0, 6.0, 8.0, 2.5])
  result = replay.curves(np.array([0, 2, 1, 4, 3]), searched, reported, budget=5)
  np.testing.assert_array_equal(result['oracle'], [1.5, 6.0, 6.0, 6.0, 8.0])
  np.testing.assert_array_equal(result['selected'], [1.5, 6.0, 4.0, 4.0, 8.0])  # picks by the searched value
  assert tables.trace_positions(np.array([0, 2, 1, 4, 3]), searched, 0.2) == {'global_best': 5, 'first_top': 5}
  assert tables.rank_in_space(searched, 1) == 2


def test_search_values_use_one_seed_and_report_the_others():
  dataset = data.load_dataset('nb201/cifar100')
  searched, reported, description = tables.search_and_report_values(dataset, '777')
  np.testing.assert_array_equal(searched[:5], dataset.seed_values[:5, 0])
  np.testing.assert_allclose(reported[0], np.nanmean(dataset.seed_values[0, 1:]))
  assert 'seed 777' in description and '[888, 999]' in description


def test_regularized_evolution_evaluates_distinct_candidates():
  dataset = data.load_dataset('nb201/cifar10-valid')
  dataset = dataset.subset(dataset.valid)
  trace = replay.regularized_evolution(dataset.space, dataset.vectors, dataset.values, 150, seed=0)
  assert len(trace) == 150 == len(set(trace.tolist()))
  random = replay.random_trace(len(dataset), 0)[:150]
  assert dataset.values[trace].max() >= dataset.values[random].max() - 1.0


@pytest.mark.slow
def test_search_binary_end_to_end_writes_every_output(tmp_path):
  workdir = tmp_path / 'search'
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.search', '--config=configs/search/test.py',
                           f'--workdir={workdir}'], cwd=ROOT, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'models trained: 20' in result.stdout and 'rank' in result.stdout
  summary = json.loads((workdir / 'summary.json').read_text())
  assert summary['models_trained'] == 20 and summary['candidates'] == 15284
  runs = logs.parse_log(workdir / 'log.txt', 'nasbench201')
  assert len(runs) == 1 and len(runs[0].entries) == 15284 and len(runs[0].explored) == 20
  trace = logs.read_trace(workdir / 'trace.txt', 'nasbench201')
  assert logs.trace_of(runs[0]) == trace and len(trace) == 15284 == len(set(trace))
  dataset = data.load_dataset('nb201/cifar100')
  first = dataset.seed_values[dataset.rows_of(trace[:20]), 0]
  assert summary['best_found']['searched_value'] == pytest.approx(first.max())
  assert (workdir / 'search_curve.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.slow
def test_default_search_trains_a_top_model(tmp_path):
  """The main job's config (100 models) puts a top-0.1% model of 15284 among those it trains (10/10 replay seeds)."""
  config = __import__('configs.search.brp_nasbench201', fromlist=['get_config']).get_config()
  config.seed = 1
  summary = job.run(config, tmp_path, progress=False)
  assert summary['models_trained'] == 100
  assert summary['best_found']['rank_in_space'] <= round(0.001 * summary['candidates'])
  assert summary['trace_position_first_top_0.1pct'] < 100


@pytest.mark.slow
def test_latency_constrained_search_respects_its_predictor(tmp_path):
  lat_config = __import__('configs.predictors.test', fromlist=['get_config']).get_config()
  lat_config.data.measurement = 'help/pixel3'
  experiment.train_and_evaluate(lat_config, tmp_path / 'lat')
  from eagle_jax import predictors
  predicted = predictors.load(tmp_path / 'lat').predict(nb.arch_vectors()[nb.is_valid(nb.arch_vectors())])
  limit = float(np.quantile(predicted, 0.3))
  config = _config()
  config.latency.update(limit=limit, checkpoint=str(tmp_path / 'lat'), transfer=True, measurement='help/pixel3')
  summary = job.run(config, tmp_path / 'search', progress=False)
  trace = logs.read_trace(tmp_path / 'search' / 'trace.txt', 'nasbench201')
  assert len(trace) == summary['candidates'] < 15284
  assert np.all(predictors.load(tmp_path / 'lat').predict(trace) <= limit)
  truth = data.load_dataset('help/pixel3')
  true_latency = truth.values[truth.rows_of(trace[:20])]
  assert summary['latency']['trained'] == summary['latency']['measured'] == 20
  assert summary['latency']['false_positives'] == int((true_latency > limit).sum())
  meeting = summary['latency']['best_meeting_limit']
  assert meeting['true_latency'] <= limit and nb.from_arch_str(meeting['arch_str']) in trace[:20]
  config.latency.checkpoint = ''
  with pytest.raises(ValueError, match='needs config.latency.checkpoint'):
    job.run(config, tmp_path / 'bad', progress=False)


@pytest.mark.slow
def test_thompson_acquisition_ranks_each_ask_by_one_member(tmp_path, monkeypatch):
  config = _config()
  config.model.ensemble = 3
  config.search.acquisition = 'thompson'
  drawn = []
  member = inference.TrainedPredictor.member
  monkeypatch.setattr(inference.TrainedPredictor, 'member',
                      lambda self, index: drawn.append(index) or member(self, index))
  summary = job.run(config, tmp_path / 'thompson', progress=False)
  assert summary['models_trained'] == 20
  assert len(drawn) == config.search.iterations - 1 and set(drawn) <= {0, 1, 2}  # one draw per scored ask
  again = []
  monkeypatch.setattr(inference.TrainedPredictor, 'member',
                      lambda self, index: again.append(index) or member(self, index))
  job.run(config, tmp_path / 'again', progress=False)
  assert again == drawn  # draws are seeded
  assert (tmp_path / 'thompson' / 'trace.txt').read_text() == (tmp_path / 'again' / 'trace.txt').read_text()
  config.model.ensemble = 1
  with pytest.raises(ValueError, match="acquisition='thompson' draws one member"):
    job.run(config, tmp_path / 'bad', progress=False)


@pytest.mark.slow
def test_a_chance_constrained_limit_keeps_only_likely_fast_models(tmp_path):
  lat_config = __import__('configs.predictors.test', fromlist=['get_config']).get_config()
  lat_config.data.measurement = 'help/pixel3'
  lat_config.model.ensemble = 3
  experiment.train_and_evaluate(lat_config, tmp_path / 'lat')
  from eagle_jax import predictors
  from eagle_jax.predictors import uncertainty
  latency = predictors.load(tmp_path / 'lat')
  valid = nb.arch_vectors()[nb.is_valid(nb.arch_vectors())]
  mean, std = latency.predict(valid, return_std=True)
  limit = float(np.quantile(mean, 0.3))
  chance = uncertainty.probability_at_most(mean, std, limit)
  likely = float(np.quantile(chance, 0.9))  # the tenth of the space most surely under the limit
  summaries = {}
  for confidence in (0.0, likely):
    config = _config()
    config.latency.update(limit=limit, checkpoint=str(tmp_path / 'lat'), transfer=True, measurement='help/pixel3')
    config.search.latency_confidence = confidence
    summaries[confidence] = job.run(config, tmp_path / f'search_{confidence}', progress=False)
    trace = logs.read_trace(tmp_path / f'search_{confidence}' / 'trace.txt', 'nasbench201')
    kept = uncertainty.probability_at_most(*latency.predict(trace, return_std=True), limit)
    assert (kept >= confidence).all()
    if not confidence:
      assert (latency.predict(trace) <= limit).all()
  assert 0 < likely < 1 and summaries[likely]['candidates'] == int((chance >= likely).sum())
  assert summaries[likely]['candidates'] < summaries[0.0]['candidates']
  config.latency.checkpoint = str(tmp_path / 'lat_single')
  lat_config.model.ensemble = 1
  experiment.train_and_evaluate(lat_config, tmp_path / 'lat_single')
  with pytest.raises(ValueError, match='needs a latency ensemble'):
    job.run(config, tmp_path / 'bad', progress=False)
  config.latency.limit = 0.0
  with pytest.raises(ValueError, match='latency_confidence=.* needs a latency limit'):
    job.run(config, tmp_path / 'bad2', progress=False)


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['simple', 'warmup', 'augment'])
def test_zero_cost_modes(tmp_path, mode):
  config = _config()
  config.zero_cost.update(mode=mode, measurement=ZC_CSV, column='synflow', where_column='dataset',
                          where_value='cifar100', training_points=60, validation_points=20)
  summary = job.run(config, tmp_path / mode, progress=False)
  assert summary['models_trained'] == 20
  if mode == 'augment':
    assert summary['candidates'] == 724  # the proxy's archs that are valid
  if mode == 'simple':  # first picks: the top of the proxy among covered archs
    proxy = data.load_dataset(ZC_CSV, 'synflow', {'dataset': 'cifar100'})
    trace = logs.read_trace(tmp_path / mode / 'trace.txt', 'nasbench201')
    best_proxy = tuple(proxy.vectors[np.argmax(proxy.values)])
    assert best_proxy in trace[:10]


def test_bad_inputs_are_named(tmp_path):
  config = _config()
  config.search.budget = 20000
  with pytest.raises(ValueError, match='budget=20000 exceeds the 15284 candidate'):
    job.run(config, tmp_path / 'a', progress=False)
  empty = tmp_path / 'empty.pickle'
  empty.write_bytes(b'')
  config = _config()
  config.zero_cost.update(mode='warmup', measurement=str(empty))
  with pytest.raises(ValueError, match='file is empty'):
    job.run(config, tmp_path / 'b', progress=False)
  config.zero_cost.mode = 'sideways'
  with pytest.raises(ValueError, match='zero_cost.mode must be one of'):
    job.run(config, tmp_path / 'c', progress=False)
  with pytest.raises(ValueError, match='config.search.selection must be one of'):
    selection.Selector('greedy', 10, np.random.default_rng(0))


def test_ridge_search_trains_the_budget_then_ranks_the_rest():
  dataset = data.load_dataset('nb201/cifar100')
  dataset = dataset.subset(dataset.valid)
  trace = replay.ridge_search(dataset.space, dataset.vectors, dataset.values, 50, 5, seed=0)
  assert len(trace) == len(dataset) == len(set(trace.tolist()))
  assert tables.rank_in_space(dataset.values, int(trace[np.argmax(dataset.values[trace[:50]])])) < 500


def test_sample_best2_widens_its_top_pool_for_small_candidate_sets():
  scores = np.arange(40, dtype=float)
  selector = selection.Selector('sample_best2', 40, np.random.default_rng(0))
  trained = list(range(39, 29, -1))  # the top 10 are trained already
  new = selector.next(scores, trained, 10, iteration=4)  # top 1/16 holds 2 models, none untrained
  assert len(set(new)) == 10 and not set(new) & set(trained) and sorted(new) == list(range(20, 30))


def test_bundled_proxies_cover_the_whole_space_and_combine_by_rank():
  for name in ('zc/nb201',):
    for proxy in ('flops', 'synflow', 'nwot', 'jacov', 'snip', 'grad_norm', 'params'):
      values = data.load_dataset(name, proxy)
      assert len(values) == 15284 and np.all(np.isfinite(values.values))
  with pytest.raises(KeyError, match='name one of'):
    data.load_dataset('zc/nb201')
  block = _config().zero_cost
  block.update(measurement='zc/nb201', column='nwot+flops')
  prior = priors.load_proxy(block, 'nasbench201')
  assert len(prior) == 15284 and prior.values.min() >= 0 and prior.values.max() <= 1
  nwot = data.load_dataset('zc/nb201', 'nwot')
  assert stats.spearmanr(prior.values, nwot.values[nwot.rows_of(prior.keys)]).statistic > 0.5
  assert priors.percentile_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [5 / 6, 0.0, 5 / 6, 1 / 3]


def test_spread_targets_do_not_depend_on_the_values_units():
  search = _config().search
  search.target_spread = True
  values = np.array([70.0, 71.5, 65.0, 72.3, 10.0])
  assert np.allclose(learners.comparator_targets(values, search), learners.comparator_targets(values / 100 + 3, search))
  search.target_spread = False
  assert np.allclose(learners.comparator_targets(values, search), values * search.target_scale)


@pytest.mark.slow
def test_default_search_uses_the_project_proxies_over_the_whole_space(tmp_path):
  config = _config()
  assert config.zero_cost.mode != 'none' and config.zero_cost.measurement == ''  # the bundled proxies
  config.search.rank_space = True
  summary = job.run(config, tmp_path / 'default', progress=False)
  assert summary['candidates'] == 15284 and summary['models_trained'] == 20
  first = np.array(logs.read_trace(tmp_path / 'default' / 'trace.txt', 'nasbench201')[:20 // config.search.iterations])
  synflow = data.load_dataset('zc/nb201', 'synflow')  # the first iteration: the prior's best half, then a sample
  exploit = round(config.search.prior_exploit * len(first))
  assert np.sum(synflow.values[synflow.rows_of(first)] >= np.sort(synflow.values)[-exploit]) >= exploit
  ranked = logs.read_trace(tmp_path / 'default' / 'space_ranking.txt', 'nasbench201')
  predictor = predictors.load(tmp_path / 'default')  # it reads the prior beside the graph, like the search did
  assert predictor.card['prior']['column'] == config.zero_cost.column and len(ranked) == 15284
  scores = predictor.predict(np.array(ranked[:5] + ranked[-5:]))
  assert np.all(np.isfinite(scores)) and scores[:5].min() > scores[5:].max()
  config.data.measurement = 'nb201/cifar10-valid'
  assert defaults.bundled_proxies(config) == 'zc/nb201'
  config.space = 'toy_space:SPACE'  # a plug-in space with no prior of its own
  with pytest.raises(ValueError, match='no bundled zero-cost proxies'):
    defaults.bundled_proxies(config)


@pytest.mark.parametrize('space', ['nasbench101', 'darts', 'nasbench_asr'])
def test_every_space_searches_with_a_data_free_prior_by_default(space):
  config = defaults.brp_config('', space)
  block = parts.prior_block(config)
  assert config.zero_cost.mode == 'simple+augment' and block == dict(measurement=priors.COSTS, column='params',
                                                                      where_column='', where_value='')
  sampled = spaces.get(space)
  keys = sampled.sample(50, 0) if space == 'darts' else sampled.as_keys(data.load_dataset(
      'nb101/naslib-cifar10').keys[:50]) if space == 'nasbench101' else sampled.enumerate()[:50]
  values = priors.prior_values(block, space, keys)  # log10 of millions of parameters, for any arch: no file
  assert np.allclose(values, np.log10(sampled.params(keys) / 1e6)) and np.isfinite(values).all()
  with pytest.raises(ValueError, match="column must be one of flops, params"):
    priors.prior_values({**block, 'column': 'synflow'}, space, keys)
  with pytest.raises(ValueError, match='pre-training needs a proxies file'):
    priors.load_proxy(ml_collections.ConfigDict(block), space)


@pytest.mark.slow
def test_nb101_default_search_starts_from_the_largest_cells_and_the_bundled_proxies_agree(tmp_path):
  config = defaults.brp_config('nb101/naslib-cifar10', 'nasbench101')
  config.data.search_on = 'mean'
  config.search.update(budget=20, iterations=1)
  config.training.epochs = 5
  summary = job.run(config, tmp_path, progress=False)
  first = logs.read_trace(tmp_path / 'trace.txt', 'nasbench101')[:20]
  bundled = data.load_dataset('zc/nb101', 'params')  # the project's proxies of the same 292 cells
  assert len(bundled) == 292 and summary['models_trained'] == 20
  assert np.allclose(bundled.values, bundled.space.params(bundled.keys))
  exploit = round(config.search.prior_exploit * 20)  # the first half of the batch: the prior's best cells
  largest = set(bundled.space.hashable(bundled.keys[np.argsort(-bundled.values)[:exploit]]))
  assert set(bundled.space.hashable(bundled.space.as_keys(first[:exploit]))) == largest
  synflow = data.load_dataset('zc/nb101', 'synflow')
  assert np.isfinite(synflow.values).all() and synflow.values.std() > 0


def test_score_trace_breaks_ties_at_random_and_puts_missing_scores_last():
  scores = np.array([1.0, 5.0, np.nan, 5.0, 2.0, 5.0])
  firsts = {tuple(replay.score_trace(scores, seed)[:3]) for seed in range(20)}
  assert all(sorted(f) == [1, 3, 5] for f in firsts) and len(firsts) > 1
  assert replay.score_trace(scores, 0)[3:].tolist() == [4, 0, 2]
