"""Local CPU latency of NB201 networks (Eagle's desktop_nasbench201_local): fp32 TFLite, 1 thread, 100 runs of
10 timed invocations with 10 ms between a model's runs (filled with another model's runs: interleave=2);
conversion in a worker process while the main one times."""
import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.space = 'nasbench201'
  config.archs = 'random'        # 'all' | 'random' (valid archs) | 'list'
  config.num_archs = 1000
  config.arch_list = ''          # file of arch strings, one per line, for archs='list'
  config.shard_size = 1000
  config.fix = False             # measure only what is missing from an existing workdir, whatever its plan
  config.model = ml_collections.ConfigDict(dict(
      prune=True, input_size=(1, 32, 32, 3), channels=16, cells_count=5, num_classes=100, seed=0))
  config.conversion = ml_collections.ConfigDict(dict(mode='fp32', calibration_size=100, workers=1))
  config.runner = ml_collections.ConfigDict(dict(
      kind='local', threads=1, xnnpack=True, runs=100, avg_between=10, interval=0.01, warmup=10,
      host='', port=8765, timeout=120.0, retries=5,
      devices='',     # 'host:port,host:port': several servers (overrides host and port)
      farm=True,      # several devices: True = identical devices share one plan and one result folder;
                      # False = every device measures the whole plan into results/<host>_<port>
      token_file='',  # the servers' shared token (else $EAGLE_JAX_MEASURE_TOKEN); never a flag value
      tls_ca='',      # a PEM file: HTTPS, the servers' certificate verified against it (servers: --tls_cert)
      adb='adb',      # kind='adb': the adb executable; serial: the phone ('' = the only one; 'A,B' = a farm)
      serial='', benchmark_model='',  # benchmark_model: host path of the binary for the phone's ABI ('' = on it)
      device_dir='/data/local/tmp/eagle_jax', delegate='xnnpack',  # cpu | xnnpack | gpu | nnapi | hexagon
      interleave=2,   # local runner: models timed in turn, run by run, each one's interval filled by the others
      pause_conversion=False))  # local runner: stop the conversion workers while a model is timed (few cores)
  return config
