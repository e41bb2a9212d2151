"""Binary accuracy GCN with 50 train / 50 valid models (Eagle's acc_gcn_nasbench201_bin_50)."""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.data.update(training_points=50, validation_points=50)
  config.training.batch_size = 8
  return config
