"""The transfer binary's work: pre-train (or reuse), choose the K models to measure, and either adapt to their
measured latencies (a predictor workdir) or, in benchmark mode, score the adaptation on a full latency table."""
import json
import time
from pathlib import Path

import ml_collections

from eagle_jax import files, spaces
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import checkpoints, plots
from eagle_jax.transfer import adaptation, devices, evaluation, pretraining

TO_MEASURE = 'to_measure.txt'
PRETRAINED = 'pretrained'
PREDICTOR_METHODS = ('bayes', 'scale_shift', 'finetune')  # the ones that make a GCN predictor


def check_config(config: ml_collections.ConfigDict) -> None:
  """Every transfer setting, before any work."""
  spaces.get(config.space)
  options = config.transfer
  if not options.sources and not options.pretrained:
    raise ValueError('config.transfer.sources must list the source devices (or set config.transfer.pretrained)')
  if not (isinstance(options.samples, int) and options.samples >= 2):
    raise ValueError(f'config.transfer.samples must be an integer >= 2, got {options.samples!r}')
  if options.choice not in adaptation.CHOICES:
    raise ValueError(f'config.transfer.choice must be one of {adaptation.CHOICES}, got {options.choice!r}')
  methods = adaptation.METHODS if config.benchmark else PREDICTOR_METHODS
  if options.method not in methods:
    baselines = '' if config.benchmark else ' (flops and linear are benchmark baselines)'
    raise ValueError(f'config.transfer.method must be one of {methods}{baselines}, got {options.method!r}')
  if not (options.prior_floor > 0 and 0 < options.pool_fraction <= 1 and 0 < options.limit_quantile < 1):
    raise ValueError('config.transfer: prior_floor must be > 0, pool_fraction in (0, 1], limit_quantile in (0, 1)')
  if config.benchmark and not config.data.measurement:
    raise ValueError('config.benchmark=True needs config.data.measurement: the device\'s full latency table')


def _pretrained(config, workdir: Path, progress: bool) -> pretraining.Pretrained:
  if config.transfer.pretrained:
    folder = Path(config.transfer.pretrained)
    pretrained = pretraining.load(folder / PRETRAINED if (folder / PRETRAINED).is_dir() else folder)
  else:
    pretrained = pretraining.load_or_pretrain(config, workdir / PRETRAINED, progress)
  if pretrained.space_name != spaces.get(config.space).name:
    raise ValueError(f'the pre-trained model is for {pretrained.space_name} archs, the config for {config.space}')
  return pretrained


def run(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Runs the configured step (choose, adapt or benchmark) into `workdir`; returns its summary."""
  check_config(config)
  measured = devices.load_latency(config.data.measurement, config.space) if config.data.measurement else None
  with files.output_dir(workdir, 'transfer') as workdir:  # a bad measurement file was refused before any pre-training
    start = time.perf_counter()
    pretrained = _pretrained(config, workdir, progress)
    pretrain_seconds = time.perf_counter() - start
    space, options = spaces.get(config.space), config.transfer
    if config.benchmark:
      return _benchmark(config, workdir, pretrained, measured, pretrain_seconds)
    candidates = space.enumerate()
    candidates = candidates[space.is_valid(candidates)]
    start = time.perf_counter()
    rows = adaptation.choose(pretrained, candidates, options.samples, options.choice, config.seed,
                             options.prior_floor, options.pool_fraction)
    files.atomic_write_text(workdir / TO_MEASURE, '\n'.join(space.strs(candidates[rows])) + '\n')
    summary = {'pretrained': str(workdir / PRETRAINED) if not options.pretrained else options.pretrained,
               'pretrain_seconds': pretrain_seconds, 'to_measure': str(workdir / TO_MEASURE),
               'samples': options.samples, 'choice': options.choice, 'choose_seconds': time.perf_counter() - start}
    if not config.data.measurement:
      summary['next'] = (f'measure the models in {workdir / TO_MEASURE} on the device (python -m eagle_jax.measure '
                         f'--config.archs=list --config.arch_list={workdir / TO_MEASURE} ...), then run again with '
                         '--config.data.measurement=THEIR_LATENCY_FILE')
      return summary
    summary.update(_adapt(config, workdir, pretrained, measured, candidates[rows]))
    files.atomic_write_text(workdir / 'transfer.json', json.dumps(summary, indent=2) + '\n')
    return summary


def _adapt(config, workdir: Path, pretrained, measured, chosen) -> dict:
  """Adapts to every model in the measured file (the chosen ones, and any others measured) and saves the
  device's predictor into the workdir."""
  space, options = spaces.get(config.space), config.transfer
  if len(measured) < 2:
    raise ValueError(f'{config.data.measurement}: needs the latencies of at least 2 models, holds {len(measured)}')
  dataset_lib.require_spread(measured.values, config.data.measurement)
  missing = set(space.hashable(chosen)) - set(space.hashable(measured.keys))
  if len(missing) == len(chosen):
    raise ValueError(f'{config.data.measurement} holds none of the {len(chosen)} models in {workdir / TO_MEASURE}: '
                     'measure those models (python -m eagle_jax.measure --config.archs=list --config.arch_list='
                     f'{workdir / TO_MEASURE} ...), or this workdir was made with other settings')
  start = time.perf_counter()
  adapted = adaptation.adapt(options.method, pretrained, measured.keys, measured.values, options.prior_floor,
                             options.finetune_steps, options.finetune_lr)
  seconds = time.perf_counter() - start
  card = {'model': dict(pretrained.model_config, head='unary'), 'dataset': measured.name, 'units': 's',
          'space': space.reference, 'lower_is_better': True, 'cost_features': list(pretrained.cost_features),
          'normalization': {'min': 0.0, 'max': 1.0, 'log': True}, 'best_epoch': 0, 'seed': config.seed,
          'transfer': {'method': options.method, 'samples': len(measured), 'sources': list(pretrained.device_names)}}
  checkpoints.save(workdir, adapted.predictor_params(), card)
  return {'measured': len(measured), 'chosen_not_measured': len(missing), 'method': options.method,
          'adapt_seconds': seconds, 'predictor': str(workdir)}


def _benchmark(config, workdir: Path, pretrained, dataset, pretrain_seconds: float) -> dict:
  options = config.transfer
  start = time.perf_counter()
  result, rows, pred = evaluation.evaluate(pretrained, dataset, options.samples, options.method, options.choice,
                                           config.seed, options)
  result.update(device=dataset.name, seconds=time.perf_counter() - start, pretrain_seconds=pretrain_seconds)
  plots.scatter(dataset.values[rows], pred, workdir / 'scatter.png',
                f'{options.method} from {options.samples} samples on {dataset.name}: Spearman {result["spearman"]:.3f}',
                's', True)
  files.atomic_write_text(workdir / 'metrics.json', json.dumps(result, indent=2) + '\n')
  return result
