"""BRP-NAS on NB201 CIFAR-100 (bundled): binary GCN, 100 models over 5 iterations, alpha = 0.5 (sample_best2),
zero-cost priors from the project's bundled synflow (first picks by it, and read beside the graph).

python -m eagle_jax.search --config=configs/search/brp_nasbench201.py --workdir=runs/brp
Searches on training seed 777's accuracy and reports the mean of seeds 888 and 999.
"""
from eagle_jax.search import defaults


def get_config():
  return defaults.brp_config('nb201/cifar100', 'nasbench201')
