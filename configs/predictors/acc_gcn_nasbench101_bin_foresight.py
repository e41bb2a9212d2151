"""Binary NB101 accuracy GCN with zero-cost warm-up (Eagle's acc_gcn_nasbench101_bin_foresight): first fitted to a
zero-cost proxy (256 train / 100 valid proxy cells), then to accuracies.

python -m eagle_jax.train --config=configs/predictors/acc_gcn_nasbench101_bin_foresight.py --workdir=runs/fs101 \
  --config.foresight.measurement=$EAGLE_JAX_DATA/naslib-zc-subsets/raw/zc_nasbench101.json \
  --config.foresight.column=synflow
"""
from configs.predictors import acc_gcn_nasbench101_bin as base  # pylint: disable=import-error
from eagle_jax.predictors import foresight


def get_config():
  config = base.get_config()
  config.foresight = foresight.proxy_block(training_options=config.training.to_dict())
  return config
