"""Binary accuracy GCN with zero-cost warm-up (Eagle's acc_gcn_nasbench201_bin_foresight): the predictor is first
fitted to a zero-cost proxy (256 train / 100 valid proxy models, the same training values), then to accuracies.

python -m eagle_jax.train --config=configs/predictors/acc_gcn_nasbench201_bin_foresight.py --workdir=runs/fs \\
  --config.foresight.measurement=$EAGLE_JAX_DATA/naslib-zc-subsets/zc_nasbench201_subset.csv \\
  --config.foresight.column=synflow --config.foresight.where_column=dataset --config.foresight.where_value=cifar100
"""
from configs.predictors import acc_gcn_nasbench201_bin as base  # pylint: disable=import-error
from eagle_jax.predictors import foresight


def get_config():
  config = base.get_config()
  config.foresight = foresight.proxy_block(training_options=config.training.to_dict())
  return config
