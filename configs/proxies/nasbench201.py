"""Zero-cost proxies of every NB201 cell (NASLib's definitions, data-free by default) on the network the measure
binary builds, CIFAR-100's 100 classes (--config.model.num_classes=10 --config.costs.num_classes=10 for
CIFAR-10).

python -m eagle_jax.proxies --config=configs/proxies/nasbench201.py --workdir=runs/zc_nb201
"""
import ml_collections

from eagle_jax.proxies import scores


def get_config():
  config = ml_collections.ConfigDict()
  config.seed = 0                 # network weights and the data-free batch
  config.space = 'nasbench201'
  config.archs = 'all'            # 'all' | 'random' (config.num_archs valid archs) | 'list' (config.arch_list)
  config.num_archs = 1000
  config.arch_list = ''
  config.proxies = scores.PROXIES
  config.batch_size = 16          # data-free batch (a user batch sets its own size)
  config.images = ''              # optional .npy of real images (N, H, W, C), uint8 or float
  config.labels = ''              # optional .npy of their integer labels (else uniform random labels)
  config.model = ml_collections.ConfigDict(dict(input_size=(1, 32, 32, 3), channels=16, cells_count=5,
                                                num_classes=100, seed=0))
  config.costs = ml_collections.ConfigDict(dict(num_classes=100))  # FLOPs/params: the space's network settings
  config.workers = 2              # NB201: scoring processes, one thread and about 3 GB each
  config.save_every = 25          # networks scored between saves of partial.npz
  return config
