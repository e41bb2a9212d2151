"""The measurement server on a lab network: token, slow and malformed clients, limits, retries, device farms."""
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

tf = pytest.importorskip('tensorflow')

from eagle_jax.data import tools  # pylint: disable=wrong-import-position
from eagle_jax.measure import convert, driver, runners, server, timing  # pylint: disable=wrong-import-position
from eagle_jax.spaces.nasbench201 import network as nb201_network  # pylint: disable=wrong-import-position

ROOT = Path(__file__).resolve().parents[1]
FAST = timing.TimingSettings(runs=3, avg_between=3, interval=0.0, warmup=1)


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


TOKEN = 'a-long-enough-shared-secret'


def _server_binary(*flags, env=None):
  return subprocess.run([sys.executable, '-m', 'eagle_jax.measure.server', *flags], capture_output=True, text=True,
                        timeout=60, cwd=ROOT, env={'PATH': '/usr/bin:/bin', 'PYTHONPATH': str(ROOT), **(env or {})})


def test_loopback_by_default_and_a_token_anywhere_else(tmp_path, monkeypatch):
  with pytest.raises(ValueError, match='refusing to listen on 0.0.0.0 without a token'):
    server.serve('0.0.0.0', 0)
  result = _server_binary('--host=0.0.0.0', '--port=0')
  assert result.returncode == 2 and 'without a token' in result.stderr
  for host in ('127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'):
    assert server.is_loopback(host), host
  for host in ('0.0.0.0', '::', '10.0.0.1', 'no-such-host.invalid'):
    assert not server.is_loopback(host), host
  token_file = tmp_path / 'token'
  token_file.write_text(f'  {TOKEN}\n')
  token_file.chmod(0o600)
  assert server.read_token(str(token_file)) == TOKEN
  monkeypatch.setenv(server.TOKEN_ENV, f'{TOKEN}-from-env ')
  assert server.read_token('') == f'{TOKEN}-from-env'
  with running_server(token=TOKEN) as port:
    for token in (None, 'wrong', TOKEN + '-but-longer'):
      with pytest.raises(PermissionError, match=r'refused the token \(401\): missing or wrong token'):
        runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, token=token).ping()
    assert runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, token=TOKEN).ping()['limits']


@pytest.mark.parametrize('env, token_text, mode, message', [
    ({server.TOKEN_ENV: ' '}, None, None, 'has 0 characters'),
    ({server.TOKEN_ENV: 'x'}, None, None, 'has 1 characters'),
    ({server.TOKEN_ENV: 'short-but-15-ch'}, None, None, 'at least 16'),
    ({server.TOKEN_ENV: 'sixteen chars with spaces'}, None, None, 'whitespace'),
    ({}, '\n', 0o600, 'has 0 characters'),
    ({}, TOKEN, 0o644, 'open to others \\(mode 644\\): chmod 600'),
    ({}, TOKEN, 0o620, 'open to others'),
])
def test_weak_blank_or_exposed_tokens_are_refused(tmp_path, monkeypatch, env, token_text, mode, message):
  monkeypatch.delenv(server.TOKEN_ENV, raising=False)
  for name, value in env.items():
    monkeypatch.setenv(name, value)
  token_file = ''
  if token_text is not None:
    token_file = tmp_path / 'token'
    token_file.write_text(token_text)
    token_file.chmod(mode)
  with pytest.raises((ValueError, PermissionError), match=message):
    server.read_token(str(token_file))
  result = _server_binary('--host=0.0.0.0', '--port=0', f'--token_file={token_file}', env=env)
  assert result.returncode == 2 and result.stderr.startswith('error: ') and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize('flag, message', [
    ('--request_timeout=0', '--request_timeout must be a positive number, got 0.0'),
    ('--max_runs=-5', '--max_runs must be a positive number, got -5'),
    ('--max_body_mb=nan', '--max_body_mb must be a positive number'),
    ('--port=70000', '--port must be 0-65535'),
])
def test_server_limits_are_checked_at_start(flag, message):
  result = _server_binary(flag)
  assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_request_id_is_bound_to_its_model_and_settings(tiny_model):
  with running_server() as port:
    def post(query, body):
      head = f'POST /measure?{query} HTTP/1.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n'
      return _status_and_error(_raw(port, head.encode() + body))
    assert post('id=dup1&runs=3&avg_between=1&interval=0&warmup=1', tiny_model) == (200, '')
    assert post('id=dup1&runs=3&avg_between=1&interval=0&warmup=1', tiny_model) == (200, '')  # a retry
    for query, body in (('id=dup1&runs=7&avg_between=1&interval=0&warmup=1', b'not a model at all'),
                        ('id=dup1&runs=7&avg_between=1&interval=0&warmup=1', tiny_model),
                        ('id=dup1&runs=3&avg_between=1&interval=0&warmup=1', tiny_model + b'\0')):
      status, error = post(query, body)
      assert status == 409 and "request id 'dup1' belongs to another model or other settings" in error


def test_ipv6_loopback_serves_without_a_token(tiny_model):
  if not socket.has_ipv6:
    pytest.skip('no IPv6 on this machine')
  try:
    httpd = server.serve('::1', 0)
  except OSError as e:
    pytest.skip(f'cannot bind ::1 here: {e}')
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  try:
    assert runners.RemoteRunner(FAST, '::1', httpd.server_address[1], timeout=10, retries=1).ping()['limits']
  finally:
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _self_signed(folder: Path):
  openssl = shutil.which('openssl')
  if openssl is None:
    pytest.skip('making a test certificate needs the openssl command')
  cert, key = folder / 'cert.pem', folder / 'key.pem'
  subprocess.run([openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', str(key), '-out', str(cert),
                  '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                 check=True, capture_output=True, timeout=60)
  return cert, key


def test_tls_with_a_verified_certificate(tmp_path, tiny_model):
  cert, key = _self_signed(tmp_path)
  (tmp_path / 'other').mkdir()
  other_cert, _ = _self_signed(tmp_path / 'other')
  httpd = server.serve('127.0.0.1', 0, TOKEN, tls_cert=str(cert), tls_key=str(key))
  thread = threading.Thread(target=httpd.serve_forever, daemon=True)
  thread.start()
  port = httpd.server_address[1]
  try:
    runner = runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, retries=1, token=TOKEN, tls_ca=str(cert))
    assert runner.base.startswith('https://')
    assert len(runner.run(tiny_model)) == FAST.runs
    with pytest.raises(ConnectionError, match='TLS failed'):  # a certificate the client does not trust
      runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=10, retries=3, token=TOKEN, tls_ca=str(other_cert)).ping()
    with pytest.raises(ConnectionError):  # plain HTTP to a TLS server
      runners.RemoteRunner(FAST, '127.0.0.1', port, timeout=5, retries=1, token=TOKEN).ping()
    assert runner.ping()['limits']  # the server is still serving
  finally:
    httpd.shutdown()
    httpd.server_close()
    thread.join()
  with pytest.raises(ValueError, match='needs both --tls_cert and --tls_key'):
    server.serve('127.0.0.1', 0, tls_cert=str(cert))
  with pytest.raises(ValueError, match='not a PEM certificate'):
    server.serve('127.0.0.1', 0, tls_cert=str(key), tls_key=str(key))


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
      runner.settings = timing.TimingSettings(**{**FAST.__dict__, **setting})
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
  slow = timing.TimingSettings(runs=6, avg_between=1, interval=0.4, warmup=0)  # about 2.4 s of timing
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
