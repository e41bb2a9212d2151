"""Binary NB-ASR accuracy GCN with zero-cost warm-up (Eagle's acc_gcn_nasbench_asr_bin_foresight): first fitted to
a zero-cost proxy (256 train / 100 valid networks), then to accuracies.

python -m eagle_jax.train --config=configs/predictors/acc_gcn_nasbench_asr_bin_foresight.py --workdir=runs/fs_asr \
  --config.data.measurement=PATH/nbasr_inv_avg_val_per.pickle --config.foresight.measurement=PROXY_FILE
"""
from configs.predictors import acc_gcn_nasbench_asr_bin as base  # pylint: disable=import-error
from eagle_jax.predictors import foresight


def get_config():
  config = base.get_config()
  config.foresight = foresight.proxy_block(training_options=config.training.to_dict())
  return config
