"""The default BRP-NAS config (configs/search/*.py and notebooks start from it)."""
import ml_collections

from eagle_jax.predictors import defaults as predictor_defaults


def brp_config(measurement: str = 'nb201/cifar100') -> ml_collections.ConfigDict:
  """Binary GCN (Eagle's acc_gcn_nasbench201_bin values), 100 models over 5 iterations, sample_best2."""
  predictor = predictor_defaults.eagle_config(measurement, head='default')
  predictor.training.batch_size = 16  # models per step: all 240 ordered pairs from one embedding pass
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.data = ml_collections.ConfigDict(dict(measurement=measurement, column='', search_on='777'))
  config.model = predictor.model
  config.training = predictor.training
  config.search = ml_collections.ConfigDict(dict(
      budget=100, iterations=5, selection='sample_best2', target_scale=0.01))
  config.latency = ml_collections.ConfigDict(dict(limit=0.0, checkpoint='', transfer=False, measurement=''))
  config.zero_cost = ml_collections.ConfigDict(dict(
      mode='none', measurement='', column='', where_column='', where_value='', training_points=256,
      validation_points=100, training=predictor.training.to_dict()))
  return config
