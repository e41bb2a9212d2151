"""Bundles NASLib's NB101 zero-cost subset ($EAGLE_JAX_DATA/naslib-zc-subsets, Apache-2.0) as `nb101/naslib-cifar10`:
292 distinct cells (500 entries, deduplicated by module hash; duplicates' values averaged), CIFAR-10 validation
accuracy (%) of one NB101 training seed per entry as NASLib drew it.

python experiments/data_builders/build_nb101_naslib_dataset.py
"""
import json
import os
from pathlib import Path

from absl import app

from eagle_jax.data import bundled_data
from eagle_jax.spaces.nasbench101 import files as nasbench101_files

SOURCE = Path(os.environ.get('EAGLE_JAX_DATA', '')) / 'naslib-zc-subsets' / 'raw' / 'zc_nasbench101.json'


def main(argv):
  del argv
  accuracy = nasbench101_files.read_naslib_json(SOURCE)
  card = {'units': '%', 'source': 'automl/NASLib zerocost branch, naslib/data/zc_nasbench101.json (Apache-2.0)',
          'description': 'NAS-Bench-101 CIFAR-10 108-epoch validation accuracy (%) of 292 cells from NASLib\'s '
                         'zero-cost subset (500 entries; entries of one cell averaged; one training seed per entry)'}
  path = bundled_data.write_bundle('nb101/naslib-cifar10', accuracy, 'nasbench101', card)
  print(json.dumps({'card': str(path), 'entries': len(accuracy)}, indent=2))


if __name__ == '__main__':
  app.run(main)
