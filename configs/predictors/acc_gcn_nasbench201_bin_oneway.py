"""Binary accuracy GCN with the oneway head (Eagle's acc_gcn_nasbench201_bin_oneway)."""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.model.head = 'oneway'
  return config
