"""Trains a latency or accuracy predictor.

python -m eagle_jax.train --config=configs/predictors/<name>.py --workdir=DIR [--config.key=value ...]

Kept short: the logic lives in eagle_jax.predictors.experiment, importable from tests and notebooks.
"""
import json

from absl import app, flags, logging
from ml_collections import config_flags

from eagle_jax import cli
from eagle_jax.predictors import experiment

_WORKDIR = flags.DEFINE_string('workdir', None, 'Where metrics, predictions, checkpoint and plot are written.')
_OVERWRITE = flags.DEFINE_bool('overwrite', False, 'Replace the outputs of an earlier run in --workdir.')
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Predictor config file.', lock_config=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  result = experiment.train_and_evaluate(_CONFIG.value, _WORKDIR.value, _OVERWRITE.value)
  summary = {k: v for k, v in result.items() if k != 'repeats'}
  logging.info('metrics: %s', summary)
  print(json.dumps(summary, indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['config', 'workdir'])
  cli.run(main)
