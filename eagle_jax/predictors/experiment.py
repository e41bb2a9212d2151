"""The train binary's experiment: load the configured dataset, split it (repeats), fit or evaluate the predictor,
and write metrics.json, predictions.csv, a scatter plot, history, the checkpoint and whole-space predictions."""
import dataclasses
import json
import shutil
import time
from pathlib import Path

import ml_collections
import numpy as np

from eagle_jax import files
from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import baselines, batches, checkpoints, foresight, inference, initialization, metrics, priors
from eagle_jax.predictors import models, normalization, plots, splitting, training, uncertainty


def load_training_data(config: ml_collections.ConfigDict) -> dataset_lib.Dataset:
  """The dataset named by config.data (measurement, column, only_valid, total_points) in config.space."""
  data_config = config.data
  if not data_config.get('measurement'):
    raise ValueError('config.data.measurement must name a dataset (a file path or a bundled name)')
  dataset = dataset_lib.load_dataset(data_config.measurement, data_config.get('column'), space=config.get('space'))
  if data_config.get('units') and not dataset.units:  # files without units of their own (bundled ones have them)
    dataset = dataclasses.replace(dataset, units=data_config.units)
  if data_config.get('only_valid', True):
    dataset = dataset.subset(dataset.valid)
  total = data_config.get('total_points')
  if total is not None:
    if total > len(dataset):
      raise ValueError(f'config.data.total_points={total} but {dataset.name} has only {len(dataset)} models')
    dataset = dataset.subset(np.arange(total))
  dataset_lib.require_spread(dataset.values, dataset.name)
  return dataset


MIN_TEST = 2  # test models a run needs for its metrics (a Spearman needs two)
OUTPUTS = ('metrics.json', 'predictions.csv', 'scatter.png', 'history.json', 'space_predictions.pickle',
           checkpoints.CARD, checkpoints.PARAMS_DIR)


def _claim(workdir: Path, overwrite: bool) -> None:
  """A workdir holds one run: refuse one holding another run's outputs, or (overwrite) remove them all first."""
  found = [name for name in OUTPUTS if (workdir / name).exists()]
  if found and not overwrite:
    raise FileExistsError(f'{workdir} already holds a training run ({", ".join(found)}); use a new workdir, or '
                          'pass --overwrite to replace all of its outputs')
  for name in found:
    path = workdir / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def _aggregate(runs: list) -> dict:
  """Mean over repeats of every numeric figure, with `<name>_std` beside it."""
  out = {}
  for name, value in runs[0].items():
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      values = np.array([run[name] for run in runs], np.float64)
      out[name] = float(values.mean())
      if len(runs) > 1:
        out[f'{name}_std'] = float(values.std())
  return out


def _test_metrics(head: str, terms, true: np.ndarray, normalizer: normalization.Normalizer) -> tuple:
  """(metrics, prediction column) on the test split."""
  if head == 'unary':
    pred = normalizer.invert(terms['value'])
    return metrics.regression_metrics(pred, true), pred
  score = models.ranking_score(terms)
  out = metrics.ranking_metrics(score, true)
  correct, total = metrics.comparator_counts(terms['a'], terms['b'], float(terms['c']), true)
  out['comparator_accuracy'] = correct / total
  return out, score


def train_and_evaluate(config: ml_collections.ConfigDict, workdir, overwrite: bool = False) -> dict:
  """Trains (or evaluates) the configured predictor; writes metrics.json, predictions.csv, a checkpoint and a
  scatter plot under `workdir` (which must not hold another run, unless `overwrite`); returns the metrics."""
  kinds = (*models.BODIES, *baselines.BASELINES)
  if config.model.predictor not in kinds:
    raise ValueError(f'config.model.predictor must be one of {kinds}, got {config.model.predictor!r}')
  if config.model.predictor in models.BODIES and not config.training.get('eval_only', False):
    training.check_options(config.training)
  dataset = load_training_data(config)
  if config.model.predictor == 'lut':  # the layer table is read before the workdir is touched
    baselines.read_lookup(config.data.get('layers', ''), dataset.space)
  splitting.split_rows(len(dataset), config.data.training_points, config.data.validation_points, config.seed,
                       min_test=MIN_TEST)  # a split that does not fit is refused before the workdir is touched
  with files.output_dir(workdir, 'train') as workdir:
    _claim(workdir, overwrite)
    return _train_into(config, workdir, dataset)


def _train_into(config: ml_collections.ConfigDict, workdir: Path, dataset: dataset_lib.Dataset) -> dict:
  kind = config.model.predictor
  normalizer = normalization.Normalizer.fit(dataset.values, config.data.get('normalize', False),
                                            config.data.get('log_targets', False))
  targets = normalizer.apply(dataset.values)
  groups = dataset.space.group_identical_encodings(dataset.keys)[1]
  augments = batches.cost_features(dataset.space, dataset.keys, tuple(config.data.get('cost_features', ())))
  runs, predictions = [], None
  for repeat in range(config.get('repeats', 1)):
    seed = config.seed + repeat
    splits = splitting.split_rows(len(dataset), config.data.training_points, config.data.validation_points, seed,
                                  min_test=MIN_TEST)
    start, std = time.perf_counter(), None
    if kind in baselines.BASELINES:
      baseline = baselines.fit_baseline(kind, dataset.space, dataset.keys[splits.train],
                                        dataset.values[splits.train], seed, config.data.get('layers', ''))
      pred = baseline.predict(dataset.keys[splits.test])
      run = metrics.regression_metrics(pred, dataset.values[splits.test])
      head, fitted = 'unary', None
    else:
      model = initialization.create_model(config.model)
      head = model.head
      fitted = _fit_predictor(config, model, dataset, splits, targets, augments, seed, progress=repeat == 0)
      test = batches.Arrays.of(dataset, splits.test, targets, augments)
      terms = batches.head_terms(batches.make_apply(model), fitted.params, test)
      run, pred = _test_metrics(head, terms, dataset.values[splits.test], normalizer)
      run.update(best_epoch=fitted.best_epoch, epochs_run=fitted.epochs_run, seconds_to_best=fitted.seconds_to_best)
      if model.ensemble > 1:
        std, calibration = _uncertainty(config, model, fitted.params, dataset, splits, targets, augments, normalizer)
        run.update(calibration)
    run.update(n_train=len(splits.train), n_valid=len(splits.valid), n_test=len(splits.test),
               train_seconds=time.perf_counter() - start)
    ceiling = metrics.noise_ceiling(groups, dataset.values, splits.test, unary=head == 'unary')
    if ceiling:
      run.update({f'ceiling_{k}': v for k, v in ceiling.items()})
    runs.append(run)
    if repeat == 0:
      predictions = (splits.test, pred, std)
      if fitted is not None:
        card = _card(config, dataset, normalizer, fitted)
        if 'calibration_scale' in run:
          card['calibration_scale'] = run['calibration_scale']
        checkpoints.save(workdir, fitted.params, card)
        files.atomic_write_text(workdir / 'history.json', json.dumps(fitted.history) + '\n')
        if config.get('space_predictions', True):
          inference.infer_space(inference.load(workdir), workdir / 'space_predictions.pickle', overwrite=True)
  result = {**_aggregate(runs), 'repeats': runs, 'predictor': kind, 'head': head, 'dataset': dataset.name,
            'space': dataset.space.reference}
  files.atomic_write_text(workdir / 'metrics.json', json.dumps(result, indent=2) + '\n')
  _write_predictions(workdir / 'predictions.csv', dataset, *predictions)
  rows, pred, std = predictions
  coverage = f', 90% intervals cover {runs[0]["coverage_90"]:.0%}' if 'coverage_90' in runs[0] else ''
  plots.scatter(dataset.values[rows], pred, workdir / 'scatter.png',
                f'{kind} on {dataset.name}: Spearman {runs[0]["spearman"]:.3f}{coverage}', dataset.units,
                head == 'unary', std if head == 'unary' else None)
  return result


def _fit_predictor(config, model, dataset, splits: splitting.Splits, targets, augments, seed: int,
                   progress: bool) -> training.FitResult:
  options = config.training
  if options.get('eval_only', False) and not options.get('load_from'):
    raise ValueError('config.training.eval_only needs config.training.load_from (a trained checkpoint)')
  params = initialization.initial_params(model, dataset.space, seed, 0 if augments is None else augments.shape[1],
                                         load_from=options.get('load_from', ''),
                                         transfer_from=options.get('transfer_from', ''))
  if config.get('foresight') and config.foresight.measurement:  # Eagle's foresight: pre-train on proxy values
    params = foresight.pretrain(model, params, priors.load_proxy(config.foresight, dataset.space),
                                config.foresight, seed)
  if options.get('eval_only', False):
    return training.FitResult(params, 0, 0, [], 0.0)
  train = batches.Arrays.of(dataset, splits.train, targets, augments)
  if model.ensemble > 1 and config.model.get('bootstrap', True):  # each member fits its own resample
    train = train.bootstrapped(model.ensemble, seed)
  valid = batches.Arrays.of(dataset, splits.valid, targets, augments) if len(splits.valid) else None
  return training.fit(training.HeadLoss(model), params, train, valid, options, seed, progress)


def _card(config, dataset, normalizer: normalization.Normalizer, fitted: training.FitResult) -> dict:
  return {'model': config.model.to_dict(), 'dataset': dataset.name, 'units': dataset.units,
          'space': dataset.space.reference, 'lower_is_better': dataset.units == 's',
          'cost_features': list(config.data.get('cost_features', ())),
          'normalization': {'min': normalizer.low, 'max': normalizer.high, 'log': normalizer.log},
          'best_epoch': fitted.best_epoch, 'seed': config.seed}


def _write_predictions(path, dataset, rows, pred, std=None) -> None:
  """arch_str, target, prediction and, for an ensemble, std (calibrated, in the target's units; binary: of the
  ranking score)."""
  spread = [''] * len(rows) if std is None else [f',{float(s)!r}' for s in std]
  lines = ['arch_str,target,prediction' + ('' if std is None else ',std')] + [
      f'{dataset.arch_strs[r]},{float(dataset.values[r])!r},{float(p)!r}{s}' for r, p, s in zip(rows, pred, spread)]
  files.atomic_write_text(path, '\n'.join(lines) + '\n')


def _uncertainty(config, model, params, dataset, splits: splitting.Splits, targets, augments,
                 normalizer: normalization.Normalizer) -> tuple:
  """(std per test model, calibration figures) of an ensemble: its spread scaled by the factor fitted on the
  validation split (config.model.calibrate, default on; unary heads), and on the test split the coverage of its
  68% and 90% intervals, NLL and Spearman(|error|, std)."""
  binary = model.head != 'unary'
  apply = batches.make_member_apply(model)
  members = lambda rows: batches.head_terms(apply, params, batches.Arrays.of(dataset, rows, targets, augments))[
      'members']
  scale = 1.0
  if config.model.get('calibrate', True) and not binary and len(splits.valid) >= 2:
    scale = uncertainty.calibration_scale(*uncertainty.spread(members(splits.valid), normalizer, binary),
                                          dataset.values[splits.valid])
  mean, std = uncertainty.spread(members(splits.test), normalizer, binary, scale)
  figures = {} if binary else uncertainty.calibration_metrics(mean, std, dataset.values[splits.test])
  return std, {**figures, 'calibration_scale': scale}
