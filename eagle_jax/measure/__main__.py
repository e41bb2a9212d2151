"""Measures NB201 latency on the local CPU or a remote device.

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench201.py --workdir=DIR [--config.key=value]
then: python -m eagle_jax.data stats --input=DIR/results --output=latency.pickle
"""
import json

from absl import app, flags
from ml_collections import config_flags

from eagle_jax import cli
from eagle_jax.measure import driver

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where result shards, plan and summary are written.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Measurement config file.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  print(json.dumps(driver.measure(_CONFIG.value, _WORKDIR.value), indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  cli.run(main)
