"""Search with external training (ask / tell): NASLib's DARTS genotypes as the candidate set and their surrogate
accuracies as a stand-in trainer; state that survives repeats and crashes; clear refusals."""
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NASLIB_DARTS_JSON as NASLIB_JSON
from eagle_jax import data, spaces
from eagle_jax.predictors import inference
from eagle_jax.search import asktell, job, logs

ROOT = Path(__file__).resolve().parents[1]
SPACE = spaces.get('darts')


def _config():
  sys.path.insert(0, str(ROOT))
  config = __import__('configs.search.brp_darts', fromlist=['get_config']).get_config()
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=10, batch_size=8)
  config.search.update(budget=20, iterations=3, candidate_file=str(NASLIB_JSON), top_pool=30)
  return config


def _train(texts, path):
  """The stand-in trainer: looks up NASLib's surrogate accuracy of each genotype; writes arch_str,value."""
  surrogate = data.load_measurements(NASLIB_JSON, space='darts')
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['arch_str', 'value'])
    for text in texts:
      writer.writerow([text, surrogate[SPACE.key(text)]])
  return path


def _to_train(workdir):
  return (workdir / 'to_train.txt').read_text().splitlines()


@pytest.mark.slow
def test_ask_tell_runs_a_whole_search_with_repeats_and_a_crash(tmp_path):
  config, workdir = _config(), tmp_path / 'search'
  first = job.run(config, workdir, progress=False)
  asked = _to_train(workdir)
  assert first['to_train'] == len(asked) == 6 and first['told'] == 0
  assert job.run(config, workdir, progress=False)['to_train'] == 6 and _to_train(workdir) == asked  # a repeat
  rounds = []
  while True:
    config.search.results = str(_train(_to_train(workdir), tmp_path / f'results{len(rounds)}.csv'))
    summary = job.run(config, workdir, progress=False)
    rounds.append(summary)
    if summary['finished']:
      break
    again = job.run(config, workdir, progress=False)  # the same results again: nothing counted twice
    assert again['told'] == summary['told'] and again['new_results'] == 0
  assert [r['told'] for r in rounds] == [6, 12, 20] and rounds[-1]['to_train'] == 0
  state = json.loads((workdir / 'state.json').read_text())
  assert len(state['asked']) == len(set(state['asked'])) == 20
  predictor = inference.load(workdir, space='darts')  # a search workdir is a predictor workdir
  assert predictor.predict(SPACE.as_keys(state['asked'][:3])).shape == (3,)

  # a crash after retraining but before the state was written: the repeat gives the same batch
  crashed = tmp_path / 'crashed'
  config = _config()
  job.run(config, crashed, progress=False)
  config.search.results = str(_train(_to_train(crashed), tmp_path / 'r.csv'))
  shutil.copytree(crashed, tmp_path / 'before')
  job.run(config, crashed, progress=False)
  expected = _to_train(crashed)
  shutil.rmtree(crashed)
  shutil.copytree(tmp_path / 'before', crashed)
  session = asktell.AskTell(config, crashed)
  session.tell_file(config.search.results)
  session.fit()  # dies here: the retrained predictor is staged, no state written
  assert (crashed / asktell.NEXT).exists()
  assert job.run(config, crashed, progress=False)['told'] == 6 and _to_train(crashed) == expected
  assert not (crashed / asktell.NEXT).exists()


def test_results_that_were_not_asked_for_or_changed_are_refused(tmp_path):
  config, workdir = _config(), tmp_path / 'search'
  job.run(config, workdir, progress=False)
  asked = _to_train(workdir)
  others = [t for t in SPACE.strs(data.load_dataset(NASLIB_JSON, space='darts').keys) if t not in asked]
  config.search.results = str(_train([asked[0], others[0]], tmp_path / 'stray.csv'))
  with pytest.raises(ValueError, match='was not asked for'):
    job.run(config, workdir, progress=False)
  config.search.results = str(_train(asked[:2], tmp_path / 'part.csv'))
  summary = job.run(config, workdir, progress=False)
  assert summary['told'] == 2 and summary['to_train'] == 4  # still waiting for the other four
  changed = tmp_path / 'changed.csv'
  changed.write_text(f'arch_str,value\n"{asked[0]}",1.0\n')
  config.search.results = str(changed)
  with pytest.raises(ValueError, match='was told .* before, now 1.0'):
    job.run(config, workdir, progress=False)
  other = _config()
  other.seed = 1
  with pytest.raises(ValueError, match='other settings'):
    job.run(other, workdir, progress=False)
  assert len(json.loads((workdir / 'state.json').read_text())['told']) == 2


def test_nb201_search_runs_as_ask_tell_over_the_whole_space(tmp_path):
  sys.path.insert(0, str(ROOT))
  config = __import__('configs.search.brp_nasbench201', fromlist=['get_config']).get_config()
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=5, batch_size=8)
  config.search.update(mode='ask_tell', budget=8, iterations=2)
  config.data.measurement = ''  # ask_tell reads no table (refused if given)
  workdir = tmp_path / 'nb201'
  job.run(config, workdir, progress=False)
  accuracy = data.load_dataset('nb201/cifar100')
  space = spaces.get('nasbench201')
  asked = _to_train(workdir)
  values = accuracy.values[accuracy.rows_of(space.as_keys([space.from_str(t) for t in asked]))]
  results = tmp_path / 'results.csv'
  results.write_text('arch_str,value\n' + ''.join(f'{t},{v}\n' for t, v in zip(asked, values)))
  config.search.results = str(results)
  summary = job.run(config, workdir, progress=False)
  assert summary['told'] == 4 and summary['to_train'] == 4 and summary['candidates'] == 15284
  assert not set(_to_train(workdir)) & set(asked)


def test_ask_tell_and_benchmark_mode_are_one_engine(tmp_path):
  """The same config searched both ways over the same archs picks the same models in the same order."""
  config = _config()
  config.search.update(candidate_file='', candidates=0, mode='benchmark')
  config.data.measurement = str(NASLIB_JSON)
  benchmark = job.run(config, tmp_path / 'benchmark', progress=False)
  trace = logs.read_trace(tmp_path / 'benchmark' / 'trace.txt', SPACE)[:config.search.budget]
  config = _config()
  workdir = tmp_path / 'ask_tell'
  while not job.run(config, workdir, progress=False)['finished']:
    config.search.results = str(_train(_to_train(workdir), tmp_path / 'results.csv'))
  asked = json.loads((workdir / 'state.json').read_text())['asked']
  assert len(asked) == len(trace) == 20
  assert [SPACE.from_str(t) for t in asked] == trace
  assert benchmark['best_found']['arch_str'] in asked


def test_fields_of_the_other_mode_are_refused(tmp_path):
  config = _config()
  config.data.measurement = str(NASLIB_JSON)
  with pytest.raises(ValueError, match='config.data.measurement=.* benchmark mode only'):
    job.run(config, tmp_path / 'a', progress=False)
  config.search.mode = 'benchmark'
  with pytest.raises(ValueError, match=r'config.search.candidates=10000000 is read in ask_tell mode only'):
    job.run(config, tmp_path / 'b', progress=False)


@pytest.mark.slow
def test_darts_search_under_a_latency_limit_asks_only_for_fast_genotypes(tmp_path):
  from eagle_jax.predictors import experiment  # pylint: disable=g-import-not-at-top
  latency = __import__('configs.predictors.lat_gcn_darts', fromlist=['get_config']).get_config()
  latency.model.update(num_layers=2, num_hidden=32)
  latency.training.update(epochs=20)
  experiment.train_and_evaluate(latency, tmp_path / 'lat')
  predictor = inference.load(tmp_path / 'lat', space='darts')
  candidates = data.load_dataset(NASLIB_JSON, space='darts').keys
  limit = float(np.median(predictor.predict(candidates)))
  config = _config()
  config.latency.update(limit=limit, checkpoint=str(tmp_path / 'lat'))
  workdir = tmp_path / 'search'
  for step in range(2):
    if step:
      config.search.results = str(_train(_to_train(workdir), tmp_path / 'results.csv'))
    job.run(config, workdir, progress=False)
    asked = _to_train(workdir)
    assert len(asked) == 6 and (predictor.predict(SPACE.as_keys([SPACE.from_str(t) for t in asked])) <= limit).all()
  config.latency.limit = 1e-9
  with pytest.raises(ValueError, match='other settings'):
    job.run(config, workdir, progress=False)
  config.search.results = ''
  with pytest.raises(ValueError, match='config.latency.limit=1e-09 s keeps no candidate'):
    job.run(config, tmp_path / 'too_tight', progress=False)
