"""Binary accuracy GCN with zero-cost warm-up (Eagle's acc_gcn_nasbench201_bin_foresight).

The `foresight` block (proxy dataset, 256 train / 100 valid, same training values) is used by the search binary's
zero-cost warm-up; the train binary trains the accuracy predictor as acc_gcn_nasbench201_bin.
"""
import ml_collections

from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.foresight = ml_collections.ConfigDict(dict(
      measurement='', training_points=256, validation_points=100, training=config.training.to_dict()))
  return config
