"""The parts a BRP-NAS engine is configured with, read from a search config the same way in both modes: the
zero-cost prior (config.zero_cost), the latency limit (config.latency), the learner's first parameters and
card, and the fields that belong to one mode only (refused in the other, never ignored)."""
from typing import Optional

import ml_collections
import numpy as np

from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import foresight, inference, initialization, priors, training, uncertainty
from eagle_jax.search import engine as engine_lib
from eagle_jax.search import defaults, learners, selection

ZERO_COST_MODES = ('none', 'warmup', 'simple', 'augment', 'simple+augment')
MODES = ('benchmark', 'ask_tell')
ACQUISITIONS = ('mean', 'thompson')  # how an ask scores candidates (learners.ComparatorLearner.scores)
# fields that only ask/tell reads, with the value that leaves them unset
ASK_TELL_ONLY = {'results': '', 'candidates': 0, 'candidate_file': ''}


def check_config(config: ml_collections.ConfigDict) -> str:
  """Every search setting that can be checked without data, before any work (the search binary's one
  validator): the mode and the fields it does not read, the selection and zero-cost modes, the budget, the
  training options, the latency limit; returns the mode."""
  mode = _check_mode(config)
  if config.search.selection not in selection.MODES:
    raise ValueError(f'config.search.selection must be one of {selection.MODES}, got {config.search.selection!r}')
  _zero_cost_mode(config)
  engine_lib.check_budget(config.search)
  training.check_options(config.training)
  limit = config.latency.get('limit') if config.get('latency') else None
  if limit:
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
      raise ValueError(f'config.latency.limit={limit!r} must be a latency in seconds > 0 (0: no limit)')
    if not config.latency.checkpoint:
      raise ValueError('a latency limit needs config.latency.checkpoint: a unary latency predictor workdir '
                       '(python -m eagle_jax.train --config=configs/predictors/lat_gcn.py ...)')
  acquisition = config.search.get('acquisition', 'mean')
  if acquisition not in ACQUISITIONS:
    raise ValueError(f'config.search.acquisition must be one of {ACQUISITIONS}, got {acquisition!r}')
  if acquisition == 'thompson' and config.model.get('ensemble', 1) < 2:
    raise ValueError("config.search.acquisition='thompson' draws one member of an ensemble comparator per ask: set "
                     f'config.model.ensemble >= 2 (it is {config.model.get("ensemble", 1)})')
  confidence = config.search.get('latency_confidence', 0.0)
  if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence < 1:
    raise ValueError(f'config.search.latency_confidence must be a probability in [0, 1), got {confidence!r}')
  if confidence and not limit:
    raise ValueError(f'config.search.latency_confidence={confidence} needs a latency limit (config.latency.limit)')
  return mode


def _check_mode(config: ml_collections.ConfigDict) -> str:
  """config.search.mode, after refusing fields the mode would not read."""
  search = config.search
  mode = search.get('mode', 'benchmark')
  if mode not in MODES:
    raise ValueError(f'config.search.mode must be one of {MODES}, got {mode!r}')
  if mode == 'benchmark':
    for field, unset in ASK_TELL_ONLY.items():
      if search.get(field, unset) != unset:
        raise ValueError(f"config.search.{field}={search.get(field)!r} is read in ask_tell mode only "
                         "(config.search.mode='ask_tell'); benchmark mode searches config.data.measurement")
  else:
    if config.data.get('measurement'):
      raise ValueError(f'config.data.measurement={config.data.measurement!r} is read in benchmark mode only; in '
                       'ask_tell mode you train the models and give their values in config.search.results')
    if search.get('rank_space'):
      raise ValueError('config.search.rank_space is for benchmark mode; rank an ask/tell workdir with '
                       'python -m eagle_jax.rank --workdir=WORKDIR')
    if config.latency.get('measurement'):
      raise ValueError('config.latency.measurement (the true latencies a benchmark run checks its picks against) '
                       'is read in benchmark mode only')
  return mode


def prior_block(config: ml_collections.ConfigDict) -> dict:
  """config.zero_cost's proxy fields, the space's bundled proxies filled in where measurement is ''."""
  block = {k: config.zero_cost.get(k, '') for k in priors.PROXY_FIELDS}
  block['measurement'] = block['measurement'] or defaults.bundled_proxies(config)
  return block


def _zero_cost_mode(config) -> str:
  mode = config.zero_cost.mode
  if mode not in ZERO_COST_MODES:
    raise ValueError(f'config.zero_cost.mode must be one of {ZERO_COST_MODES}, got {mode!r}')
  return mode


def latency_mask(space, candidates, latency: ml_collections.ConfigDict, confidence: float = 0.0) -> Optional[np.ndarray]:
  """With latency.limit: the candidates a unary latency predictor (latency.checkpoint) puts at or under it; with
  `confidence` q > 0 (config.search.latency_confidence), those whose latency is at or under it with probability at
  least q under the predictor's calibrated ensemble spread (a chance constraint)."""
  if not latency or not latency.limit:
    return None
  if not latency.checkpoint:
    raise ValueError('a latency limit needs config.latency.checkpoint: a unary latency predictor workdir '
                     '(python -m eagle_jax.train --config=configs/predictors/lat_gcn.py ...)')
  predictor = inference.load(latency.checkpoint, space)
  if predictor.binary:
    raise ValueError(f'{latency.checkpoint} is a binary predictor; a latency limit needs a unary latency predictor')
  if confidence:
    if predictor.model.ensemble < 2:
      raise ValueError(f'config.search.latency_confidence={confidence} needs a latency ensemble: '
                       f'{latency.checkpoint} is a single predictor (train one with config.model.ensemble=K, e.g. '
                       'configs/predictors/lat_gcn_nasbench201_ensemble.py)')
    chance = candidates.map(lambda keys: uncertainty.probability_at_most(
        *predictor.predict(keys, return_std=True), latency.limit))
    if not (chance >= confidence).any():
      raise ValueError(f'config.latency.limit={latency.limit} s with latency_confidence={confidence} keeps no '
                       f'candidate: the most likely one is under the limit with probability {chance.max():.3f}')
    return chance >= confidence
  predicted = candidates.map(predictor.predict)
  if not (predicted <= latency.limit).any():
    raise ValueError(f'config.latency.limit={latency.limit} s keeps no candidate: the latency predictor in '
                     f'{latency.checkpoint} puts them between {predicted.min():.4g} and {predicted.max():.4g} s')
  return predicted <= latency.limit


def eligible(config: ml_collections.ConfigDict, candidates) -> np.ndarray:
  """The candidates a search may pick: under the latency limit, and with a prior value where the predictor reads
  one (zero-cost augment modes)."""
  keep = np.ones(len(candidates), bool)
  mask = latency_mask(candidates.space, candidates, config.latency, config.search.get('latency_confidence', 0.0))
  if mask is not None:
    keep &= mask
  if 'augment' in _zero_cost_mode(config):
    block = prior_block(config)
    covered = candidates.map(lambda keys: ~np.isnan(priors.prior_values(block, candidates.space, keys)))
    if not covered.any():
      raise ValueError(f"zero-cost file {block['measurement']} has no value for any candidate")
    keep &= covered
  if not keep.any():
    raise ValueError('no candidate model is left after the latency limit and zero-cost coverage')
  return keep


def card(config: ml_collections.ConfigDict, space) -> dict:
  """The card of a search's binary predictor (targets: learners.comparator_targets); with a zero-cost augment
  mode it names the prior whose values it reads."""
  augment = 'augment' in _zero_cost_mode(config)
  return {'model': config.model.to_dict(), 'dataset': 'search', 'units': '', 'space': space.reference,
          'lower_is_better': False, 'cost_features': [], 'normalization': {'min': 0.0, 'max': 1.0, 'log': False},
          'best_epoch': 0, 'seed': config.seed, **({'prior': prior_block(config)} if augment else {})}


def prior_values(config: ml_collections.ConfigDict, candidates) -> np.ndarray:
  """The zero-cost prior's value of every candidate (NaN where it has none); refused if it has none at all."""
  block = prior_block(config)
  values = candidates.map(lambda keys: priors.prior_values(block, candidates.space, keys))
  if np.isnan(values).all():
    raise ValueError(f"zero-cost file {block['measurement']} has no value for any candidate")
  return values


def first_params(config: ml_collections.ConfigDict, candidates, predictor_card: dict,
                 prior: Optional[np.ndarray] = None):
  """The learner's parameters before any model is trained: fresh, or the latency predictor's body
  (latency.transfer), or pre-trained on the `prior` values of the candidates that have one (zero_cost 'warmup')."""
  space = candidates.space
  model = initialization.create_model(config.model)
  num_augments = 1 if predictor_card.get('prior') else 0
  if config.latency.limit and config.latency.get('transfer'):
    return initialization.initial_params(model, space, config.seed, num_augments,
                                         transfer_from=config.latency.checkpoint)
  params = initialization.fresh_params(model, space, config.seed, num_augments)
  if _zero_cost_mode(config) == 'warmup':
    covered = np.nonzero(~np.isnan(prior))[0]
    proxy = dataset_lib.Dataset(candidates.keys_at(covered), prior[covered], space=space)
    zc = ml_collections.ConfigDict({**config.zero_cost.to_dict(), **prior_block(config)})
    params = foresight.pretrain(model, params, proxy, zc, config.seed)
  return params


def build(config: ml_collections.ConfigDict, candidates, params=None, state: Optional[dict] = None,
          eligible_mask: Optional[np.ndarray] = None) -> engine_lib.Engine:
  """The engine of `config` over `candidates`: the comparator learner (from `params`, else `first_params`), the
  prior the first iteration picks by, the eligible candidates (`eligible`, unless given), and `state` to go on
  from."""
  predictor_card = card(config, candidates.space)
  mode = _zero_cost_mode(config)
  first = not (state and state['iteration'])
  prior = prior_values(config, candidates) if mode != 'none' and first else None
  if params is None:
    params = first_params(config, candidates, predictor_card, prior)
  learner = learners.ComparatorLearner(config, params, predictor_card)
  ranked_prior = np.where(np.isnan(prior), -np.inf, prior) if 'simple' in mode and first else None
  mask = eligible(config, candidates) if eligible_mask is None else eligible_mask
  return engine_lib.Engine(config, candidates, learner, ranked_prior, pretrained=mode == 'warmup', eligible=mask,
                           state=state)


def table_of(config: ml_collections.ConfigDict) -> dataset_lib.Dataset:
  """The benchmark table config.data names (its valid archs)."""
  dataset = dataset_lib.load_dataset(config.data.measurement, config.data.get('column') or None,
                                     space=config.get('space'))
  return dataset.subset(dataset.valid)
