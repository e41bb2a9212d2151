"""Zero-cost warm-up (Eagle's foresight): pre-train a predictor on zero-cost proxy values (a block
`priors.load_proxy` reads) before it sees any trained model. Used by the train binary (`config.foresight`) and the
search (`config.zero_cost`).
"""
import ml_collections

from eagle_jax.data import dataset as dataset_lib
from eagle_jax.predictors import batches, models, normalization, splitting, training


def pretrain(model: models.Predictor, params, proxy: dataset_lib.Dataset, block: ml_collections.ConfigDict,
             seed: int):
  """`params` fitted to the proxy's values (min-max scaled: raw proxies overflow Eagle's soft pair targets) on
  block.training_points / validation_points of its archs, with the block's `training` options."""
  split = splitting.split_rows(len(proxy), block.training_points, block.validation_points, seed)
  targets = normalization.Normalizer.fit(proxy.values, True).apply(proxy.values)
  train = batches.Arrays.of(proxy, split.train, targets)
  valid = batches.Arrays.of(proxy, split.valid, targets) if len(split.valid) else None
  options = ml_collections.ConfigDict(dict(block.training))
  return training.fit(training.HeadLoss(model), params, train, valid, options, seed, progress=False).params


def proxy_block(measurement: str = '', training_options=None) -> ml_collections.ConfigDict:
  """A foresight / zero_cost config block: Eagle's 256 train / 100 valid proxy models."""
  return ml_collections.ConfigDict(dict(
      measurement=measurement, column='', where_column='', where_value='', training_points=256,
      validation_points=100, training=dict(training_options or {})))
