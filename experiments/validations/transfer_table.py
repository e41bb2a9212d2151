"""Latency on a new device from K measurements: the leave-devices-out table (issue: HELP's setting).

Protocols:
  help  HELP's: pre-train once on its 9 source devices; adapt to every other device (HELP's meta-validation
        devices titanx_1/32/256 and gold_6240, on which the settings were chosen, are reported apart).
  all   every device family left out in turn (a GPU at all its batch sizes, LatBench's GTX 1080 Ti with HELP's;
        every other device is its own family), pre-training on all the other devices (bundled HELP devices, this
        project's 1-thread Xeon, the LatBench files in --latbench), with --all_epochs of pre-training to keep
        17 pre-trainings affordable on a 2-core CPU.
  nasflat  NASFLAT's harder NB201 splits (abdelfattah-lab/nasflat_latency, correlation_trainer/device_task_list.py,
        tasks 1-4: mobile / embedded / ASIC sources to GPU targets, and GPUs to mobile and embedded targets), each
        with the devices of the split that the bundled HELP set and LatBench hold (the others are named in the
        report); one pre-training per split.
Methods (eagle_jax.transfer.adaptation): bayes with the informative or a random choice of the K models, and, on the
same random choice, scale_shift, finetune, and the fits on the K samples alone (flops, linear).

python experiments/validations/transfer_table.py --protocol=help --out=experiments/validations/transfer_help
"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from configs.transfer import help_nasbench201  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax import files  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.data import bundled_data  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.predictors import plots  # pylint: disable=g-import-not-at-top,wrong-import-position
from eagle_jax.transfer import devices, evaluation, pretraining  # pylint: disable=g-import-not-at-top,wrong-import-position
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position

_PROTOCOL = flags.DEFINE_enum('protocol', 'help', ['help', 'all', 'nasflat'], 'Which devices are sources and targets.')
_LATBENCH = flags.DEFINE_string('latbench', os.path.join(os.environ.get('EAGLE_JAX_DATA', ''), 'eagle-latbench-nb201', 'raw'),
                                 'Folder of LatBench pickles (default: under $EAGLE_JAX_DATA).')
_SAMPLES = flags.DEFINE_list('samples', ['5', '10', '20', '50'], 'K values.')
_SEEDS = flags.DEFINE_integer('seeds', 5, 'Seeds of the K choice.')
_MAX_SCORED = flags.DEFINE_integer('max_scored', 3000, 'Models scored per run (a seeded sample of the others).')
_ALL_EPOCHS = flags.DEFINE_integer('all_epochs', 60, "Pre-training epochs in the 'all' protocol.")
_OUT = flags.DEFINE_string('out', 'experiments/validations/transfer_help', 'Output stem (.json, .md, .png).')
_RUNS = flags.DEFINE_list('runs', ['bayes/informative', 'bayes/random', 'scale_shift/random', 'finetune/random',
                                   'flops/random', 'linear/random'], 'method/choice pairs to compare.')


_LATBENCH_NAMES = {  # NASFLAT's names of LatBench devices -> the LatBench pickles' stems
    'desktop_cpu_core_i7_7820x_fp32': 'desktop-cpu-core-i7-7820x-fp32',
    'desktop_gpu_gtx_1080ti_fp32': 'desktop-gpu-gtx-1080ti-fp32',
    'embedded_gpu_jetson_nano_fp16': 'embedded-gpu-jetson-nano-fp16',
    'mobile_cpu_snapdragon_855_kryo_485_int8': 'mobile-cpu-snapdragon-855-kryo-485-int8',
    'mobile_gpu_snapdragon_855_adreno_640_int8': 'mobile-gpu-snapdragon-855-adreno-640-int8'}
NASFLAT_SPLITS = {  # task: (sources, targets), as NASFLAT lists them
    'nasflat-1 (eTPU, ASIC, mGPU, mCPU -> GPU)': (
        ('embedded_tpu_edge_tpu_int8', 'eyeriss', 'mobile_gpu_snapdragon_675_adreno_612_int8',
         'mobile_gpu_snapdragon_855_adreno_640_int8', 'pixel3'),
        ('1080ti_1', 'titan_rtx_32', 'titanxp_1', '2080ti_32', 'titan_rtx_1')),
    'nasflat-2 (GPU -> eGPU, eTPU, DSP, mCPU)': (
        ('1080ti_1', '1080ti_32', 'titanx_32', 'titanxp_1', 'titanxp_32'),
        ('embedded_gpu_jetson_nano_fp16', 'embedded_tpu_edge_tpu_int8', 'mobile_dsp_snapdragon_675_hexagon_685_int8',
         'mobile_dsp_snapdragon_855_hexagon_690_int8', 'pixel3')),
    'nasflat-3 (GPU, eGPU, ASIC, mGPU, mDSP -> GPU)': (
        ('desktop_gpu_gtx_1080ti_fp32', 'embedded_gpu_jetson_nano_fp16', 'eyeriss',
         'mobile_dsp_snapdragon_675_hexagon_685_int8', 'mobile_gpu_snapdragon_855_adreno_640_int8'),
        ('1080ti_1', '2080ti_1', 'titanxp_1', '2080ti_32', 'titanxp_32')),
    'nasflat-4 (CPU, eGPU, eTPU, ASIC, mCPU, mDSP, mGPU -> GPU)': (
        ('desktop_cpu_core_i7_7820x_fp32', 'embedded_gpu_jetson_nano_fp32', 'embedded_tpu_edge_tpu_int8', 'eyeriss',
         'mobile_cpu_snapdragon_855_kryo_485_int8', 'mobile_dsp_snapdragon_675_hexagon_685_int8',
         'mobile_dsp_snapdragon_855_hexagon_690_int8', 'mobile_gpu_snapdragon_675_adreno_612_int8',
         'mobile_gpu_snapdragon_855_adreno_640_int8', 'pixel2'),
        ('1080ti_1', '2080ti_1', 'titan_rtx_1')),
}


def nasflat_devices(names, everything) -> tuple:
  """(the sources we hold, by their names in `everything`; the names we do not hold)."""
  by_name = {devices.device_name(t): t for t in everything}
  held = [by_name.get(_LATBENCH_NAMES.get(n, n)) for n in names]
  return [t for t in held if t], [n for n, t in zip(names, held) if not t]


def runs() -> list:
  return [tuple(run.split('/')) for run in _RUNS.value]


def all_devices() -> list:
  latbench = sorted(str(p) for p in Path(_LATBENCH.value).glob('*.pickle'))
  return [n for n in bundled_data.bundled() if n.startswith('help/')] + ['cpu/xeon-litert-fp32-1thread'] + latbench


def family(source: str) -> str:
  """The hardware a device setting runs on: HELP's GPUs without the batch size, LatBench's GTX 1080 Ti as HELP's."""
  name = devices.device_name(source)
  if 'gtx-1080ti' in name:
    return '1080ti'
  stem, _, batch = name.rpartition('_')
  return stem if batch.isdigit() and stem in ('1080ti', '2080ti', 'titan_rtx', 'titanx', 'titanxp') else name


def evaluate_device(pretrained, target: str, options, results: dict, label: str = '') -> None:
  dataset = devices.load_latency(target, 'nasbench201')
  name = label or devices.device_name(target)
  for samples in map(int, _SAMPLES.value):
    for method, choice in runs():
      scores = []
      for seed in range(_SEEDS.value):
        start = time.perf_counter()
        metrics = evaluation.evaluate(pretrained, dataset, samples, method, choice, seed, options,
                                      _MAX_SCORED.value)[0]
        scores.append({k: metrics[k] for k in ('spearman', 'within_10pct', 'false_positive_rate')} |
                      {'seconds': time.perf_counter() - start})
      results.setdefault(name, {})[f'{method}/{choice}/{samples}'] = {
          k: [float(np.mean([r[k] for r in scores])), float(np.std([r[k] for r in scores]))] for k in scores[0]}
    print(name, samples, {k: round(v['spearman'][0], 3) for k, v in results[name].items()
                          if k.endswith(f'/{samples}')}, flush=True)


def main(argv):
  del argv
  out = Path(_OUT.value)
  record = json.loads(out.with_suffix('.json').read_text()) if out.with_suffix('.json').exists() else {}
  record.update(machine=machine.describe(), protocol=_PROTOCOL.value, seeds=_SEEDS.value,
                max_scored=_MAX_SCORED.value, runs=_RUNS.value)
  results = record.setdefault('results', {})
  config = help_nasbench201.get_config()
  everything = all_devices()
  if _PROTOCOL.value == 'help':
    start = time.perf_counter()
    pretrained = pretraining.pretrain(config, progress=False)
    record['pretrain_seconds'] = time.perf_counter() - start
    plan = [(pretrained, t) for t in everything if t not in config.transfer.sources]
    for pretrained, target in plan:
      if devices.device_name(target) not in results:  # resumable: devices already in the record are kept
        evaluate_device(pretrained, target, config.transfer, results)
        files.atomic_write_text(out.with_suffix('.json'), json.dumps(record, indent=2) + '\n')
  elif _PROTOCOL.value == 'nasflat':
    splits = record.setdefault('splits', {})
    for task, (sources, targets) in NASFLAT_SPLITS.items():
      (sources, missing_sources), (targets, missing_targets) = (nasflat_devices(sources, everything),
                                                                nasflat_devices(targets, everything))
      splits[task] = {'sources': [devices.device_name(t) for t in sources], 'missing_sources': missing_sources,
                      'targets': [devices.device_name(t) for t in targets], 'missing_targets': missing_targets}
      todo = [t for t in targets if f'{task}: {devices.device_name(t)}' not in results]
      if not todo:
        continue
      config.transfer.sources = tuple(sources)
      pretrained = pretraining.pretrain(config, progress=False)
      for target in todo:
        evaluate_device(pretrained, target, config.transfer, results, label=f'{task}: {devices.device_name(target)}')
        files.atomic_write_text(out.with_suffix('.json'), json.dumps(record, indent=2) + '\n')
  else:
    config.pretrain.epochs = _ALL_EPOCHS.value
    for held_out in sorted({family(t) for t in everything}):
      targets = [t for t in everything if family(t) == held_out and devices.device_name(t) not in results]
      if not targets:
        continue
      config.transfer.sources = tuple(t for t in everything if family(t) != held_out)
      pretrained = pretraining.pretrain(config, progress=False)
      for target in targets:
        evaluate_device(pretrained, target, config.transfer, results)
        files.atomic_write_text(out.with_suffix('.json'), json.dumps(record, indent=2) + '\n')
  write_report(record, out, config)


def write_report(record: dict, out: Path, config) -> None:
  results = record['results']
  validation = {devices.device_name(t) for t in config.transfer.validation}
  tested = [d for d in results if d not in validation or record['protocol'] != 'help']
  samples = [int(k) for k in _SAMPLES.value]
  lines = [f'Protocol `{record["protocol"]}`, {record["machine"]}; mean over {record["seeds"]} seeds of the K choice '
           f'(Spearman over {record["max_scored"]} other models of the device).', '',
           '| method | ' + ' | '.join(f'K={k}' for k in samples) + ' |', '|---|' + '---|' * len(samples)]
  fig, ax = plots.new_figure()
  for method, choice in runs():
    means = [float(np.mean([results[d][f'{method}/{choice}/{k}']['spearman'][0] for d in tested])) for k in samples]
    lines.append(f'| {method} ({choice}) | ' + ' | '.join(f'{m:.3f}' for m in means) + ' |')
    ax.plot(samples, means, marker='o', label=f'{method} ({choice})')
  lines += ['', f'K=10, mean over the {len(tested)} reported devices:', '',
            '| method | Spearman | within_10pct | latency-limit false positives | seconds a run |', '|---|---|---|---|---|']
  for method, choice in runs():
    cells = [results[d][f'{method}/{choice}/10'] for d in tested]
    lines.append(f'| {method} ({choice}) | ' + ' | '.join(
        f'{np.mean([c[k][0] for c in cells]):.3f}' for k in ('spearman', 'within_10pct', 'false_positive_rate'))
        + f' | {np.mean([c["seconds"][0] for c in cells]):.2f} |')
  lines += ['', 'Per device, K=10:', '', '| device | ' + ' | '.join(f'{m} ({c})' for m, c in runs()) + ' |',
            '|---|' + '---|' * len(runs())]
  for device in results:
    cells = [results[device][f'{m}/{c}/10'] for m, c in runs()]
    lines.append(f'| {device}{" (validation)" if device in validation else ""} | ' +
                 ' | '.join(f'{c["spearman"][0]:.3f} ± {c["spearman"][1]:.3f}' for c in cells) + ' |')
  for task, split in record.get('splits', {}).items():
    lines.append(f'\n{task}: sources {", ".join(split["sources"])}; targets {", ".join(split["targets"])}; not in '
                 f'the data here: {", ".join(split["missing_sources"] + split["missing_targets"]) or "none"}.')
  files.atomic_write_text(out.with_suffix('.md'), '\n'.join(lines) + '\n')
  ax.set(xscale='log', xlabel='K measured models', ylabel='Spearman on the device (mean over devices)',
         title=f'latency on a new device ({record["protocol"]} protocol)')
  ax.set_xticks(samples, [str(k) for k in samples])
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  plots.save_figure(fig, out.with_suffix('.png'))


if __name__ == '__main__':
  app.run(main)
