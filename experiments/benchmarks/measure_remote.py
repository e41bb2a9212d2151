"""Benchmark: what the hardened measurement server costs. The same seeded NB201 archs measured by the driver
(1) with the local runner (the simplest alternative: no server), (2) through one loopback server with a token,
(3) through a farm of two loopback servers sharing the plan. On a 2-core machine the farm's two servers compete
with each other and with the conversion worker, so (3) shows the farm path works, not a device farm's speed-up.

python experiments/benchmarks/measure_remote.py --num_archs=10   (writes measure_remote.json)
"""
import contextlib
import json
import secrets
import sys
import tempfile
import threading
from pathlib import Path

from absl import app, flags

from eagle_jax import files
from eagle_jax.measure import driver, server

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.measure import desktop_nasbench201  # pylint: disable=g-import-not-at-top,wrong-import-position

_NUM = flags.DEFINE_integer('num_archs', 10, 'Models measured by each method.')
FIELDS = ('models_per_hour', 'convert_seconds', 'timing_seconds', 'wall_seconds', 'measured')


@contextlib.contextmanager
def loopback_servers(count: int, token: str):
  servers = [server.serve('127.0.0.1', 0, token) for _ in range(count)]
  threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
  for thread in threads:
    thread.start()
  try:
    yield [s.server_address[1] for s in servers]
  finally:
    for s, thread in zip(servers, threads):
      s.shutdown()
      s.server_close()
      thread.join()


def main(argv):
  del argv
  token = secrets.token_hex(16)
  out = {'machine': machine.describe(), 'models': _NUM.value}
  for name, servers in (('local', 0), ('remote_1_server', 1), ('farm_2_servers', 2)):
    config = desktop_nasbench201.get_config()
    config.num_archs, config.seed = _NUM.value, 123
    with loopback_servers(servers, token) as ports, tempfile.TemporaryDirectory() as workdir, \
        tempfile.NamedTemporaryFile('w', suffix='.token') as token_file:
      token_file.write(token)
      token_file.flush()
      if ports:
        config.runner.update(kind='remote', devices=','.join(f'127.0.0.1:{p}' for p in ports), farm=True,
                             token_file=token_file.name)
      summary = driver.measure(config, workdir, progress=False)
    out[name] = {k: summary.get(k) for k in FIELDS}
    print(name, out[name], flush=True)
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  app.run(main)
