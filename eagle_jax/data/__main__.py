"""Dataset tools.

python -m eagle_jax.data combine   --input=SHARD_DIR --output=combined.pickle [--pattern='results*.pickle']
python -m eagle_jax.data stats     --input=SHARD_DIR_or_combined.pickle --output=latency.pickle
python -m eagle_jax.data normalize --input=latency.pickle --output=latency_norm.pickle   (+ .minmax.json)
python -m eagle_jax.data convert   --input=latency.pickle --output=latency.csv   (.pickle/.pkl, .csv, .npz)
python -m eagle_jax.data info      --input=FILE
python -m eagle_jax.data fetch NAME --output=DIR [--mirror=URL]   (a public dataset, SHA-256 checked; NAMES below)

--space=nasbench101 reads NB101 files: Eagle's {hash: value} pickles, NASLib's zero-cost JSON, NAS-Bench-101's
tfrecords (e.g. convert --input=nasbench_only108.tfrecord --output=nb101_val.pickle [--column=test_accuracy]).
--space=nasbench_asr reads NAS-Bench-ASR's pickles (training, benchmarking, static) and folders of its training
files (the mean over seeds: convert --input=NB_ASR_FOLDER --output=nbasr_inv_avg_val_per.pickle).
"""
import json
from pathlib import Path

from absl import app, flags

from eagle_jax import cli, spaces
from eagle_jax.data import fetch
from eagle_jax.data import formats
from eagle_jax.data import tools

_INPUT = flags.DEFINE_string('input', None, 'Input file or folder.')
_OUTPUT = flags.DEFINE_string('output', None, 'Output file (never overwritten unless --overwrite).')
_PATTERN = flags.DEFINE_string('pattern', 'results*.pickle', 'Glob of result shards inside --input.')
_COLUMN = flags.DEFINE_string('column', None, 'Value column of a CSV input.')
_OVERWRITE = flags.DEFINE_bool('overwrite', False, 'Replace an existing output.')
_SPACE = flags.DEFINE_string('space', spaces.DEFAULT, 'Search space of the architectures in the files (a name, or '
                             'MODULE:ATTRIBUTE for your own).')
_MIRROR = flags.DEFINE_string('mirror', '', 'fetch: a base URL (https:// or file://) holding the files instead of '
                              'their origins.')
COMMANDS = ('combine', 'stats', 'normalize', 'convert', 'info', 'fetch')


def _entries(source: Path) -> list:
  if source.is_dir():
    return tools.combine(tools.shard_paths(source, _PATTERN.value), _SPACE.value)
  return tools.read_shard(source, _SPACE.value)


def run(command: str, source: Path, output) -> dict:
  """Runs one tool; returns what it reports."""
  if command == 'info':
    return tools.describe(source, _SPACE.value, _COLUMN.value)
  if output is None:
    raise app.UsageError(f'{command} needs --output')
  if command == 'combine':
    paths = tools.shard_paths(source, _PATTERN.value)
    if not paths:
      raise ValueError(f'no files matching {_PATTERN.value!r} in {source}')
    combined = tools.combine(paths, _SPACE.value)
    formats.write_pickle(combined, output, _OVERWRITE.value)
    return {'files': len(paths), 'entries': len(combined), 'output': output}
  if command == 'stats':
    reduced, counts = tools.stats(_entries(source))
    if not reduced:
      raise ValueError(f'{source}: no valid measurements ({counts})')
    formats.write_measurements(reduced, output, _SPACE.value, _OVERWRITE.value)
    return {**counts, 'output': output}
  mapping = formats.read_measurements(source, _SPACE.value, _COLUMN.value)
  if command == 'normalize':
    constants = tools.write_normalized(mapping, output, _SPACE.value, _OVERWRITE.value)
    return {**constants, 'output': output, 'constants': str(tools.constants_path(output))}
  formats.write_measurements(mapping, output, _SPACE.value, _OVERWRITE.value)
  return {'entries': len(mapping), 'output': output}


def main(argv):
  if len(argv) == 3 and argv[1] == 'fetch':
    if _OUTPUT.value is None:
      raise app.UsageError('fetch needs --output (the folder to write into, e.g. $EAGLE_JAX_DATA)')
    print(json.dumps(fetch.fetch(argv[2], _OUTPUT.value, _MIRROR.value), indent=2))
    return
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f'usage: python -m eagle_jax.data {{{"|".join(COMMANDS[:-1])}}} --input=... [--output=...], '
                         f'or fetch {{{"|".join(fetch.sources())}}} --output=DIR')
  if _INPUT.value is None:
    raise app.UsageError('--input is required')
  print(json.dumps(run(argv[1], Path(_INPUT.value), _OUTPUT.value), indent=2))


def entry_point():
  cli.run(main)


if __name__ == '__main__':
  entry_point()
