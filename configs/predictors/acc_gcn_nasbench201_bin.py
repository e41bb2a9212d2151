"""Binary accuracy GCN (Eagle's acc_gcn_nasbench201_bin): 100/100, cosine, default 2-class head.

Eagle's batch of 64 *pairs* becomes a batch of 16 *models* here: all 240 ordered pairs of a batch come from
one embedding pass.
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('nb201/cifar100', 'nasbench201', head='default')
  config.data.normalize = True
  config.training.batch_size = 16
  return config
