"""Ranks a candidate set with a trained predictor: the whole enumerated space, or `--candidates` sampled from the
space (seeded; DARTS: `--sampler=fast|eagle`), streamed in chunks and scored on every local device; with
`--num_processes` > 1, over several processes or hosts (`jax.distributed`), each scoring its share.

python -m eagle_jax.rank --predictor=runs/acc_darts --candidates=10000000 --seed=0 --output=runs/top_darts
On each of N hosts (process_id 0..N-1; the coordinator is process 0's host):
python -m eagle_jax.rank --predictor=... --candidates=10000000 --output=... \
    --coordinator=HOST0:7777 --num_processes=N --process_id=I
Writes <output>/top.csv (rank, position in the stream, score, arch_str; process 0 only) and summary.json.
"""
import csv
import io
import json
from pathlib import Path

import jax
from absl import app, flags

from eagle_jax import cli, files
from eagle_jax.predictors import inference, ranking

_PREDICTOR = flags.DEFINE_string('predictor', None, 'A train workdir (or its checkpoint).')
_CANDIDATES = flags.DEFINE_integer('candidates', 0, 'Candidates sampled from the space (0: the whole space).',
                                    lower_bound=0)
_SEED = flags.DEFINE_integer('seed', 0, 'Sampling seed.')
_SAMPLER = flags.DEFINE_enum('sampler', 'fast', ['fast', 'eagle'], "DARTS sampler ('eagle': Eagle's exact sequence).")
_CHUNK = flags.DEFINE_integer('chunk', 100_000, 'Candidates drawn per chunk (the unit of work of a process).',
                               lower_bound=1)
_TOP_K = flags.DEFINE_integer('top_k', 1000, 'Best candidates kept and written.', lower_bound=1)
_OUTPUT = flags.DEFINE_string('output', None, 'Folder for top.csv and summary.json.')
_COORDINATOR = flags.DEFINE_string('coordinator', '', 'host:port of process 0, for --num_processes > 1.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', 1, 'Processes in the run (hosts, or processes on one).',
                                      lower_bound=1)
_PROCESS_ID = flags.DEFINE_integer('process_id', 0, 'This process, 0..num_processes - 1.', lower_bound=0)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  output = Path(_OUTPUT.value)
  if output.exists() and not output.is_dir():
    raise ValueError(f'--output={output} is a file; give a folder for top.csv and summary.json')
  if _PROCESS_ID.value >= _NUM_PROCESSES.value:
    raise ValueError(f'--process_id={_PROCESS_ID.value} must be below --num_processes={_NUM_PROCESSES.value}')
  if _NUM_PROCESSES.value > 1:
    if not _COORDINATOR.value:
      raise app.UsageError('--num_processes > 1 needs --coordinator=HOST:PORT (process 0)')
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  predictor = inference.load(_PREDICTOR.value)
  space = predictor.space
  make_chunks = ranking.candidate_stream(space, _CANDIDATES.value, _SEED.value, _SAMPLER.value, _CHUNK.value)
  ranked = ranking.rank_across_processes(predictor, make_chunks, _TOP_K.value,
                                         total=_CANDIDATES.value or None, progress=True)
  if jax.process_index() != 0:
    return
  table = io.StringIO()
  writer = csv.writer(table, lineterminator='\n')
  writer.writerow(['rank', 'position', 'score', 'arch_str'])
  for rank, (position, score, key) in enumerate(zip(ranked.top, ranked.top_scores, ranked.top_keys)):
    writer.writerow([rank, int(position), repr(float(score)), space.to_str(space.hashable([key])[0])])
  output.mkdir(parents=True, exist_ok=True)
  files.atomic_write_text(output / 'top.csv', table.getvalue())
  summary = {'predictor': _PREDICTOR.value, 'space': space.reference, 'candidates': int(len(ranked.scores)),
             'seed': _SEED.value, 'sampler': _SAMPLER.value, 'top_k': int(len(ranked.top)),
             'processes': jax.process_count(), 'devices': jax.device_count(), 'seconds': ranked.seconds}
  files.atomic_write_text(output / 'summary.json', json.dumps(summary, indent=2) + '\n')
  print(json.dumps(summary, indent=2))


if __name__ == '__main__':
  flags.mark_flags_as_required(['predictor', 'output'])
  cli.run(main)
