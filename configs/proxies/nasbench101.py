"""Zero-cost proxies of NB101 cells (NASLib's definitions, data-free by default) on the network the measure binary
builds: NB101's CIFAR-10 network (stem 128, 3 stacks of 3 modules). One network at a time, in one process: about
9 s a cell on a 2-core AMD EPYC (experiments/README.md). The cells come from a file of module hashes, one a line
(config.arch_list), or a seeded sample (--config.archs=random --config.num_archs=N).

python -m eagle_jax.proxies --config=configs/proxies/nasbench101.py --config.arch_list=hashes.txt --workdir=runs/zc101
"""
from configs.proxies import nasbench201


def get_config():
  config = nasbench201.get_config()
  config.space = 'nasbench101'
  config.archs = 'list'
  network = dict(stem_channels=128, num_stacks=3, modules_per_stack=3, num_classes=10)
  config.model = dict(input_size=(1, 32, 32, 3), seed=0, **network)
  config.costs = network
  config.workers = 1  # only NB201's supernet scores in several processes
  return config
