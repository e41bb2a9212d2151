"""Runners behind one interface: `run(model_bytes) -> timings` (runs x avg_between seconds).

`local` times on this machine with LiteRT; `remote` sends the model to `python -m eagle_jax.measure.server` on
the target device, with timeouts, retries and clear errors."""
import dataclasses
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import ml_collections

from eagle_jax.measure import server


@dataclasses.dataclass
class TimingSettings:
  threads: int = 1
  runs: int = 100
  avg_between: int = 10
  interval: float = 0.01
  warmup: int = 10
  xnnpack: bool = True
  seed: int = 0


class LocalRunner:
  """LiteRT on this machine."""

  def __init__(self, settings: TimingSettings):
    self.settings = settings

  def describe(self) -> str:
    return f'local {server.INTERPRETER}'

  def run(self, model: bytes) -> list:
    return server.time_model(model, **dataclasses.asdict(self.settings))


class RemoteRunner:
  """The measurement server on a device at host:port."""

  def __init__(self, settings: TimingSettings, host: str, port: int, timeout: float = 60.0, retries: int = 3):
    self.settings, self.timeout, self.retries = settings, timeout, retries
    self.base = f'http://{host}:{port}'

  def describe(self) -> str:
    return f'remote {self.base}'

  def _request(self, request: urllib.request.Request) -> dict:
    last_error = None
    for attempt in range(self.retries):
      try:
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
          return json.loads(response.read())
      except urllib.error.HTTPError as e:  # the server answered: the model or settings are bad, no retry
        raise RuntimeError(f'measurement server {self.base} refused the request: '
                           f'{json.loads(e.read() or b"{}").get("error", e.reason)}') from e
      except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        last_error = e
        time.sleep(min(2 ** attempt * 0.2, 5))
    raise ConnectionError(f'measurement server {self.base} unreachable after {self.retries} tries '
                          f'(timeout {self.timeout}s): {last_error}')

  def ping(self) -> dict:
    return self._request(urllib.request.Request(f'{self.base}/ping'))

  def run(self, model: bytes) -> list:
    query = urllib.parse.urlencode({k: int(v) if isinstance(v, bool) else v
                                    for k, v in dataclasses.asdict(self.settings).items()})
    request = urllib.request.Request(f'{self.base}/measure?{query}', data=model, method='POST',
                                     headers={'Content-Type': 'application/octet-stream'})
    return self._request(request)['timings']


def make_runner(config: ml_collections.ConfigDict):
  """The runner named by config.kind ('local' or 'remote')."""
  settings = TimingSettings(threads=config.threads, runs=config.runs, avg_between=config.avg_between,
                            interval=config.interval, warmup=config.warmup, xnnpack=config.xnnpack)
  if config.kind == 'local':
    return LocalRunner(settings)
  if config.kind == 'remote':
    if not config.host:
      raise ValueError('config.runner.host must name the device for a remote runner')
    return RemoteRunner(settings, config.host, config.port, config.timeout, config.retries)
  raise ValueError(f"config.runner.kind must be 'local' or 'remote', got {config.kind!r}")
