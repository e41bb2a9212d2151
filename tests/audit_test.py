"""The binaries used as a careless user would: every bad input ends as one line naming it, with exit status 2.

A table of (binary, arguments) -> the message expected, run through the real entry points. The attacks on the
measurement server (tokens, request ids, limits, slow and silent clients, TLS) are in measure_server_test.py.
"""
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from eagle_jax import files

ROOT = Path(__file__).resolve().parents[1]
TOKEN = 'a-long-enough-shared-secret'


class _Evil:
  def __reduce__(self):
    return (os.system, ('echo pwned',))


def _run(*args, cwd=ROOT):
  return subprocess.run([sys.executable, '-m', *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                        env={**os.environ, 'PYTHONPATH': str(ROOT)})


def _cases(tmp: Path):
  (tmp / 'a_file').write_text('x')
  (tmp / 'evil.pickle').write_bytes(pickle.dumps({'x': _Evil()}))
  with files.output_dir(tmp / 'trained', 'train'):
    pass
  train = ('eagle_jax.train', '--config=configs/predictors/test.py', f'--workdir={tmp / "t"}')
  rank = ('eagle_jax.rank', '--predictor=runs/none', f'--output={tmp / "r"}')
  search = ('eagle_jax.search', '--config=configs/search/test.py', f'--workdir={tmp / "s"}')
  return [
      ((*rank, '--top_k=-1'), 'flag --top_k=-1: -1 is not a positive integer'),
      ((*rank, '--top_k=0'), 'flag --top_k=0'),
      ((*rank, '--chunk=0'), 'flag --chunk=0'),
      ((*rank, '--candidates=-5'), 'flag --candidates=-5'),
      ((*rank, '--sampler=bogus'), 'flag --sampler=bogus: value should be one of <fast|eagle>'),
      ((*rank, '--num_processes=2', '--process_id=2'), '--process_id=2 must be below --num_processes=2'),
      (('eagle_jax.rank', '--predictor=runs/none', f'--output={tmp / "a_file"}'), 'is a file; give a folder'),
      (('eagle_jax.rank', f'--predictor={tmp / "missing"}', f'--output={tmp / "r"}'), 'no predictor checkpoint at'),
      ((*train, '--config.training.learning_rate=-1'), 'config.training.learning_rate must be a number > 0'),
      ((*train, '--config.training.batch_size=0'), 'config.training.batch_size must be an integer >= 1, got 0'),
      ((*train, '--config.training.lr_scheduler=step'), "config.training.lr_scheduler must be one of ('cosine'"),
      ((*train, '--config.training.epochs=1.5'), 'flag --config.training.epochs=1.5'),
      ((*train, f'--config.data.measurement={tmp / "evil.pickle"}'), 'evil.pickle'),
      (('eagle_jax.search', '--config=configs/search/test.py', f'--workdir={tmp / "trained"}'),
       'holds a train run (run.json); a search run needs a workdir of its own'),
      ((*search, '--config.search.budget=abc'), 'flag --config.search.budget=abc'),
      ((*search, '--config.search.candidates=5'), 'config.search.candidates=5 is read in ask_tell mode only'),
      ((*search, '--config.search.selection=best'), "config.search.selection must be one of ('sample_best2'"),
      ((*search, '--config.training.epochs=0'), 'config.training.epochs must be an integer >= 1, got 0'),
      (('eagle_jax.search', '--config=configs/search/brp_nasbench201_latency.py', f'--workdir={tmp / "s"}',
        '--config.latency.limit=-1.0'), 'config.latency.limit=-1.0 must be a latency in seconds > 0'),
      (('eagle_jax.proxies', '--config=configs/proxies/nasbench201.py', f'--workdir={tmp / "p"}',
        '--config.batch_size=1'), 'config.batch_size=1: the proxies need a batch of at least 2'),
      (('eagle_jax.data', 'convert', f'--input={tmp / "missing.pickle"}', f'--output={tmp / "out.csv"}'),
       'missing.pickle does not exist'),
      (('eagle_jax.measure.server', '--request_timeout=0'), '--request_timeout must be a positive number'),
      (('eagle_jax.measure.server', '--host=0.0.0.0'), 'without a token'),
  ]


@pytest.mark.slow
def test_careless_inputs_end_as_one_line_and_exit_status_2(tmp_path):
  failures = []
  for args, expected in _cases(tmp_path):
    result = _run(*args)
    lines = result.stderr.strip().splitlines()
    if result.returncode != 2 or not lines or expected not in lines[-1] or 'Traceback' in result.stderr:
      failures.append(f'{" ".join(args)}: exit {result.returncode}, {result.stderr.strip()[-400:]!r}')
  assert not failures, '\n'.join(failures)
  for name in ('s', 't', 'p'):  # refused before a workdir was made
    assert not (tmp_path / name).exists(), name
  assert files.run_kind(tmp_path / 'trained') == 'train'


@pytest.mark.slow
def test_a_wrong_token_stops_measure_on_one_line(tmp_path):
  from eagle_jax.measure import server  # pylint: disable=g-import-not-at-top
  httpd = server.serve('127.0.0.1', 0, TOKEN)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  try:
    token_file = tmp_path / 'token'
    token_file.write_text('a-wrong-but-long-enough-token')
    token_file.chmod(0o600)
    result = _run('eagle_jax.measure', '--config=configs/measure/desktop_nasbench201.py',
                  f'--workdir={tmp_path / "m"}', '--config.runner.kind=remote', '--config.runner.host=127.0.0.1',
                  f'--config.runner.port={httpd.server_address[1]}', f'--config.runner.token_file={token_file}',
                  '--config.num_archs=2')
  finally:
    httpd.shutdown()
    httpd.server_close()
    thread.join()
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-2000:]
  assert 'refused the token (401)' in result.stderr.strip().splitlines()[-1]
  assert not (tmp_path / 'm').exists()
