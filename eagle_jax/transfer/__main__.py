"""Latency on a new device from K measurements (HELP's setting).

python -m eagle_jax.transfer --config=configs/transfer/help_nasbench201.py --workdir=DIR
  1. pre-trains on the source devices (kept in DIR/pretrained) and writes DIR/to_measure.txt: the K models to
     measure, ready for `python -m eagle_jax.measure --config.archs=list --config.arch_list=DIR/to_measure.txt`;
  2. with --config.data.measurement=LATENCY_FILE (those models' latencies on the device) it adapts and writes a
     predictor into DIR that `predictors.load` and the search's latency limit accept;
  3. with --config.benchmark=True, data.measurement is the device's full table: only the K chosen models are read,
     every other model scores the predictor (DIR/metrics.json, DIR/scatter.png).
"""
import json

from absl import app, flags
from ml_collections import config_flags

from eagle_jax import cli
from eagle_jax.transfer import job

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where the pre-trained model, to_measure.txt and the predictor go.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Transfer config file.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  print(json.dumps(job.run(_CONFIG.value, _WORKDIR.value), indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  cli.run(main)
