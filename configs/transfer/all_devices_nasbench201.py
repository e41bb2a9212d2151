"""Every bundled NB201 latency table as a source: HELP's 21 device settings and this project's 1-thread Xeon.
Add more devices, e.g. the LatBench pickles, with --config.transfer.sources='(...)'; a device that is to be adapted
to must not be among the sources (pre-train without it, as experiments/validations/transfer_table.py --protocol=all does).

python -m eagle_jax.transfer --config=configs/transfer/all_devices_nasbench201.py --workdir=runs/new_device
"""
from configs.transfer import help_nasbench201  # pylint: disable=import-error
from eagle_jax.data import bundled_data


def get_config():
  config = help_nasbench201.get_config()
  config.transfer.sources = tuple(name for name in bundled_data.bundled()
                                  if name.startswith('help/') or name == 'cpu/xeon-litert-fp32-1thread')
  config.transfer.validation = ()
  return config
