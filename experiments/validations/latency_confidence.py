"""How often do models a latency-constrained search trains break the limit? BRP-NAS on NB201 CIFAR-100 under a
limit on a HELP device, with the plain rule (keep candidates predicted at or under the limit) and the chance
constraint (`config.search.latency_confidence=q`: keep those under it with probability >= q under a latency
ensemble's calibrated spread), over seeds; the true latencies of the trained models come from the device's table.

python experiments/validations/latency_confidence.py --latency=/tmp/ens/help/pixel3/gcn --device=help/pixel3
(--latency: a train workdir of configs/predictors/lat_gcn_nasbench201_ensemble.py on the device's data.)
Writes experiments/validations/latency_confidence.{json,md}.
"""
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from absl import app, flags

from eagle_jax import data, files, predictors
from eagle_jax.search import job

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from configs.search import brp_nasbench201_latency  # pylint: disable=g-import-not-at-top,wrong-import-position

_LATENCY = flags.DEFINE_string('latency', None, 'Train workdir of a latency ensemble on the device.')
_DEVICE = flags.DEFINE_string('device', 'help/pixel3', 'The device whose true latencies check the picks.')
_QUANTILE = flags.DEFINE_float('quantile', 0.25, 'The limit: this quantile of the true latencies of the space.')
_CONFIDENCES = flags.DEFINE_list('confidences', ['0', '0.9', '0.97'], 'latency_confidence values (0: plain rule).')
_SEEDS = flags.DEFINE_integer('seeds', 5, 'Search seeds 0..N-1.')
HERE = Path(__file__).resolve().parent


def main(argv):
  del argv
  truth = data.load_dataset(_DEVICE.value)
  limit = float(np.quantile(truth.values, _QUANTILE.value))
  latency = predictors.load(_LATENCY.value)
  out = {'device': _DEVICE.value, 'limit_s': limit, 'latency_predictor': _LATENCY.value,
         'ensemble': latency.model.ensemble, 'calibration_scale': latency.calibration_scale, 'runs': {}}
  for confidence in map(float, _CONFIDENCES.value):
    runs = []
    for seed in range(_SEEDS.value):
      config = brp_nasbench201_latency.get_config()
      config.seed = seed
      config.latency.update(limit=limit, checkpoint=_LATENCY.value, measurement=_DEVICE.value)
      config.search.latency_confidence = confidence
      with tempfile.TemporaryDirectory() as workdir:
        summary = job.run(config, workdir, progress=False)
      report = summary['latency']
      runs.append({'seed': seed, 'candidates': summary['candidates'], 'trained': report['trained'],
                   'over_limit': report['false_positives'],
                   'best_meeting_limit': report.get('best_meeting_limit', {}).get('searched_value')})
      print(confidence, runs[-1], flush=True)
    out['runs'][str(confidence)] = runs
    files.atomic_write_text(HERE / 'latency_confidence.json', json.dumps(out, indent=2) + '\n')
  lines = [f'Limit {1000 * limit:.2f} ms (the {_QUANTILE.value:.0%} quantile of {_DEVICE.value}), '
           f'{_SEEDS.value} seeds, 100 models trained per search.', '',
           '| rule | candidates kept | trained models over the limit (mean, per search) | best accuracy meeting the limit (median) |',
           '|---|---|---|---|']
  for confidence, runs in out['runs'].items():
    rule = 'predicted <= limit' if float(confidence) == 0 else f'P(latency <= limit) >= {confidence}'
    lines.append(f'| {rule} | {np.mean([r["candidates"] for r in runs]):.0f} | '
                 f'{np.mean([r["over_limit"] for r in runs]):.1f} of {runs[0]["trained"]} '
                 f'({", ".join(str(r["over_limit"]) for r in runs)}) | '
                 f'{np.median([r["best_meeting_limit"] for r in runs if r["best_meeting_limit"] is not None]):.2f} |')
  files.atomic_write_text(HERE / 'latency_confidence.md', '\n'.join(lines) + '\n')
  print('\n'.join(lines))


if __name__ == '__main__':
  flags.mark_flags_as_required(['latency'])
  app.run(main)
