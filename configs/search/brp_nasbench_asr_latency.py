"""BRP-NAS on NB-ASR under a latency limit on this project's CPU (60 ms, about the faster half of the measured
networks), the limit from the NB-ASR latency GCN (trained on the bundled cpu/epyc-litert-fp32-1thread-nbasr
measurements; it also initialises the accuracy predictor's body).

python -m eagle_jax.train --config=configs/predictors/lat_gcn_nasbench_asr.py --workdir=runs/lat_asr
python -m eagle_jax.search --config=configs/search/brp_nasbench_asr_latency.py --workdir=runs/brp_asr_lat \
  --config.data.measurement=PATH/nbasr_inv_avg_val_per.pickle
"""
from configs.search import brp_nasbench_asr  # pylint: disable=import-error


def get_config():
  config = brp_nasbench_asr.get_config()
  config.latency.update(limit=0.060, checkpoint='runs/lat_asr', transfer=True,
                        measurement='cpu/epyc-litert-fp32-1thread-nbasr')
  config.training.warmup_epochs = 10
  return config
