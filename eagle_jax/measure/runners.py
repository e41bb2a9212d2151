"""Runners behind one interface: `run(model_bytes) -> timings` (runs x avg_between seconds).

`local` times on this machine with LiteRT; `remote` sends the model to `python -m eagle_jax.measure.server` on
the target device, with timeouts, retries and clear errors; `adb` pushes it to an Android phone and times it with
TensorFlow Lite's benchmark_model (measure/adb.py)."""
import dataclasses
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Optional

import ml_collections

from eagle_jax.measure import adb, server, timing


class LocalRunner(timing.Runner):
  """LiteRT on this machine; `together` models are timed in turn, run by run (server.time_models)."""

  def __init__(self, settings: timing.TimingSettings, together: int = 1):
    self.settings, self.together = settings, together

  name = 'local'

  def describe(self) -> str:
    return f'local {server.INTERPRETER}' + (f', {self.together} models in turn' if self.together > 1 else '')

  def check(self) -> None:
    """Nothing to reach: this machine."""

  def device(self) -> dict:
    return server.machine_info()

  def run(self, model: bytes) -> list:
    return server.time_model(model, **dataclasses.asdict(self.settings))

  def run_together(self, models: list) -> list:
    return server.time_models(models, **dataclasses.asdict(self.settings))


class RemoteRunner(timing.Runner):
  """The measurement server on a device at host:port.

  Each model is sent with a fresh request id; after a timeout the same id is sent again, so the server hands back
  the job it is still timing instead of queueing a copy. Retries back off exponentially (riding out a restart);
  in the end a server that never answered in time ("slow") is told apart from one that could not be reached.
  """

  def __init__(self, settings: timing.TimingSettings, host: str, port: int, timeout: float = 60.0, retries: int = 5,
               token: Optional[str] = None, backoff: float = 1.0, tls_ca: str = ''):
    self.settings, self.timeout, self.retries, self.token, self.backoff = settings, timeout, retries, token, backoff
    self.host, self.port = host, port
    self.base = f'{"https" if tls_ca else "http"}://{f"[{host}]" if ":" in host else host}:{port}'
    self._tls = None
    if tls_ca:  # HTTPS, the server's certificate verified against this CA (or self-signed certificate) file
      try:
        self._tls = ssl.create_default_context(cafile=tls_ca)
      except (OSError, ssl.SSLError) as e:
        raise ValueError(f'config.runner.tls_ca {tls_ca} is not a PEM certificate file: {e}') from None
    self._limits = None

  @property
  def name(self) -> str:
    return f'{self.host}_{self.port}'

  def describe(self) -> str:
    return f'remote {self.base}'

  def check(self) -> None:
    """Reaches the server (an unreachable device or a wrong token fails here, before any work)."""
    self.limits()

  def device(self) -> dict:
    """The device as its server describes it now (servers before the device record: {})."""
    return self.ping().get('device', {})

  def _request(self, path: str, data: Optional[bytes] = None) -> dict:
    headers = {'Authorization': f'Bearer {self.token}'} if self.token else {}
    if data is not None:
      headers['Content-Type'] = 'application/octet-stream'
    slow, last_error = 0, None
    for attempt in range(self.retries):
      if attempt:
        time.sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))
      request = urllib.request.Request(f'{self.base}{path}', data=data, headers=headers,
                                       method='GET' if data is None else 'POST')
      try:
        with urllib.request.urlopen(request, timeout=self.timeout, context=self._tls) as response:
          return json.loads(response.read())
      except urllib.error.HTTPError as e:
        if e.code in (401, 403):  # not a model's fault: the whole run must stop
          raise PermissionError(f'measurement server {self.base} refused the token ({e.code}): {_error_text(e)}') from e
        if e.code < 500:  # the server answered: the model or its settings are bad; no retry
          raise RuntimeError(f'measurement server {self.base} refused the request ({e.code}): '
                             f'{_error_text(e)}') from e
        last_error = e
      except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        reason = getattr(e, 'reason', e)
        if isinstance(reason, ssl.SSLError):  # a certificate or protocol mismatch does not heal by retrying
          raise ConnectionError(f'measurement server {self.base}: TLS failed ({reason}); check config.runner.tls_ca '
                                'and that the server runs with --tls_cert') from e
        slow += isinstance(reason, (TimeoutError, socket.timeout))
        last_error = e
    if slow:
      raise ServerTooSlowError(
          f'measurement server {self.base} did not answer within {self.timeout:g} s on {slow} of {self.retries} '
          f'tries (it is reachable but still busy: raise config.runner.timeout); last error: {last_error}')
    raise ConnectionError(f'measurement server {self.base} unreachable after {self.retries} tries '
                          f'(timeout {self.timeout:g} s): {last_error}')

  def ping(self) -> dict:
    return self._request('/ping')

  def limits(self) -> dict:
    """The server's request limits (asked once)."""
    if self._limits is None:
      self._limits = self.ping().get('limits', {})
    return self._limits

  def run(self, model: bytes) -> list:
    max_mb = self.limits().get('max_body_mb')
    if max_mb is not None and len(model) > max_mb * 2**20:
      raise RuntimeError(f'model of {len(model) / 2**20:.1f} MiB is over the limit of {max_mb:g} MiB of '
                         f'measurement server {self.base} (its --max_body_mb)')
    query = urllib.parse.urlencode({'id': uuid.uuid4().hex, **{k: int(v) if isinstance(v, bool) else v
                                                              for k, v in dataclasses.asdict(self.settings).items()}})
    return self._request(f'/measure?{query}', model)['timings']


class ServerTooSlowError(ConnectionError):
  """The server accepted connections but never answered in time."""


def _error_text(error: urllib.error.HTTPError) -> str:
  try:
    return json.loads(error.read() or b'{}').get('error', error.reason)
  except (ValueError, OSError):
    return str(error.reason)


def timing_settings(config: ml_collections.ConfigDict) -> timing.TimingSettings:
  """The runner config's timing settings, checked against the server's default limits."""
  raw = {name: config[name] for name in ('threads', 'runs', 'avg_between', 'interval', 'warmup', 'xnnpack')}
  try:
    checked = server.check_settings(raw)
  except ValueError as e:
    raise ValueError(f'config.runner: {e}') from None
  return timing.TimingSettings(**{**checked, 'xnnpack': bool(checked['xnnpack'])})


def device_addresses(config: ml_collections.ConfigDict) -> list:
  """[(host, port)] of config.runner.host:port, or of every 'host:port' in config.runner.devices."""
  if not config.get('devices'):
    if not config.host:
      raise ValueError('config.runner.host (or config.runner.devices) must name the device for a remote runner')
    return [(config.host, int(config.port))]
  addresses = []
  for item in str(config.devices).split(','):
    host, sep, port = item.strip().rpartition(':')
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
      raise ValueError(f'config.runner.devices: {item.strip()!r} is not host:port')
    addresses.append((host, int(port)))
  if len(set(addresses)) != len(addresses):
    raise ValueError(f'config.runner.devices names a device twice: {config.devices!r}')
  return addresses


KINDS = ('local', 'remote', 'adb')


def make_runners(config: ml_collections.ConfigDict) -> list:
  """The runners named by config.kind: one 'local', one 'remote' per device, or one 'adb' per phone (serials in
  config.serial, comma separated; empty: the only phone attached); settings checked first."""
  settings = timing_settings(config)
  if config.kind == 'local':
    together = config.get('interleave', 1)
    if isinstance(together, bool) or not isinstance(together, int) or not 1 <= together <= 8:
      raise ValueError(f'config.runner.interleave must be an integer in [1, 8], got {together!r}')
    return [LocalRunner(settings, together)]
  if config.kind == 'adb':
    serials = [s.strip() for s in str(config.get('serial', '')).split(',') if s.strip()] or ['']
    if len(set(serials)) != len(serials):
      raise ValueError(f'config.runner.serial names a phone twice: {config.serial!r}')
    return [adb.AdbRunner(settings, config.get('adb', 'adb'), serial, config.get('benchmark_model', ''),
                          config.get('device_dir', adb.DEVICE_DIR), config.get('delegate', 'xnnpack'),
                          config.timeout, config.retries) for serial in serials]
  if config.kind == 'remote':
    if not (config.timeout > 0 and config.retries >= 1):
      raise ValueError(f'config.runner.timeout ({config.timeout}) must be > 0 and config.runner.retries '
                       f'({config.retries}) >= 1')
    token = server.read_token(config.get('token_file', ''))
    return [RemoteRunner(settings, host, port, config.timeout, config.retries, token,
                         tls_ca=config.get('tls_ca', '')) for host, port in device_addresses(config)]
  raise ValueError(f'config.runner.kind must be one of {KINDS}, got {config.kind!r}')
