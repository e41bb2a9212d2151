"""Ranking candidate sets at scale: streamed chunks, sharded over local devices, split over jax.distributed
processes; the same scores and top-k every way."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NASLIB_DARTS_JSON as NASLIB_JSON
from eagle_jax.predictors import experiment, inference, ranking
from eagle_jax.spaces import darts

ROOT = Path(__file__).resolve().parents[1]
SHARDED = """
import sys
import numpy as np
import jax
from eagle_jax.predictors import inference, ranking
from eagle_jax.spaces import darts
assert len(jax.devices()) == 4
ranked = ranking.rank_stream(inference.load(sys.argv[1]), darts.sample_chunks(6000, 1, chunk=2500), top_k=40)
np.savez(sys.argv[2], scores=ranked.scores, top=ranked.top)
"""


@pytest.fixture(scope='module')
def darts_predictor(tmp_path_factory):
  sys.path.insert(0, str(ROOT))
  from configs.predictors import acc_gcn_darts_bin  # pylint: disable=g-import-not-at-top
  config = acc_gcn_darts_bin.get_config()
  config.data.measurement = str(NASLIB_JSON)
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=5)
  workdir = tmp_path_factory.mktemp('darts') / 'acc'
  experiment.train_and_evaluate(config, workdir)
  return workdir


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def test_streamed_ranking_equals_scoring_everything_at_once(darts_predictor):
  predictor = inference.load(darts_predictor)
  ranked = ranking.rank_stream(predictor, darts.sample_chunks(6000, 1, chunk=2500), top_k=40)
  keys = np.concatenate(list(darts.sample_chunks(6000, 1, chunk=2500)))
  whole = predictor.predict(keys)
  np.testing.assert_allclose(ranked.scores, whole, rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(ranked.top, np.argsort(-whole, kind='stable')[:40])
  np.testing.assert_array_equal(ranked.top_keys, keys[ranked.top])
  np.testing.assert_allclose(ranked.top_scores, whole[ranked.top], rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_sharded_over_four_devices_equals_one(darts_predictor, tmp_path):
  one = ranking.rank_stream(inference.load(darts_predictor), darts.sample_chunks(6000, 1, chunk=2500), top_k=40)
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=4', PYTHONPATH=str(ROOT))
  subprocess.run([sys.executable, '-c', SHARDED, str(darts_predictor), str(tmp_path / 'four.npz')], env=env,
                 check=True, timeout=300, capture_output=True)
  four = np.load(tmp_path / 'four.npz')
  np.testing.assert_allclose(four['scores'], one.scores, rtol=1e-6, atol=1e-6)
  np.testing.assert_array_equal(four['top'], one.top)


@pytest.mark.slow
def test_two_processes_over_localhost_equal_one(darts_predictor, tmp_path):
  args = [sys.executable, '-m', 'eagle_jax.rank', f'--predictor={darts_predictor}', '--candidates=9000',
          '--chunk=2000', '--top_k=30', '--seed=2']
  subprocess.run(args + [f'--output={tmp_path / "one"}'], check=True, timeout=300, capture_output=True, cwd=ROOT)
  port = _free_port()
  workers = [subprocess.Popen(args + [f'--output={tmp_path / "two"}', f'--coordinator=127.0.0.1:{port}',
                                      '--num_processes=2', f'--process_id={i}'], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
  try:
    for worker in workers:
      assert worker.wait(timeout=300) == 0, worker.stderr.read().decode()[-2000:]
  finally:
    for worker in workers:
      worker.kill()
      worker.wait()
      worker.stderr.close()
  assert (tmp_path / 'two' / 'top.csv').read_text() == (tmp_path / 'one' / 'top.csv').read_text()
  summary = json.loads((tmp_path / 'two' / 'summary.json').read_text())
  assert summary['processes'] == 2 and summary['candidates'] == 9000
  with pytest.raises(subprocess.CalledProcessError):
    subprocess.run(args + [f'--output={tmp_path / "bad"}', '--num_processes=2'], check=True, timeout=120,
                   capture_output=True, cwd=ROOT)
