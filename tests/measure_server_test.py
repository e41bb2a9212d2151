"""The measurement server on a lab network: token, slow and malformed clients, limits, retries, device farms."""
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

tf = pytest.importorskip('tensorflow')

from eagle_jax.data import tools  # pylint: disable=wrong-import-position
from eagle_jax.measure import convert, driver, runners, server  # pylint: disable=wrong-import-position
from eagle_jax.spaces.nasbench201 import network as nb201_network  # pylint: disable=wrong-import-position

ROOT = Path(__file__).resolve().parents[1]
FAST = runners.TimingSettings(runs=3, avg_between=3, interval=0.0, warmup=1)


@contextlib.contextmanager
def running_server(port: int = 0, token=None, limits: server.Limits = server.Limits()):
  httpd = server.serve('127.0.0.1', port, token, limits)
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  try:
    yield httpd.server_address[1]
  finally:
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope='module')
def tiny_model():
  return convert.to_tflite(nb201_network.build((1, 1, 1, 1, 1, 1), channels=4, cells_count=1))


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
  """Sends raw bytes and reads the whole answer."""
  with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
    s.sendall(data)
    chunks = []
    while chunk := s.recv(65536):
      chunks.append(chunk)
  return b''.join(chunks)


def _status_and_error(answer: bytes):
  head, _, body = answer.partition(b'\r\n\r\n')
  return int(head.split()[1]), json.loads(body).get('error', '')


def test_loopback_by_default_and_a_token_anywhere_else(tmp_path, monkeypatch):
  with pytest.raises(ValueError, match='refusing to listen on 0.0.0.0 without a token'):
    server.serve('0.0.0.0', 0)
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.measure.server', '--host=0.0.0.0', '--port=0'],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(ROOT)})
  assert result.returncode == 2 and 'without a token' in result.stderr
  token_file = tmp_path / 'token'
  token_file.write_text('s3cret-token\n')
  assert server.read_token(str(token_file)) == 's3cret-token'
  monkeypatch.setenv(server.TOKEN_ENV, 'from-env')
  assert server.read_token('') == 'from-env'
  with pytest.raises(ValueError, match='is empty'):
    (tmp_path / 'empty').write_text('\n')
    server.read_token(str(tmp_path / 'empty'))
  with running_server(token='s3cret-token') as port:
    for token in (None, 'wrong', 's3cret-token-but-longer'):
      with pytest.raises(RuntimeError, match=r'refused the request \(401\): missing or wrong token'):
        runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, token=token).ping()
    assert runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, token='s3cret-token').ping()['limits']


def test_a_silent_client_holds_only_its_own_connection():
  with running_server(limits=server.Limits(request_timeout=1.0)) as port:
    silent = socket.create_connection(('127.0.0.1', port))
    silent.sendall(b'POST /measure?runs=1 HTT')  # half a request line, then nothing
    half_body = socket.create_connection(('127.0.0.1', port))
    half_body.sendall(b'POST /measure HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc')
    start = time.perf_counter()
    assert runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=5, retries=1).ping()['interpreter']
    assert time.perf_counter() - start < 2.0
    for sock in (silent, half_body):  # dropped after the request timeout, not held for ever
      sock.settimeout(10)
      assert sock.recv(100) == b''
      sock.close()


@pytest.mark.slow
def test_malformed_and_oversized_requests_get_4xx_with_a_message(tiny_model):
  with running_server(limits=server.Limits(max_body_mb=0.5, max_tensor_mb=64)) as port:
    status, error = _status_and_error(_raw(port, b'POST /measure HTTP/1.1\r\nContent-Length: -1\r\n\r\n'))
    assert status == 400 and "bad Content-Length '-1'" in error
    status, error = _status_and_error(_raw(port, b'POST /measure HTTP/1.1\r\n\r\n'))
    assert status == 411
    status, error = _status_and_error(_raw(port, b'POST /measure HTTP/1.1\r\nContent-Length: 200000000\r\n\r\n'))
    assert status == 413 and 'over the server limit of 0.5 MiB' in error
    body = b'x' * 1000  # unknown settings are answered after the body is read: the client sees the answer
    status, error = _status_and_error(_raw(port, b'POST /measure?speed=11 HTTP/1.1\r\nContent-Length: 1000\r\n\r\n'
                                           + body))
    assert status == 400 and "unknown timing settings ['speed']" in error
    for setting, message in (({'runs': 0}, 'runs=0 is outside'), ({'interval': float('inf')}, 'interval=inf'),
                             ({'avg_between': 10**7}, 'avg_between=10000000 is outside'),
                             ({'warmup': 'many'}, "warmup='many' is not an integer")):
      runner = runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, retries=1)
      runner.settings = runners.TimingSettings(**{**FAST.__dict__, **setting})
      with pytest.raises(RuntimeError, match=rf'refused the request \(400\): timing setting {message}'):
        runner.run(tiny_model)
    with pytest.raises(RuntimeError, match='over the limit of 0.5 MiB of measurement server'):
      runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10).run(b'\0' * 600_000)
    spec = tf.TensorSpec((1, 50000, 50000), tf.float32)  # a 1 KB model that asks for ~28 GiB of tensors
    huge = tf.lite.TFLiteConverter.from_concrete_functions(
        [tf.function(lambda x: x * 2.0 + 1.0, input_signature=[spec]).get_concrete_function()]).convert()
    assert len(huge) < 2000
    with pytest.raises(RuntimeError, match=r'\(413\): the model needs 28610.2 MiB of tensors, over the server '
                                           r'budget of 64.0 MiB'):
      runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10).run(huge)


def test_a_retry_after_a_timeout_gets_the_same_job_not_a_duplicate(tiny_model, monkeypatch):
  calls = []
  real = server.time_model
  monkeypatch.setattr(server, 'time_model', lambda *a, **k: calls.append(1) or real(*a, **k))
  slow = runners.TimingSettings(runs=6, avg_between=1, interval=0.4, warmup=0)  # about 2.4 s of timing
  with running_server() as port:
    runner = runners.RemoteRunner(slow, '127.0.0.1', port, timeout=0.7, retries=8, backoff=0.1)
    timings = runner.run(tiny_model)
    assert len(timings) == 6 and len(calls) == 1
    too_slow = runners.RemoteRunner(slow, '127.0.0.1', port, timeout=0.3, retries=2, backoff=0.1)
    with pytest.raises(runners.ServerTooSlowError, match=r'did not answer within 0.3 s on 2 of 2 tries'):
      too_slow.run(tiny_model)


def test_the_client_rides_out_a_server_restart(tiny_model):
  with running_server() as port:
    pass  # the port is free again: the server is "restarting"
  def restart_later():
    time.sleep(1.5)
    with running_server(port) as _:
      time.sleep(8)
  thread = threading.Thread(target=restart_later, daemon=True)
  thread.start()
  runner = runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=5, retries=5, backoff=0.5)
  assert len(runner.run(tiny_model)) == 3
  thread.join()


def _farm_config(ports, farm: bool, num_archs: int = 5):
  from configs.measure import test as test_config  # pylint: disable=g-import-not-at-top
  config = test_config.get_config()
  config.num_archs = num_archs
  config.model.update(channels=4, cells_count=1)
  config.runner.update(kind='remote', devices=','.join(f'127.0.0.1:{p}' for p in ports), farm=farm, timeout=30.0)
  return config


@pytest.mark.slow
def test_a_device_farm_shares_one_plan_and_per_device_results_stay_apart(tmp_path):
  with running_server() as port_a, running_server() as port_b:
    summary = driver.measure(_farm_config([port_a, port_b], farm=True), tmp_path / 'farm', progress=False)
    entries = tools.combine(tools.shard_paths(tmp_path / 'farm' / 'results'), 'nasbench201')
    assert summary['measured'] == 5 and len(entries) == 5 == len({k for k, _ in entries})
    summary = driver.measure(_farm_config([port_a, port_b], farm=False), tmp_path / 'each', progress=False)
    assert summary['measured'] == 10 and summary['results'] == [f'results/127.0.0.1_{port_a}',
                                                                f'results/127.0.0.1_{port_b}']
    per_device = [dict(tools.combine(tools.shard_paths(tmp_path / 'each' / folder), 'nasbench201')) for folder in summary['results']]
    assert per_device[0].keys() == per_device[1].keys() and len(per_device[0]) == 5
    again = driver.measure(_farm_config([port_a, port_b], farm=False), tmp_path / 'each', progress=False)
    assert again['already_done'] == 5 and again.get('measured', 0) == 0
  with pytest.raises(ConnectionError, match='unreachable'):  # the servers are gone: refused before any work
    config = _farm_config([port_a], farm=True)
    config.runner.update(retries=1, timeout=1.0)
    driver.measure(config, tmp_path / 'gone', progress=False)
  assert not (tmp_path / 'gone').exists()
