"""Tiny transfer config for tests: 3 source devices, 300 archs, a 2 x 16 GCN, 5 samples; seconds on a CPU."""
from configs.transfer import help_nasbench201  # pylint: disable=import-error


def get_config():
  config = help_nasbench201.get_config()
  config.transfer.update(sources=('help/1080ti_1', 'help/pixel3', 'help/silver_4114'), samples=5)
  config.model.update(num_layers=2, num_hidden=16)
  config.pretrain.update(archs=300, epochs=5, batch_size=64)
  return config
