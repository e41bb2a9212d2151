"""Zero-cost proxies of a space's archs (resumable: run the same command again after a kill).

python -m eagle_jax.proxies --config=configs/proxies/nasbench201.py --workdir=runs/zc [--config.key=value]
"""
import json

from absl import app, flags
from ml_collections import config_flags

from eagle_jax import cli
from eagle_jax.proxies import compute

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where proxies.csv, one pickle per proxy and summary.json go.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Proxies config file.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  print(json.dumps(compute.compute(_CONFIG.value, _WORKDIR.value), indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  cli.run(main)
