"""Train, predictor and search workdirs hold one consistent run; bad input is a clear error naming what is wrong."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eagle_jax import data, files, predictors
from eagle_jax.data import formats
from eagle_jax.predictors import checkpoints, experiment
from eagle_jax.search import job

ROOT = Path(__file__).resolve().parents[1]
FAST_VEC, SLOW_VEC = (1, 1, 1, 1, 1, 1), (3, 3, 3, 3, 3, 3)


def _config(measurement='help/pixel3', **changes):
  from configs.predictors import test  # pylint: disable=g-import-not-at-top
  config = test.get_config()
  config.data.measurement = measurement
  config.data.total_points = None
  config.training.epochs = 3
  config.space_predictions = False
  for path, value in changes.items():
    section, name = path.split('.')
    config[section][name] = value
  return config


def _latency_file(tmp_path, bad_value, name='lat.pickle') -> Path:
  mapping = dict(list(data.load_measurements('help/pixel3').items())[:100])
  mapping[next(iter(mapping))] = bad_value
  path = tmp_path / name
  path.write_bytes(__import__('pickle').dumps(mapping))
  return path


@pytest.mark.parametrize('bad_value, message', [(float('inf'), r'is inf, not a finite number'),
                                                (10**400, r'too large for a float'),
                                                (-0.01, r'value -0.01 for .* is not a positive latency'),
                                                (0.0, r'value 0.0 for .* is not a positive latency')])
def test_unusable_targets_are_refused_before_training(tmp_path, bad_value, message):
  path = _latency_file(tmp_path, bad_value)
  with pytest.raises(ValueError, match=message) as error:
    experiment.train_and_evaluate(_config(str(path)), tmp_path / 'run')
  assert 'lat.pickle' in str(error.value) or 'lat' in str(error.value)
  assert not (tmp_path / 'run').exists()


def test_constant_targets_and_a_diverging_loss_stop_with_an_error(tmp_path):
  mapping = dict.fromkeys(list(data.load_measurements('help/pixel3'))[:100], 0.02)
  formats.write_pickle(mapping, tmp_path / 'flat.pickle')
  with pytest.raises(ValueError, match=r'flat.pickle: all 97 values equal 0.02; a predictor has nothing'):
    experiment.train_and_evaluate(_config(str(tmp_path / 'flat.pickle')), tmp_path / 'flat')
  with pytest.raises(FloatingPointError, match=r'training diverged: loss is (nan|inf).*nothing was saved'):
    experiment.train_and_evaluate(_config(**{'training.learning_rate': 1e12, 'data.normalize': False}),
                                  tmp_path / 'diverged')
  assert not (tmp_path / 'diverged' / checkpoints.PARAMS_DIR).exists()


def test_data_files_name_the_problem(tmp_path):
  latin = tmp_path / 'latin.csv'
  latin.write_bytes('arch_str,value\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,0.5\n# caf\xe9\n'
                    .encode('latin-1'))
  with pytest.raises(ValueError, match=r'latin.csv:3: not UTF-8 text'):
    data.load_measurements(latin)
  short = tmp_path / 'short.csv'
  short.write_text('arch_str,value\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|\n')
  with pytest.raises(ValueError, match=r"short.csv:2: the row does not have the header's 2 fields"):
    data.load_measurements(short)
  inf = _latency_file(tmp_path, float('inf'), 'inf.pickle')
  info = subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'info', f'--input={inf}'], cwd=ROOT,
                        capture_output=True, text=True)
  assert info.returncode == 2 and info.stderr.startswith('error: ') and 'inf.pickle: value for' in info.stderr
  assert len(info.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_workdir_holds_one_training_run(tmp_path):
  workdir = tmp_path / 'run'
  experiment.train_and_evaluate(_config(), workdir)
  with pytest.raises(FileExistsError, match=r'already holds a training run .*--overwrite'):
    experiment.train_and_evaluate(_config(**{'model.predictor': 'linear'}), workdir)
  assert predictors.load(workdir).model.body == 'gcn'  # untouched by the refused run
  metrics = experiment.train_and_evaluate(_config(**{'model.predictor': 'linear'}), workdir, overwrite=True)
  assert metrics['predictor'] == 'linear'
  with pytest.raises(FileNotFoundError, match='no predictor checkpoint'):  # the GCN's went with its run
    predictors.load(workdir)


@pytest.mark.slow
def test_checkpoint_and_card_are_one_pair(tmp_path):
  first, second = tmp_path / 'a', tmp_path / 'b'
  experiment.train_and_evaluate(_config(), first)
  experiment.train_and_evaluate(_config(**{'training.learning_rate': 1e-2}), second)
  good = predictors.load(first).predict(np.array([FAST_VEC, SLOW_VEC]))
  assert 0 < good[0] < good[1]
  # a save killed after its parameters landed but before its card: new parameters beside the old card
  mixed = tmp_path / 'mixed'
  shutil.copytree(first, mixed)
  for item in (second / checkpoints.PARAMS_DIR).iterdir():
    if item.name != checkpoints.CARD:
      target = mixed / checkpoints.PARAMS_DIR / item.name
      shutil.rmtree(target) if target.is_dir() else target.unlink()
      (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
  with pytest.raises(ValueError, match=r'parameters do not match their card'):
    predictors.load(mixed)
  # killed between the two renames of a save: the old checkpoint is kept aside, and named
  interrupted = tmp_path / 'interrupted'
  shutil.copytree(first, interrupted)
  (interrupted / checkpoints.PARAMS_DIR).rename(interrupted / f'.{checkpoints.PARAMS_DIR}.old')
  with pytest.raises(FileNotFoundError, match=r'save was interrupted; the previous one is in .*\.checkpoint\.old'):
    predictors.load(interrupted)
  # tampered folders: every error names the workdir or file
  for name, tamper, message in (
      ('card', lambda w: (w / checkpoints.PARAMS_DIR / checkpoints.CARD).write_text('{"model": '),
       r'predictor.json: not a predictor card'),
      ('params', lambda w: max((p for p in (w / checkpoints.PARAMS_DIR).rglob('*') if p.is_file()),
                               key=lambda p: p.stat().st_size).write_bytes(b'garbage'),  # the parameter data
       r'(damaged checkpoint|do not match their card)'),
      ('shape', lambda w: _edit_card(w, num_hidden=64), r'does not fit this predictor: parameter'),
      ('key', lambda w: _edit_card(w, drop='normalization'), r'card in .* is not usable: KeyError')):
    tampered = tmp_path / name
    shutil.copytree(first, tampered)
    tamper(tampered)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as error:
      predictors.load(tampered)
    assert str(tampered) in str(error.value)


def _edit_card(workdir: Path, num_hidden=None, drop=None):
  path = workdir / checkpoints.PARAMS_DIR / checkpoints.CARD
  card = json.loads(path.read_text())
  if num_hidden:
    card['model']['num_hidden'] = num_hidden
  if drop:
    del card[drop]
  path.write_text(json.dumps(card))


@pytest.mark.slow
def test_search_reruns_keep_eagles_log_and_never_mix_outputs(tmp_path):
  from configs.search import test  # pylint: disable=g-import-not-at-top
  config = test.get_config()
  config.training.epochs = 3
  first = job.run(config, tmp_path, progress=False)
  assert first['log']['runs'] == 1
  config.seed = 1
  second = job.run(config, tmp_path, progress=False)
  assert second['log']['runs'] == 2 and 'last run only' in second['log']['note']
  assert json.loads((tmp_path / 'summary.json').read_text())['seed'] == 1


def test_workdir_problems_are_found_before_any_work(tmp_path):
  from configs.search import test  # pylint: disable=g-import-not-at-top
  (tmp_path / 'file').write_text('x')
  with pytest.raises(NotADirectoryError, match='is a file, not a folder'):
    job.run(test.get_config(), tmp_path / 'file', progress=False)
  with pytest.raises(PermissionError, match='is not writable'):
    with files.output_dir('/proc/self', 'test'):
      pass
  config = test.get_config()
  config.search.budget = 0
  with pytest.raises(ValueError, match=r'config.search.budget=0: a search needs at least 2 models'):
    job.run(config, tmp_path / 'budget', progress=False)
  assert not (tmp_path / 'budget').exists()  # a failed run leaves no empty workdir behind


@pytest.mark.parametrize('override, expected', [
    ('--config.model.predictr=gcn', "error: bad config override --config.model.predictr=gcn: no such field "
     "'predictr' Did you mean \"predictor\""),
    ('--config.training.epochs=abc', "error: flag --config.training.epochs=abc: invalid literal for int()"),
    ('--config.training.epochs=0', 'error: config.training.epochs must be an integer >= 1, got 0'),
    ('--config.data.training_points=5000', 'error: config.data.training_points=5000'),
    ('--config.model.head=bogus', "error: config.model.head must be one of"),
    ('--config.data.measurement=missing.pickle', "error: 'missing.pickle' is neither a bundled dataset")])
def test_config_mistakes_are_one_line(tmp_path, override, expected):
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.train', '--config=configs/predictors/test.py', override,
                           f'--workdir={tmp_path / "run"}'], cwd=ROOT, capture_output=True, text=True)
  assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith(expected), result.stderr
  assert 'Traceback' not in result.stderr
