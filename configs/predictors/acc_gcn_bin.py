"""Binary accuracy GCN for any space (acc_gcn_nasbench201_bin's recipe): name the space and the data.

python -m eagle_jax.train --config=configs/predictors/acc_gcn_bin.py --workdir=runs/acc \
  --config.space=nasbench101 --config.data.measurement=accuracies.csv     # or MODULE:ATTRIBUTE, an Eagle pickle
Splits are shares of the data (70% train, 10% validation, the rest test), so they fit any dataset's size.
"""
from eagle_jax.predictors import defaults


def get_config():
  config = defaults.eagle_config('', '', head='default')
  config.data.update(normalize=True, training_points=0.7, validation_points=0.1)
  config.training.batch_size = 16
  return config
