"""DARTS at scale on this machine: sampling 10M genotypes (fast and Eagle's sampler), the scoring throughput of the
4x600 binary GCN against a bare numpy pass of the same network over the same chunks, the peak memory of ranking
candidate sets of growing size (each in its own process, so peaks do not mix), and one ask/tell round (retrain on
100 told models, rank the candidate set, pick the next 20).

python experiments/benchmarks/rank_darts.py [--sizes=100000,300000,1000000] [--round_candidates=1000000]
Writes experiments/benchmarks/rank_darts.json (memory entries of sizes not rerun are kept). The predictor is trained on NASLib's 500 DARTS genotypes
(NAS-Bench-301 surrogate accuracies; ranking time does not depend on what it learned).
"""
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from absl import app, flags

from eagle_jax import files
from eagle_jax.predictors import batches, experiment, inference, ranking
from eagle_jax.search import asktell
from eagle_jax.spaces import darts

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
from rank_nasbench101 import numpy_scores  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.predictors import acc_gcn_darts_bin  # pylint: disable=g-import-not-at-top,wrong-import-position
from configs.search import brp_darts  # pylint: disable=g-import-not-at-top,wrong-import-position

NASLIB = Path(__file__).resolve().parents[3] / 'shared' / 'data' / 'naslib-zc-darts' / 'raw' / 'zc_nasbench301.json'
_SIZES = flags.DEFINE_list('sizes', ['100000', '300000', '1000000'], 'Candidate set sizes for the memory runs.')
_THROUGHPUT = flags.DEFINE_integer('throughput_candidates', 50_000, 'Candidates timed for the throughput.')
_ROUND = flags.DEFINE_integer('round_candidates', 1_000_000, 'Candidate set of the ask/tell round.')
_MEMORY = flags.DEFINE_integer('memory', 0, 'Child mode: rank this many candidates, print the peak memory.')
_PREDICTOR = flags.DEFINE_string('predictor', '', 'Child mode: the predictor workdir.')


def _peak_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_child(size: int, workdir: str) -> None:
  predictor = inference.load(workdir)
  ranking.rank_stream(predictor, darts.sample_chunks(batches.CHUNK, 1), top_k=10)  # compile
  before = _peak_mib()
  start = time.perf_counter()
  ranked = ranking.rank_stream(predictor, darts.sample_chunks(size, 0), top_k=1000)
  print(json.dumps({'candidates': size, 'seconds': time.perf_counter() - start, 'peak_mib_before': before,
                    'peak_mib': _peak_mib(), 'scores_mib': ranked.scores.nbytes / 2 ** 20}))


def _train(workdir: Path) -> None:
  config = acc_gcn_darts_bin.get_config()
  config.data.measurement = str(NASLIB)
  config.training.epochs = 20
  experiment.train_and_evaluate(config, workdir)


def _ask_tell_round(predictor, workdir: Path, candidates: int) -> dict:
  """A 200-model search over `candidates` sampled genotypes, the stand-in trainer being the trained predictor's
  score: the first call asks 100, the timed second call tells them, retrains, ranks and asks the next 100."""
  config = brp_darts.get_config()
  config.search.update(budget=200, iterations=2, candidates=candidates)
  session = asktell.AskTell(config, workdir)
  session.step()
  asked = session.pending()
  values = 90 + np.asarray(predictor.predict(darts.SPACE.as_keys([darts.SPACE.from_str(t) for t in asked])))
  results = workdir / 'results.csv'
  files.atomic_write_text(results, 'arch_str,value\n' + ''.join(f'"{t}",{v}\n' for t, v in zip(asked, values)))
  start = time.perf_counter()
  summary = asktell.AskTell(config, workdir).step(str(results), progress=False)
  return {'candidates': candidates, 'told': summary['told'], 'seconds': time.perf_counter() - start,
          'scoring_seconds': summary['history'][-1]['scoring_seconds'], 'asked_next': summary['to_train']}


def main(argv):
  del argv
  if _MEMORY.value:
    _memory_child(_MEMORY.value, _PREDICTOR.value)
    return
  out = {'machine': machine.describe(), 'jax': jax.__version__, 'devices': jax.device_count()}
  start = time.perf_counter()
  total = sum(len(chunk) for chunk in darts.sample_chunks(10_000_000, 0))
  out['sample_10M_fast_s'] = time.perf_counter() - start
  assert total == 10_000_000
  start = time.perf_counter()
  darts.sample_eagle(10_000, 0)
  out['sample_10k_eagle_s'] = time.perf_counter() - start
  with tempfile.TemporaryDirectory() as scratch:
    workdir = Path(scratch) / 'acc'
    _train(workdir)
    predictor = inference.load(workdir)
    keys = np.concatenate(list(darts.sample_chunks(_THROUGHPUT.value, 0)))
    ranking.rank_stream(predictor, iter([keys[:batches.CHUNK]]), top_k=10)  # compile
    start = time.perf_counter()
    ranked = ranking.rank_stream(predictor, iter([keys]), top_k=1000)
    jax_s = time.perf_counter() - start
    params = jax.tree_util.tree_map(np.asarray, predictor.params)
    start = time.perf_counter()
    scores = np.concatenate([numpy_scores(params, *darts.encode_keys(keys[i:i + batches.CHUNK]))
                             for i in range(0, len(keys), batches.CHUNK)])
    numpy_s = time.perf_counter() - start
    out['throughput'] = {
        'candidates': len(keys), 'jax_models_per_s': len(keys) / jax_s, 'numpy_models_per_s': len(keys) / numpy_s,
        'numpy_over_jax_time': numpy_s / jax_s, 'projected_10M_h': 1e7 / (len(keys) / jax_s) / 3600,
        'top_1000_overlap_with_numpy': len(set(ranked.top.tolist())
                                           & set(np.argsort(-scores, kind='stable')[:1000].tolist())) / 1000}
    print(json.dumps(out, indent=2), flush=True)
    path = Path(__file__).with_suffix('.json')
    earlier = json.loads(path.read_text()).get('memory', []) if path.exists() else []
    out['memory'] = [m for m in earlier if str(m['candidates']) not in _SIZES.value]  # sizes not rerun are kept
    for size in _SIZES.value:
      child = subprocess.run([sys.executable, __file__, f'--memory={size}', f'--predictor={workdir}'],
                             check=True, capture_output=True, text=True)
      out['memory'].append(json.loads(child.stdout.strip().splitlines()[-1]))
      print(out['memory'][-1], flush=True)
    out['memory'].sort(key=lambda m: m['candidates'])
    out['ask_tell_round'] = _ask_tell_round(predictor, Path(scratch) / 'search', _ROUND.value)
  print(json.dumps(out, indent=2))
  files.atomic_write_text(Path(__file__).with_suffix('.json'), json.dumps(out, indent=2) + '\n')


if __name__ == '__main__':
  app.run(main)
