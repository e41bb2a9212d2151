"""Binary accuracy GCN with the oneway_hard head (Eagle's acc_gcn_nasbench201_bin_oneway-hard)."""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.model.head = 'oneway_hard'
  return config
