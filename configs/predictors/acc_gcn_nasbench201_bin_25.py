"""Binary accuracy GCN with 25 train / 25 valid models (Eagle's acc_gcn_nasbench201_bin_25)."""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.data.update(training_points=25, validation_points=25)
  config.training.batch_size = 8
  return config
