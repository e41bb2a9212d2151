"""HELP's protocol on NB201 (Lee et al., NeurIPS 2021): pre-train on 9 source devices, adapt to a new device
from `config.transfer.samples` (10) measured models. HELP's meta-validation devices (titanx_1/32/256, gold_6240)
are the ones `prior_floor` and the other adaptation settings were chosen on; report on the rest.

python -m eagle_jax.transfer --config=configs/transfer/help_nasbench201.py --workdir=runs/new_device
  (writes to_measure.txt; measure those models on the device, then run again with
   --config.data.measurement=THEIR_LATENCY_FILE to write a predictor for the device into the workdir)
python -m eagle_jax.transfer --config=configs/transfer/help_nasbench201.py --workdir=runs/bench \
  --config.benchmark=True --config.data.measurement=help/titan_rtx_256   (reads only the K chosen models' latencies)
"""
import ml_collections

HELP_SOURCES = ('help/1080ti_1', 'help/1080ti_32', 'help/1080ti_256', 'help/silver_4114', 'help/silver_4210r',
                'help/samsung_a50', 'help/pixel3', 'help/essential_ph_1', 'help/samsung_s7')
HELP_VALIDATION = ('help/titanx_1', 'help/titanx_32', 'help/titanx_256', 'help/gold_6240')


def get_config():
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.space = 'nasbench201'
  config.benchmark = False  # True: data.measurement is the device's full latency table; score on what is not read
  config.data = ml_collections.ConfigDict(dict(measurement=''))
  config.model = ml_collections.ConfigDict(dict(
      predictor='gcn', head='unary', num_layers=4, num_hidden=256, dropout=0.0, message_passing='dense'))
  config.pretrain = ml_collections.ConfigDict(dict(
      archs=0, validation=0.1, epochs=150, batch_size=128, learning_rate=1e-3, weight_decay=1e-4,  # archs 0: all
      cost_features=('flops', 'flops_unpruned')))  # augments: HELP's networks compute dead ops too
  config.transfer = ml_collections.ConfigDict(dict(
      sources=HELP_SOURCES, validation=HELP_VALIDATION,
      pretrained='',            # a workdir (or its pretrained/ folder) whose pre-trained model to reuse
      samples=10,               # K: models measured on the new device
      choice='informative',     # 'informative' (greedy D-optimal) | 'disagreement' (greedy: most variance removed over
                                # the space) | 'random'
      method='bayes',           # 'bayes' | 'scale_shift' | 'finetune' (on the pre-trained network)
      prior_floor=0.3, pool_fraction=0.5, finetune_steps=200, finetune_lr=1e-3,
      limit_quantile=0.5))      # benchmark: the latency limit as a quantile of the device's latencies
  return config
