"""BRP-NAS on NB201 CIFAR-100 (bundled): binary GCN, 100 models over 5 iterations, alpha = 0.5 (sample_best2).

python -m eagle_jax.search --config=configs/search/brp_nasbench201.py --workdir=runs/brp
Searches on training seed 777's accuracy and reports the mean of seeds 888 and 999.
"""
import ml_collections

from configs.predictors import acc_gcn_nasbench201_bin  # pylint: disable=import-error


def get_config():
  predictor = acc_gcn_nasbench201_bin.get_config()
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.data = ml_collections.ConfigDict(dict(measurement='nb201/cifar100', column='', search_on='777'))
  config.model = predictor.model
  config.training = predictor.training
  config.search = ml_collections.ConfigDict(dict(
      budget=100, iterations=5, selection='sample_best2', target_scale=0.01))
  config.latency = ml_collections.ConfigDict(dict(limit=0.0, checkpoint='', transfer=False, measurement=''))
  config.zero_cost = ml_collections.ConfigDict(dict(
      mode='none', measurement='', column='', where_column='', where_value='', training_points=256,
      validation_points=100, training=predictor.training.to_dict()))
  return config
