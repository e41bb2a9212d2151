"""Zero-cost priors: the proxy values a foresight / zero_cost config block names (one proxy, or several joined by
'+': the mean of their percentile ranks, 0 = worst, 1 = best, ties sharing their mean rank, over the archs every
one of them scores; ranks make proxies of different scales, log synflow and raw FLOPs, weigh alike).

A block whose measurement is `COSTS` reads no file: its column (one of `COST_FEATURES`) is computed from each
arch's network (`Space.network_costs`, log10 of millions), so it has a value for every arch of any candidate set,
millions of sampled DARTS genotypes included.
"""
import functools

import ml_collections
import numpy as np

from eagle_jax import spaces
from eagle_jax.data import dataset as dataset_lib


COSTS = 'costs'  # the measurement of a prior computed from each arch's network instead of read from a file
COST_FEATURES = ('flops', 'params', 'flops_unpruned', 'params_unpruned')


def cost_values(space, keys, name: str) -> np.ndarray:
  """MACs or parameters (`name` in COST_FEATURES) of each arch's network; `*_unpruned` counts dead ops too."""
  if name not in COST_FEATURES:
    raise ValueError(f'unknown network cost {name!r}; known: {", ".join(COST_FEATURES)}')
  count, _, unpruned = name.partition('_')
  if not unpruned:
    return getattr(space, count)(keys)
  try:  # every op of the cell, dead or not: what a network that computes dead ops costs (NB201)
    return getattr(space, count)(keys, prune=False)
  except TypeError:
    raise ValueError(f'cost {name!r}: {space.name} cells have no dead ops to keep; use {count!r}') from None


def log_costs(space, keys, name: str) -> np.ndarray:
  """log10 of `cost_values` in millions."""
  return np.log10(cost_values(space, keys, name) / 1e6)


def load_proxy(block: ml_collections.ConfigDict, space) -> dataset_lib.Dataset:
  """The proxy values named by a foresight / zero_cost config block (measurement, column, where_*)."""
  if not block.get('measurement'):
    raise ValueError('zero-cost warm-up needs a proxy file or bundled name in its `measurement` field')
  if block.measurement == COSTS:
    raise ValueError(f"measurement={COSTS!r} (network costs) has a value for any arch but no list of archs: "
                     "pre-training needs a proxies file (python -m eagle_jax.proxies writes one) or a bundled zc/ name")
  where = {block.where_column: block.where_value} if block.get('where_column') else None
  columns = (block.get('column') or '').split('+')
  if len(columns) == 1:
    return dataset_lib.load_dataset(block.measurement, columns[0] or None, where, space=space)
  loaded = [dataset_lib.load_dataset(block.measurement, c, where, space=space) for c in columns]
  proxies, proxies_space = [d.as_dict() for d in loaded], loaded[0].space
  common = [k for k in proxies[0] if all(k in p for p in proxies[1:])]
  if not common:
    raise ValueError(f'{block.measurement}: no arch has a value for every one of {columns}')
  ranks = np.mean([percentile_ranks(np.array([p[k] for k in common])) for p in proxies], axis=0)
  return dataset_lib.Dataset.from_mapping(dict(zip(common, ranks)), f'{block.measurement}:{block.column}', '',
                                          proxies_space)


PROXY_FIELDS = ('measurement', 'column', 'where_column', 'where_value')  # what names a block's proxy values


def prior_values(block, space: str, keys: np.ndarray) -> np.ndarray:
  """The proxy value (`load_proxy`, or `log_costs` for `COSTS`) of each of `keys` (NaN where the proxy has none);
  `block` may be a dict."""
  if block.get('measurement') == COSTS:
    column = block.get('column') or ''
    if column not in COST_FEATURES:
      raise ValueError(f"zero-cost measurement {COSTS!r} computes one network cost: column must be one of "
                       f"{', '.join(COST_FEATURES)}, got {column!r}")
    return log_costs(spaces.get(space), keys, column)
  lookup = _prior_lookup(tuple((k, block.get(k, '')) for k in PROXY_FIELDS), space)
  return np.array([lookup.get(key, np.nan) for key in spaces.get(space).hashable(keys)], np.float64)


@functools.lru_cache(maxsize=4)
def _prior_lookup(block_items: tuple, space: str) -> dict:
  """{key: value} of a proxy block, loaded once per process (ranking asks for it chunk after chunk)."""
  return load_proxy(ml_collections.ConfigDict(dict(block_items)), space).as_dict()


def percentile_ranks(values: np.ndarray) -> np.ndarray:
  """Rank of each value in [0, 1] (0 = smallest), ties sharing their mean rank."""
  values = np.asarray(values, np.float64)
  if len(values) < 2:
    return np.zeros(len(values))
  unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
  mean_rank = np.cumsum(counts) - (counts + 1) / 2.0  # 0-based mean position of each distinct value
  return mean_rank[inverse.reshape(-1)] / (len(values) - 1)
