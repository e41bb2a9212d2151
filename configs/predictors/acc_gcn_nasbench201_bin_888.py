"""Binary accuracy GCN with split seed 888 (Eagle's acc_gcn_nasbench201_bin_888)."""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.seed = 888
  return config
