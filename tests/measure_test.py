"""Measurement: Keras NB201 networks, TFLite conversion, LiteRT timing, the remote server, the resumable driver."""
import json
import multiprocessing
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ml_collections

tf = pytest.importorskip('tensorflow')

from eagle_jax import data  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.data import formats, tools  # pylint: disable=wrong-import-position
from eagle_jax.measure import convert, driver, runners, server, shards, timing, workers  # pylint: disable=wrong-import-position
from eagle_jax.spaces.nasbench201 import network as nb201_network  # pylint: disable=wrong-import-position
from eagle_jax.spaces import nasbench201 as nb  # pylint: disable=wrong-import-position

ROOT = Path(__file__).resolve().parents[1]
FAST = timing.TimingSettings(runs=5, avg_between=5, interval=0.0, warmup=3)


@pytest.mark.slow
def test_keras_params_equal_analytic_counts():
  rng = np.random.default_rng(0)
  vecs = nb.arch_vectors()[nb.is_valid(nb.arch_vectors())]
  for vec in vecs[rng.choice(len(vecs), 6, replace=False)]:
    for prune in (True, False):
      model = nb201_network.build(vec, prune=prune)
      assert nb201_network.trainable_params(model) == nb.params([vec], prune=prune)[0], (vec, prune)


def test_invalid_cell_and_unknown_op_are_refused():
  with pytest.raises(nb201_network.InvalidArchError, match='output unreachable'):
    nb201_network.build((0, 3, 0, 0, 2, 0))
  with pytest.raises(ValueError, match='op id 5'):
    nb201_network.build((5, 0, 0, 0, 0, 0))
  with pytest.raises(ValueError, match='conversion mode must be one of'):
    convert.to_tflite(nb201_network.build((1, 1, 1, 1, 1, 1)), 'int4')


@pytest.mark.slow
def test_fp32_tflite_matches_keras_and_quantised_modes_run():
  model = nb201_network.build((2, 1, 4, 0, 3, 1))
  x = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
  expected = model(x, training=False).numpy()
  interpreter = server.make_interpreter(convert.to_tflite(model, 'fp32'))
  interpreter.set_tensor(interpreter.get_input_details()[0]['index'], x)
  interpreter.invoke()
  np.testing.assert_allclose(interpreter.get_tensor(interpreter.get_output_details()[0]['index']), expected,
                             rtol=1e-4, atol=1e-4)
  sizes = {}
  for mode in convert.MODES:
    flatbuffer = convert.to_tflite(model, mode, calibration_size=4)
    sizes[mode] = len(flatbuffer)
    timings = runners.LocalRunner(FAST).run(flatbuffer)
    assert len(timings) == 5 and all(len(run) == 5 and min(run) > 0 for run in timings)
  assert sizes['fp16'] < sizes['fp32'] and sizes['dynamic_int8'] < sizes['fp16']


@pytest.fixture
def loopback_server():
  httpd = server.serve('127.0.0.1', 0)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  yield httpd.server_address[1]
  httpd.shutdown()
  httpd.server_close()


def test_remote_round_trip_on_loopback(loopback_server):
  runner = runners.RemoteRunner(FAST, '127.0.0.1', loopback_server, timeout=30)
  assert runner.ping()['interpreter'] in ('ai_edge_litert', 'tflite_runtime')
  assert runner.device()['threads'] >= 1 and 'governors' in runner.device()
  timings = runner.run(convert.to_tflite(nb201_network.build((1, 1, 1, 1, 1, 1))))
  assert len(timings) == 5 and all(len(run) == 5 and min(run) > 0 for run in timings)
  with pytest.raises(RuntimeError, match=r'refused the request \(400\): .*Flatbuffer'):
    runner.run(b'not a tflite model')


def test_unreachable_server_is_a_clear_error():
  import socket
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]  # closed again: nothing listens there
  runner = runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=1, retries=2)
  with pytest.raises(ConnectionError, match=f'127.0.0.1:{port} unreachable after 2 tries'):
    runner.ping()


def _measure(workdir, *overrides):
  return subprocess.Popen([sys.executable, '-m', 'eagle_jax.measure', '--config=configs/measure/test.py',
                           f'--workdir={workdir}', *overrides], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


def _children(pid: int) -> list:
  """Pids of the processes whose parent is `pid` (Linux /proc)."""
  out = []
  for stat in Path('/proc').glob('[0-9]*/stat'):
    try:
      fields = stat.read_text().rsplit(')', 1)[1].split()
    except OSError:
      continue
    if int(fields[1]) == pid:
      out.append(int(stat.parent.name))
  return out


def _alive(pid: int) -> bool:
  try:
    return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
  except OSError:
    return False


def _entries(workdir):
  return tools.combine(tools.shard_paths(workdir / 'results'), 'nasbench201')


@pytest.mark.slow
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
  workdir = tmp_path / 'run'
  overrides = ['--config.num_archs=8', '--config.runner.runs=20', '--config.runner.interval=0.02']
  process = _measure(workdir, *overrides)
  deadline = time.time() + 240
  while time.time() < deadline and len(_entries(workdir) if (workdir / 'results').is_dir() else []) < 3:
    time.sleep(0.2)
  workers = _children(process.pid)
  assert workers  # the conversion worker(s)
  process.send_signal(signal.SIGKILL)
  process.wait()
  deadline = time.time() + 15
  while time.time() < deadline and any(_alive(pid) for pid in workers):
    time.sleep(0.2)
  assert not any(_alive(pid) for pid in workers), 'conversion workers outlived the killed driver'
  before = _entries(workdir)
  assert 3 <= len(before) < 8
  resumed = _measure(workdir, *overrides)
  out, err = resumed.communicate(timeout=300)
  assert resumed.returncode == 0, err[-3000:]
  summary = json.loads(out[out.index('{'):])
  assert summary['already_done'] == len(before) and summary['planned'] == 8
  after = _entries(workdir)
  keys = [k for k, _ in after]
  assert len(keys) == 8 == len(set(keys))
  assert after[:len(before)] == before  # nothing already measured was lost or re-measured
  record = json.loads((workdir / shards.DEVICE_RECORD).read_text())  # one entry per run, the killed one too
  assert len(record) == 2 and set(record[1]['devices']['local']) == {'before', 'after'}
  assert all(run['devices']['local']['before']['threads'] >= 1 for run in record)
  assert all(len(s) <= 3 for s in (tools.read_shard(p, 'nasbench201') for p in tools.shard_paths(workdir / 'results')))
  latency = tmp_path / 'latency.pickle'
  stats = subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'stats', f'--input={workdir / "results"}',
                          f'--output={latency}'], cwd=ROOT, capture_output=True, text=True)
  assert stats.returncode == 0, stats.stderr
  assert len(data.load_measurements(latency)) == 8
  changed = _measure(workdir, *overrides, '--config.num_archs=9')
  _, err = changed.communicate(timeout=120)
  assert changed.returncode != 0 and 'other archs' in err
  plan = (workdir / 'plan.json').read_bytes()
  for changes in (['--config.fix=True', '--config.runner.runs=5'], ['--config.runner.runs=0']):
    refused = _measure(workdir, *overrides, *changes)
    _, err = refused.communicate(timeout=120)
    assert refused.returncode != 0 and ('other settings' in err or 'runs=0 is outside' in err), err[-2000:]
  assert (workdir / 'plan.json').read_bytes() == plan  # never rewritten without measuring


def test_bad_settings_are_refused_before_any_work(tmp_path):
  from configs.measure import test as test_config  # pylint: disable=g-import-not-at-top
  for path, value, message in (('runner.runs', 0, 'runs=0 is outside'), ('runner.interval', float('inf'),
                                                                           'interval=inf is outside'),
                               ('conversion.mode', 'int4', "mode must be one of"),
                               ('shard_size', 0, 'shard_size must be'), ('runner.kind', 'cloud', r"config.runner.kind must be one of \('local', 'remote', 'adb'\), got 'cloud'")):
    config = test_config.get_config()
    section, _, name = path.rpartition('.')
    (config[section] if section else config)[name] = value
    with pytest.raises(ValueError, match=message):
      driver.measure(config, tmp_path / 'run', progress=False)
    assert not (tmp_path / 'run').exists()
  config = test_config.get_config()
  config.model.depth_multiplier = 2  # the builder refuses it: found on the first model, before the plan is written
  with pytest.raises(ValueError, match=r'cannot build and convert .*depth_multiplier'):
    driver.measure(config, tmp_path / 'run', progress=False)
  assert not (tmp_path / 'run').exists()
  config = test_config.get_config()
  config.runner.update(kind='remote', pause_conversion=True)
  with pytest.raises(ValueError, match="pause_conversion .* needs runner.kind='local'"):
    driver.measure(config, tmp_path / 'run', progress=False)
  (tmp_path / 'file').write_text('x')
  with pytest.raises(NotADirectoryError, match='is a file, not a folder'):
    driver.measure(test_config.get_config(), tmp_path / 'file', progress=False)


def test_corrupted_shard_is_a_clear_error(tmp_path):
  (tmp_path / 'results').mkdir()
  formats.write_pickle([((1, 1, 1, 1, 1, 1), [[0.1]])], tmp_path / 'results' / 'results0.pickle')
  (tmp_path / 'results' / 'results1.pickle').write_bytes(b'\x80\x04garbage')
  with pytest.raises(ValueError, match='results1.pickle: not a readable pickle'):
    tools.combine(tools.shard_paths(tmp_path / 'results'), 'nasbench201')


def _count_forever(counter):
  while True:
    counter.value += 1


def test_conversion_paused_stops_the_workers_while_timing():
  context = multiprocessing.get_context('spawn')
  # one writer and no lock: a lock the child holds when it is stopped would block the reads below for good
  counter = context.RawValue('q', 0)
  worker = context.Process(target=_count_forever, args=(counter,), daemon=True)
  worker.start()
  try:
    deadline = time.time() + 60
    while counter.value == 0 and time.time() < deadline:
      time.sleep(0.05)
    with workers.conversion_paused():
      time.sleep(0.2)  # let the stop land
      paused = counter.value
      time.sleep(0.5)
      assert counter.value == paused
    time.sleep(0.5)
    assert counter.value > paused
    with workers.conversion_paused(enabled=False):
      before = counter.value
      time.sleep(0.3)
      assert counter.value > before
  finally:
    worker.kill()
    worker.join()


def test_invalid_archs_are_recorded_not_built(tmp_path):
  arch_list = tmp_path / 'archs.txt'
  arch_list.write_text('|none~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|none~2|\n'
                       '|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|\n')
  # two conversion workers, paused while each model is timed
  process = _measure(tmp_path / 'run', '--config.archs=list', f'--config.arch_list={arch_list}',
                     '--config.conversion.workers=2', '--config.runner.pause_conversion=True')
  out, err = process.communicate(timeout=300)
  assert process.returncode == 0, err[-3000:]
  entries = dict(_entries(tmp_path / 'run'))
  assert entries[(0, 3, 0, 0, 2, 0)] == 'invalid'
  assert isinstance(entries[(1, 0, 0, 1, 0, 0)], list)


def test_models_timed_in_turn_keep_their_own_statistic_and_failures():
  heavy, light = (convert.to_tflite(nb201_network.build(vec)) for vec in ((3, 3, 3, 3, 3, 3), (1, 1, 1, 1, 1, 1)))
  settings = dict(runs=8, avg_between=4, interval=0.002, warmup=2)
  together = server.time_models([heavy, b'not a model', light], **settings)
  assert isinstance(together[1], ValueError)
  for timings in (together[0], together[2]):
    assert len(timings) == 8 and all(len(run) == 4 and min(run) > 0 for run in timings)
  alone = {name: tools.two_level_iqr_mean(server.time_model(model, **settings))
           for name, model in (('heavy', heavy), ('light', light))}
  in_turn = {'heavy': tools.two_level_iqr_mean(together[0]), 'light': tools.two_level_iqr_mean(together[2])}
  assert in_turn['heavy'] > 2 * in_turn['light'] and alone['heavy'] > 2 * alone['light']
  for name in alone:  # the same statistic: timed in turn, each model reads as when timed alone
    assert 0.6 < in_turn[name] / alone[name] < 1.6, (name, in_turn, alone)
  runner = runners.make_runners(ml_collections.ConfigDict(dict(
      kind='local', threads=1, xnnpack=True, interleave=2, **settings)))[0]
  assert runner.together == 2 and 'in turn' in runner.describe()
  with pytest.raises(ValueError, match='interleave'):
    runners.make_runners(ml_collections.ConfigDict(dict(kind='local', threads=1, xnnpack=True, interleave=0,
                                                        **settings)))
