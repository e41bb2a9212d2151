"""Measurement server for a target device: receives a .tflite model over HTTP, times it, returns raw timings.

python -m eagle_jax.measure.server [--host=127.0.0.1] [--port=8765] [--token_file=FILE]
    [--tls_cert=CERT --tls_key=KEY] [limits]

Needs only numpy and a TFLite interpreter: `ai-edge-litert`, or `tflite-runtime` on older boards and Python
versions; this file can be copied to the device alone and run as `python server.py --host ... --port ...`.

Security: it listens on 127.0.0.1 unless told otherwise. Any address but a loopback one (127.0.0.0/8, ::1)
needs a shared token of at least 16 characters, read from --token_file (a file only its owner can read, as ssh
asks of keys) or the EAGLE_JAX_MEASURE_TOKEN environment variable (never from a flag value, which `ps` shows),
stripped of whitespace from either; clients send it as `Authorization: Bearer <token>` and it is compared in
constant time. Over an untrusted network, serve TLS (--tls_cert, --tls_key; clients verify the certificate
with config.runner.tls_ca) or reach a loopback server through an ssh tunnel.
Robustness: a thread per connection with a socket timeout (a slow or silent client holds only its own
connection), checked headers, bounded bodies, bounded settings, and tensor memory checked before allocation;
every refusal is a 4xx with a JSON `error`. Timing itself stays one model at a time.
Endpoints: GET /ping -> {"interpreter", "version", "limits", "device"}; POST /measure?id=&threads=&runs=&avg_between=
&interval=&warmup=&xnnpack=&seed= with the model bytes as body -> {"timings": [[seconds, ...], ...]}. A request
whose `id` the server already knows waits for (or returns) that job's result instead of timing the model again;
an id is bound to a digest of its model and settings, so the same id with another request gets 409.
"""
import argparse
import collections
import dataclasses
import gc
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
from http import server as http_server
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

try:
  from ai_edge_litert import interpreter as tflite  # pylint: disable=g-import-not-at-top
  INTERPRETER = 'ai_edge_litert'
except ImportError:  # pragma: no cover - devices without LiteRT
  from tflite_runtime import interpreter as tflite  # pylint: disable=g-import-not-at-top
  INTERPRETER = 'tflite_runtime'

TOKEN_ENV = 'EAGLE_JAX_MEASURE_TOKEN'
MIN_TOKEN_CHARS = 16
_JOB_ID = re.compile(r'[A-Za-z0-9_-]{1,64}')


@dataclasses.dataclass(frozen=True)
class Limits:
  """What one request may ask of the server (also checked by the driver before any work)."""
  max_body_mb: float = 64.0        # model size
  max_tensor_mb: float = 2048.0    # all tensors of one model, checked before allocating them
  request_timeout: float = 30.0    # seconds a client may stay silent while sending a request
  max_threads: int = 64
  max_runs: int = 10_000
  max_avg_between: int = 1_000
  max_warmup: int = 10_000
  max_interval: float = 10.0
  max_seconds_estimate: float = 3600.0  # runs * interval, the sleep a request alone asks for

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f'--{field.name} must be a positive number, got {value!r}')

  @property
  def max_body_bytes(self) -> int:
    return int(self.max_body_mb * 2**20)


# name: (type, lowest, highest: a number, or the attribute of Limits holding it)
SETTINGS = {'threads': (int, 1, 'max_threads'), 'runs': (int, 1, 'max_runs'),
            'avg_between': (int, 1, 'max_avg_between'), 'interval': (float, 0.0, 'max_interval'),
            'warmup': (int, 0, 'max_warmup'), 'xnnpack': (int, 0, 1), 'seed': (int, 0, 2**31 - 1)}


def check_settings(settings: dict, limits: Limits = Limits()) -> dict:
  """Settings as their types, within bounds; ValueError naming the first bad one."""
  unknown = sorted(set(settings) - set(SETTINGS))
  if unknown:
    raise ValueError(f'unknown timing settings {unknown}; known: {sorted(SETTINGS)}')
  out = {}
  for name, raw in settings.items():
    kind, low, high = SETTINGS[name]
    try:
      value = kind(raw) if not isinstance(raw, bool) else int(raw)
    except (TypeError, ValueError):
      raise ValueError(f'timing setting {name}={raw!r} is not {"an integer" if kind is int else "a number"}'
                       ) from None
    high = getattr(limits, high) if isinstance(high, str) else high
    if not (math.isfinite(value) and low <= value <= high):
      raise ValueError(f'timing setting {name}={value} is outside [{low}, {high}]')
    out[name] = value
  seconds = out.get('runs', 1) * out.get('interval', 0.0)
  if seconds > limits.max_seconds_estimate:
    raise ValueError(f'timing settings ask for {seconds:.0f} s of sleep (runs x interval), over the '
                     f'{limits.max_seconds_estimate:.0f} s limit')
  return out


def make_interpreter(model: bytes, threads: int = 1, xnnpack: bool = True, max_tensor_bytes: Optional[int] = None):
  """A LiteRT interpreter with its tensors allocated, after checking their total size against the budget."""
  resolver = (tflite.OpResolverType.AUTO if xnnpack else tflite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  interpreter = tflite.Interpreter(model_content=model, num_threads=threads, experimental_op_resolver_type=resolver)
  if max_tensor_bytes is not None:
    needed = sum(int(np.prod(d['shape'], dtype=np.float64)) * np.dtype(d['dtype']).itemsize
                 for d in interpreter.get_tensor_details())
    if needed > max_tensor_bytes:
      raise MemoryError(f'the model needs {needed / 2**20:.1f} MiB of tensors, over the server budget of '
                        f'{max_tensor_bytes / 2**20:.1f} MiB (--max_tensor_mb)')
  interpreter.allocate_tensors()
  return interpreter


def random_input(detail: dict, rng: np.random.Generator) -> np.ndarray:
  """Uniform [0, 1) input, quantised when the input tensor is integer."""
  x = rng.random(tuple(detail['shape']), dtype=np.float32)
  if np.issubdtype(detail['dtype'], np.integer):
    scale, zero_point = detail['quantization']
    info = np.iinfo(detail['dtype'])
    return np.clip(np.round(x / (scale or 1.0) + zero_point), info.min, info.max).astype(detail['dtype'])
  return x.astype(detail['dtype'])


def time_model(model: bytes, threads: int = 1, runs: int = 100, avg_between: int = 10, interval: float = 0.01,
               warmup: int = 10, xnnpack: bool = True, seed: int = 0, max_tensor_bytes: Optional[int] = None) -> list:
  """`runs` lists of `avg_between` invoke() times in seconds (perf_counter_ns, GC off within a run), after
  `warmup` untimed invokes; a fresh input per run and `interval` seconds between runs."""
  timings = time_models([model], threads, runs, avg_between, interval, warmup, xnnpack, seed, max_tensor_bytes)[0]
  if isinstance(timings, Exception):
    raise timings
  return timings


def time_models(models: Sequence[bytes], threads: int = 1, runs: int = 100, avg_between: int = 10,
                interval: float = 0.01, warmup: int = 10, xnnpack: bool = True, seed: int = 0,
                max_tensor_bytes: Optional[int] = None) -> list:
  """`time_model` of several models in turn, run by run: the gap of `interval` seconds between one model's runs
  is filled with the others' runs (sleeping only what is left of it), so each model's samples are taken as
  alone while the core is never idle. Per model: its timings, or the exception that stopped it (a model that
  cannot be loaded or invoked does not stop the others)."""
  if min(threads, runs, avg_between) < 1 or warmup < 0 or interval < 0:
    raise ValueError(f'bad timing settings: threads={threads} runs={runs} avg_between={avg_between} '
                     f'warmup={warmup} interval={interval}')
  rng = np.random.default_rng(seed)
  results, active = [None] * len(models), {}
  for i, model in enumerate(models):
    try:
      interpreter = make_interpreter(model, threads, xnnpack, max_tensor_bytes)
      inputs = interpreter.get_input_details()
      _set_inputs(interpreter, inputs, rng)
      for _ in range(warmup):
        interpreter.invoke()
      active[i] = (interpreter, inputs)
      results[i] = []
    except (RuntimeError, ValueError, MemoryError) as e:
      results[i] = e
  ended = {}
  for _ in range(runs):
    for i, (interpreter, inputs) in list(active.items()):
      if i in ended:
        time.sleep(max(0.0, interval - (time.perf_counter() - ended[i])))
      try:
        _set_inputs(interpreter, inputs, rng)
        run = []
        gc.disable()
        try:
          for _ in range(avg_between):
            start = time.perf_counter_ns()
            interpreter.invoke()
            run.append((time.perf_counter_ns() - start) * 1e-9)
        finally:
          gc.enable()
      except (RuntimeError, ValueError) as e:
        results[i] = e
        del active[i]
        continue
      results[i].append(run)
      ended[i] = time.perf_counter()
  return results


def _set_inputs(interpreter, inputs: list, rng: np.random.Generator) -> None:
  """A fresh random value in every input tensor."""
  for detail in inputs:
    interpreter.set_tensor(detail['index'], random_input(detail, rng))


class _Job:
  """One model's timing; requests with the same id (and so the same model and settings) share it."""

  def __init__(self, digest: str = ''):
    self.digest = digest
    self.done = threading.Event()
    self.status, self.payload = 500, {'error': 'the job did not finish'}


class _Refusal(Exception):

  def __init__(self, status: int, message: str, close: bool = False):
    super().__init__(message)
    self.status, self.close = status, close


class MeasurementServer(http_server.ThreadingHTTPServer):
  """A thread per connection; one model timed at a time; finished jobs kept by id for retries."""
  daemon_threads = True
  keep_jobs = 256

  def __init__(self, address, token: Optional[str], limits: Limits):
    self.token, self.limits = token, limits
    self.address_family = socket.AF_INET6 if ':' in address[0] else socket.AF_INET
    self.device_lock, self.jobs_lock = threading.Lock(), threading.Lock()
    self.jobs = collections.OrderedDict()
    super().__init__(address, _Handler)

  def job(self, job_id: Optional[str], digest: str):
    """(job, True if this request must run it); an id already bound to another request is refused (409)."""
    if job_id is None:
      return _Job(digest), True
    with self.jobs_lock:
      if job_id in self.jobs:
        job = self.jobs[job_id]
        if not hmac.compare_digest(job.digest, digest):
          raise _Refusal(409, f'request id {job_id!r} belongs to another model or other settings; use a new id')
        self.jobs.move_to_end(job_id)
        return job, False
      job = self.jobs[job_id] = _Job(digest)
      while len(self.jobs) > self.keep_jobs:
        self.jobs.popitem(last=False)
      return job, True


class _Handler(http_server.BaseHTTPRequestHandler):
  server: MeasurementServer

  def setup(self):
    self.timeout = self.server.limits.request_timeout  # applied to the socket by StreamRequestHandler.setup
    super().setup()

  def handle(self):
    if isinstance(self.connection, ssl.SSLSocket):
      try:  # the TLS handshake, in this connection's thread and under its timeout
        self.connection.do_handshake()
      except (ssl.SSLError, TimeoutError, socket.timeout, ConnectionError, OSError):
        self.close_connection = True
        return
    super().handle()

  def _reply(self, status: int, payload: dict, close: bool = False):
    body = json.dumps(payload).encode()
    self.send_response(status)
    self.send_header('Content-Type', 'application/json')
    self.send_header('Content-Length', str(len(body)))
    if close:
      self.send_header('Connection', 'close')
      self.close_connection = True
    self.end_headers()
    self.wfile.write(body)

  def _authorize(self):
    token = self.server.token
    if token is None:
      return
    sent = self.headers.get('Authorization', '')
    expected = f'Bearer {token}'
    if not hmac.compare_digest(sent.encode('utf-8', 'replace'), expected.encode('utf-8')):
      raise _Refusal(401, 'missing or wrong token (send Authorization: Bearer <token>; the client reads it from '
                     f'config.runner.token_file or {TOKEN_ENV})')

  def _body(self) -> bytes:
    """The request body, read whole; refusals for a missing, malformed or oversized Content-Length."""
    raw = self.headers.get('Content-Length')
    if raw is None:
      raise _Refusal(411, 'Content-Length is required', close=True)
    if not raw.strip().isdigit():
      raise _Refusal(400, f'bad Content-Length {raw!r}', close=True)
    length = int(raw)
    if length > self.server.limits.max_body_bytes:
      raise _Refusal(413, f'model of {length / 2**20:.1f} MiB is over the server limit of '
                     f'{self.server.limits.max_body_mb:g} MiB (--max_body_mb)', close=True)
    body = self.rfile.read(length)
    if len(body) != length:
      raise _Refusal(400, f'body ended after {len(body)} of {length} bytes', close=True)
    return body

  def _handle(self, respond):
    try:
      self._authorize()
      respond()
    except _Refusal as e:
      self._reply(e.status, {'error': str(e)}, e.close)
    except (TimeoutError, socket.timeout, ConnectionError):
      self.close_connection = True  # the client went silent or away mid-request: drop it, others are unaffected

  def do_GET(self):  # pylint: disable=invalid-name
    def respond():
      if urllib.parse.urlparse(self.path).path != '/ping':
        raise _Refusal(404, f'unknown path {self.path}')
      self._reply(200, {'interpreter': INTERPRETER, 'version': getattr(tflite, '__version__', 'unknown'),
                        'limits': dataclasses.asdict(self.server.limits), 'device': machine_info()})
    self._handle(respond)

  def do_POST(self):  # pylint: disable=invalid-name
    def respond():
      url = urllib.parse.urlparse(self.path)
      if url.path != '/measure':
        raise _Refusal(404, f'unknown path {url.path}', close=True)
      model = self._body()  # read before any other refusal, so the client sees the answer, not a broken pipe
      query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
      job_id = query.pop('id', None)
      if job_id is not None and not _JOB_ID.fullmatch(job_id):
        raise _Refusal(400, f'bad request id {job_id!r} (1-64 letters, digits, - or _)')
      try:
        settings = check_settings(query, self.server.limits)
      except ValueError as e:
        raise _Refusal(400, str(e)) from None
      if not model:
        raise _Refusal(400, 'empty model body')
      digest = hashlib.sha256(model + json.dumps(settings, sort_keys=True).encode()).hexdigest()
      job, run_it = self.server.job(job_id, digest)
      if run_it:
        self._run(job, model, settings)
      job.done.wait()
      self._reply(job.status, job.payload)
    self._handle(respond)

  def _run(self, job: _Job, model: bytes, settings: dict):
    try:
      with self.server.device_lock:  # one model at a time on the device
        timings = time_model(model, **settings, max_tensor_bytes=int(self.server.limits.max_tensor_mb * 2**20))
      job.status, job.payload = 200, {'timings': timings}
    except MemoryError as e:
      job.status, job.payload = 413, {'error': str(e)}
    except (ValueError, RuntimeError) as e:
      job.status, job.payload = 400, {'error': f'{type(e).__name__}: {e}'}
    finally:
      job.done.set()

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    pass


def _read(path: Path) -> str:
  try:
    return path.read_text().strip()
  except OSError:
    return ''


def machine_info() -> dict:
  """This machine as a timing sees it (Linux; fields it cannot read are left empty): CPU model, threads, the
  cpufreq governors and current frequencies (MHz), and the thermal zones' temperatures (degrees C)."""
  cpu = next((line.split(':', 1)[1].strip() for line in _read(Path('/proc/cpuinfo')).splitlines()
              if line.startswith(('model name', 'Hardware'))), '')
  cpufreq = sorted(Path('/sys/devices/system/cpu').glob('cpu[0-9]*/cpufreq'))
  temperatures = [_read(p) for p in sorted(Path('/sys/class/thermal').glob('thermal_zone*/temp'))]
  return {'cpu': cpu, 'threads': os.cpu_count(),
          'governors': sorted({_read(p / 'scaling_governor') for p in cpufreq} - {''}),
          'frequencies_mhz': [int(f) // 1000 for p in cpufreq if (f := _read(p / 'scaling_cur_freq')).isdigit()],
          'temperatures_c': [int(t) / 1000 for t in temperatures if t.lstrip('-').isdigit()]}


def is_loopback(host: str) -> bool:
  """True when every address `host` names is a loopback one (127.0.0.0/8, ::1, localhost)."""
  try:
    return ipaddress.ip_address(host.strip('[]')).is_loopback
  except ValueError:
    pass
  try:
    addresses = {info[4][0].split('%')[0] for info in socket.getaddrinfo(host, None)}
  except OSError:
    return False
  return bool(addresses) and all(ipaddress.ip_address(address).is_loopback for address in addresses)


def check_token(token: str, source: str) -> str:
  """`token` stripped of surrounding whitespace; refused when shorter than MIN_TOKEN_CHARS."""
  token = token.strip()
  if len(token) < MIN_TOKEN_CHARS:
    raise ValueError(f'the token from {source} has {len(token)} characters (whitespace stripped); a token needs '
                     f'at least {MIN_TOKEN_CHARS}: python -c "import secrets; print(secrets.token_urlsafe(32))"')
  if any(character.isspace() or not character.isprintable() for character in token):
    raise ValueError(f'the token from {source} holds whitespace or unprintable characters; use letters, digits '
                     'and punctuation only')
  return token


def read_token(token_file: str = '') -> Optional[str]:
  """The shared token from a file or, without one, the EAGLE_JAX_MEASURE_TOKEN variable (None when neither);
  a file others can read or write is refused."""
  if token_file:
    path = Path(token_file).expanduser()
    if not path.is_file():
      raise FileNotFoundError(f'token file {path} does not exist')
    mode = path.stat().st_mode & 0o777
    if os.name == 'posix' and mode & 0o077:
      raise PermissionError(f'token file {path} is open to others (mode {mode:o}): chmod 600 {path}')
    return check_token(path.read_text(), f'token file {path}')
  if TOKEN_ENV not in os.environ:
    return None
  return check_token(os.environ[TOKEN_ENV], TOKEN_ENV)


def serve(host: str = '127.0.0.1', port: int = 0, token: Optional[str] = None,
          limits: Limits = Limits(), tls_cert: str = '', tls_key: str = '') -> MeasurementServer:
  """A server bound to host:port (port 0 picks a free one); call serve_forever() on it. Any address but
  loopback needs a token; with `tls_cert` and `tls_key` (PEM files) it serves HTTPS."""
  if token is None and not is_loopback(host):
    raise ValueError(f'refusing to listen on {host} without a token: anyone on the network could run models on '
                     f'this device. Put a shared secret in a file (--token_file) or in {TOKEN_ENV}')
  if not (isinstance(port, int) and 0 <= port < 65536):
    raise ValueError(f'--port must be 0-65535 (0: any free port), got {port!r}')
  if token is not None:
    token = check_token(token, 'the server settings')
  if bool(tls_cert) != bool(tls_key):
    raise ValueError('TLS needs both --tls_cert and --tls_key (PEM files)')
  context = None
  if tls_cert:
    for path in (tls_cert, tls_key):
      if not Path(path).is_file():
        raise FileNotFoundError(f'TLS file {path} does not exist')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
      context.load_cert_chain(tls_cert, tls_key)
    except ssl.SSLError as e:
      raise ValueError(f'--tls_cert {tls_cert} / --tls_key {tls_key} are not a PEM certificate and its key: '
                       f'{e}') from None
  httpd = MeasurementServer((host, port), token, limits)
  if context is not None:
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
  return httpd


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--host', default='127.0.0.1', help='address to listen on (others need a token)')
  parser.add_argument('--port', type=int, default=8765)
  parser.add_argument('--token_file', default='', help=f'file holding the shared token (else ${TOKEN_ENV})')
  parser.add_argument('--tls_cert', default='', help='PEM certificate: serve HTTPS (with --tls_key)')
  parser.add_argument('--tls_key', default='', help='PEM private key of --tls_cert')
  defaults = Limits()
  for field in dataclasses.fields(Limits):
    parser.add_argument(f'--{field.name}', type=field.type if callable(field.type) else type(field.default),
                        default=getattr(defaults, field.name))
  args = parser.parse_args()
  try:
    limits = Limits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Limits)})
    httpd = serve(args.host, args.port, read_token(args.token_file), limits, args.tls_cert, args.tls_key)
  except (ValueError, OSError) as e:
    parser.exit(2, f'error: {e}\n')
  print(f'measurement server ({INTERPRETER}) on {"https" if args.tls_cert else "http"}://{args.host}:'
        f'{httpd.server_address[1]}{" (token required)" if httpd.token else ""}', flush=True)
  try:
    httpd.serve_forever()
  except KeyboardInterrupt:
    pass
  finally:
    httpd.server_close()


if __name__ == '__main__':
  main()
