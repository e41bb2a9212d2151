"""Local CPU latency of NB-ASR networks (the network NAS-Bench-ASR trains, on 150 filterbank frames = 1.5 s of
audio): fp32 TFLite, 1 thread, 8 runs of 2 timed invocations. An NB-ASR network is 100-300 MB of fp32 weights and
takes 5-30 s to convert against 60-260 ms an inference, so conversion dominates. Two conversion workers run
while nothing is timed, and are paused (runner.pause_conversion) while a model is: on a 2-core machine, timing
beside two conversions ran 1.5-2x slower and two measurements of one network differed by 10% (median).

python -m eagle_jax.measure --config=configs/measure/desktop_nasbench_asr.py --workdir=runs/cpu_asr
"""
import ml_collections

from configs.measure import desktop_nasbench201  # pylint: disable=import-error


def get_config():
  config = desktop_nasbench201.get_config()
  config.space = 'nasbench_asr'
  config.num_archs = 500
  config.model = ml_collections.ConfigDict(dict(
      input_size=(1, 150, 80), filters=(600, 800, 1000, 1200), cells=(3, 4, 5, 6), kernel=8, strides=(1, 1, 2, 2),
      groups=100, rnn_units=500, num_classes=48, seed=0))
  config.conversion.workers = 2
  config.runner.update(runs=8, avg_between=2, warmup=2, pause_conversion=True)
  return config
