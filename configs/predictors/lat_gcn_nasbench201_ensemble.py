"""Latency GCN ensemble with calibrated uncertainty: lat_gcn_nasbench201_log (log latency, 70/10/20 split) as 5
members fitted at once, each on its own bootstrap resample of the training split and its own initial weights. It
predicts the members' mean; `predictors.load(workdir).predict(keys, return_std=True)` also gives a standard
deviation (the members' spread, scaled so that the validation split's standardised errors have unit variance).
metrics.json reports the coverage of the 68% and 90% intervals on the test split, NLL and Spearman(|error|, std);
predictions.csv has a std column and scatter.png the 90% intervals (experiments/README.md: coverage on devices
it was not tuned on).
"""
from configs.predictors import lat_gcn_nasbench201_log as base  # pylint: disable=import-error


def get_config():
  config = base.get_config()
  config.model.ensemble = 5
  return config
