"""Measurement server for a target device: receives a .tflite model over HTTP, times it, returns raw timings.

python -m eagle_jax.measure.server --host=0.0.0.0 --port=8765

Needs only numpy and a TFLite interpreter: `ai-edge-litert`, or `tflite-runtime` on older boards and Python
versions; this file can be copied to the device alone and run as `python server.py --host ... --port ...`.
Endpoints: GET /ping -> {"interpreter": ..., "version": ...}; POST /measure?threads=&runs=&avg_between=
&interval=&warmup=&xnnpack= with the model bytes as body -> {"timings": [[seconds, ...], ...]}.
"""
import argparse
import gc
import json
import threading
import time
import urllib.parse
from http import server as http_server

import numpy as np

try:
  from ai_edge_litert import interpreter as tflite  # pylint: disable=g-import-not-at-top
  INTERPRETER = 'ai_edge_litert'
except ImportError:  # pragma: no cover - devices without LiteRT
  from tflite_runtime import interpreter as tflite  # pylint: disable=g-import-not-at-top
  INTERPRETER = 'tflite_runtime'

_SETTINGS = {'threads': int, 'runs': int, 'avg_between': int, 'interval': float, 'warmup': int, 'xnnpack': int,
             'seed': int}


def make_interpreter(model: bytes, threads: int = 1, xnnpack: bool = True):
  resolver = (tflite.OpResolverType.AUTO if xnnpack else tflite.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
  interpreter = tflite.Interpreter(model_content=model, num_threads=threads, experimental_op_resolver_type=resolver)
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
               warmup: int = 10, xnnpack: bool = True, seed: int = 0) -> list:
  """`runs` lists of `avg_between` invoke() times in seconds (perf_counter_ns, GC off within a run), after
  `warmup` untimed invokes; a fresh input per run and `interval` seconds of sleep between runs."""
  if min(threads, runs, avg_between) < 1 or warmup < 0 or interval < 0:
    raise ValueError(f'bad timing settings: threads={threads} runs={runs} avg_between={avg_between} '
                     f'warmup={warmup} interval={interval}')
  interpreter = make_interpreter(model, threads, xnnpack)
  detail = interpreter.get_input_details()[0]
  rng = np.random.default_rng(seed)
  interpreter.set_tensor(detail['index'], random_input(detail, rng))
  for _ in range(warmup):
    interpreter.invoke()
  timings = []
  for _ in range(runs):
    interpreter.set_tensor(detail['index'], random_input(detail, rng))
    run = []
    gc.disable()
    try:
      for _ in range(avg_between):
        start = time.perf_counter_ns()
        interpreter.invoke()
        run.append((time.perf_counter_ns() - start) * 1e-9)
    finally:
      gc.enable()
    timings.append(run)
    time.sleep(interval)
  return timings


class _Handler(http_server.BaseHTTPRequestHandler):
  lock = threading.Lock()

  def _reply(self, status: int, payload: dict):
    body = json.dumps(payload).encode()
    self.send_response(status)
    self.send_header('Content-Type', 'application/json')
    self.send_header('Content-Length', str(len(body)))
    self.end_headers()
    self.wfile.write(body)

  def do_GET(self):  # pylint: disable=invalid-name
    if urllib.parse.urlparse(self.path).path != '/ping':
      return self._reply(404, {'error': f'unknown path {self.path}'})
    return self._reply(200, {'interpreter': INTERPRETER, 'version': getattr(tflite, '__version__', 'unknown')})

  def do_POST(self):  # pylint: disable=invalid-name
    url = urllib.parse.urlparse(self.path)
    if url.path != '/measure':
      return self._reply(404, {'error': f'unknown path {url.path}'})
    try:
      query = urllib.parse.parse_qs(url.query)
      unknown = set(query) - set(_SETTINGS)
      if unknown:
        raise ValueError(f'unknown settings {sorted(unknown)}')
      settings = {k: _SETTINGS[k](v[0]) for k, v in query.items()}
      model = self.rfile.read(int(self.headers.get('Content-Length', 0)))
      if not model:
        raise ValueError('empty model body')
      with self.lock:  # one model at a time on the device
        timings = time_model(model, **settings)
    except (ValueError, RuntimeError) as e:
      return self._reply(400, {'error': f'{type(e).__name__}: {e}'})
    return self._reply(200, {'timings': timings})

  def log_message(self, format, *args):  # pylint: disable=redefined-builtin
    pass


def serve(host: str, port: int) -> http_server.HTTPServer:
  """A server bound to host:port (port 0 picks a free one); call serve_forever() on it."""
  return http_server.HTTPServer((host, port), _Handler)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--host', default='0.0.0.0')
  parser.add_argument('--port', type=int, default=8765)
  args = parser.parse_args()
  httpd = serve(args.host, args.port)
  print(f'measurement server ({INTERPRETER}) on {args.host}:{httpd.server_address[1]}', flush=True)
  httpd.serve_forever()


if __name__ == '__main__':
  main()
