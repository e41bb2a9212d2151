"""NAS-Bench-101: module-hash keys, the enumerated cells, Eagle's encoding, costs (archs), NASLib's JSON,
NAS-Bench-101's tfrecords and Eagle's model info (files), the CIFAR network in Keras (network), and the Space."""
from pathlib import Path
from typing import Tuple

import numpy as np

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.nasbench101 import files
from eagle_jax.spaces.nasbench101.archs import _SPECS, _unpad
from eagle_jax.spaces.nasbench101.archs import *  # pylint: disable=wildcard-import,unused-wildcard-import


class NasBench101(space_lib.HashKeyedSpace):
  """NB101 behind the Space interface: keys and strings are module hashes; specs are (adjacency, op names)."""
  name = 'nasbench101'
  prior, prior_column = 'costs', 'params'  # data-free: parameters of each cell's network, for any candidate set;
  # chosen on DARTS's NASLib genotypes, reported on NB101 and NB201 (experiments/validations/replay_suite.md)
  num_nodes = NUM_NODES
  num_features = NUM_FEATURES
  hash_name = 'NB101 module hash'

  @staticmethod
  def register(matrix, ops, where: str = 'NB101 cell') -> str:
    """The hash of a cell given as (adjacency, op names), its spec remembered (see archs.register)."""
    return register(matrix, ops, where)

  def is_single_spec(self, arch) -> bool:
    return isinstance(arch, tuple) and len(arch) == 2 and not isinstance(arch[1], (str, np.str_))

  def spec_key(self, arch) -> str:
    if isinstance(arch, (tuple, list)) and len(arch) == 2 and not isinstance(arch[1], (str, np.str_)):
      return self.register(*arch)
    raise ValueError(f'{arch!r} is neither an NB101 module hash nor an (adjacency, ops) spec')

  def specs(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    """Padded specs (n, 7, 7) and op codes (n, 7) of the keys; KeyError naming a hash outside the space."""
    keys = self.as_keys(keys)
    padded = np.zeros((len(keys), MAX_VERTICES, MAX_VERTICES), np.int8)
    codes = np.zeros((len(keys), MAX_VERTICES), np.int8)
    missing = []
    for row, key in enumerate(keys.tolist()):
      spec = _SPECS.get(key)
      if spec is None:
        missing.append(row)
      else:
        padded[row], codes[row] = spec
    if missing:
      space = enumerated()
      found = np.searchsorted(space['hashes'], keys[missing])
      found = np.minimum(found, len(space['hashes']) - 1)
      absent = space['hashes'][found] != keys[missing]
      if absent.any():
        raise KeyError(f'{keys[missing][np.argmax(absent)]} is not an NB101 module hash (not in the 423,624 cells)')
      padded[missing], codes[missing] = space['padded'][found], space['codes'][found]
    return padded, codes

  def spec(self, key) -> Spec:
    """(adjacency, op names) of one key, as NAS-Bench-101 stores the module."""
    padded, codes = self.specs([key])
    matrix, ops = _unpad(padded[0], codes[0])
    return matrix.tolist(), ops

  def encode(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    return encode_padded(*self.specs(keys))

  def read_file(self, path, column=None, where=None):
    """NASLib's zero-cost JSON (.json) and NAS-Bench-101's tfrecords (.tfrecord); see files."""
    suffix = Path(path).suffix.lower()
    if suffix == '.json':
      return files.read_naslib_json(path, column, **(where or {}))
    if suffix == '.tfrecord':
      return files.read_tfrecord(path, column, **(where or {}))
    return None

  def network(self):
    from eagle_jax.spaces.nasbench101 import network  # pylint: disable=g-import-not-at-top  (TF)
    return network

  def spec_arrays(self, keys) -> dict:
    padded, codes = self.specs(keys)
    return {'padded': padded, 'codes': codes}

  def register_spec_arrays(self, keys, arrays: dict) -> None:
    for key, padded, codes in zip(self.hashable(keys), arrays['padded'], arrays['codes']):
      spec = _unpad(np.asarray(padded, np.int8), np.asarray(codes, np.int8))
      if self.register(*spec, where=f'spec of {key}') != key:
        raise ValueError(f'the spec stored for {key} hashes to another cell')

  def linear_features(self, keys) -> np.ndarray:
    padded, codes = self.specs(keys)
    n = len(padded)
    upper = padded[:, np.triu_indices(MAX_VERTICES, 1)[0], np.triu_indices(MAX_VERTICES, 1)[1]]
    ops = np.zeros((n, MAX_VERTICES, len(OPS) + 3))
    ops[np.arange(n)[:, None], np.arange(MAX_VERTICES)[None], codes + 1] = 1
    return np.concatenate([np.ones((n, 1)), upper, ops.reshape(n, -1)], axis=1)

  def enumerate(self) -> np.ndarray:
    return enumerated()['hashes']

  def mutate(self, key, rng: np.random.Generator) -> str:
    """Flips one edge or changes one op of the 7-vertex cell (padding vertices get random ops), until the
    result is a valid cell with another hash."""
    padded, codes = self.specs([key])
    names = OPS + (INPUT, OUTPUT)
    for _ in range(1000):
      matrix, ops = padded[0].copy(), [names[c] if c >= 0 else OPS[rng.integers(len(OPS))] for c in codes[0]]
      if rng.random() < 0.5:
        x, y = sorted(rng.choice(MAX_VERTICES, 2, replace=False))
        matrix[x, y] ^= 1
      else:
        vertex = rng.integers(1, MAX_VERTICES - 1)
        ops[vertex] = OPS[rng.choice([o for o in range(len(OPS)) if OPS[o] != ops[vertex]])]
      try:
        new = self.register(matrix, ops)
      except ValueError:
        continue
      if new != key:
        return new
    raise RuntimeError(f'no valid mutation of {key} found in 1000 tries')

  def network_costs(self, keys, **network) -> np.ndarray:
    """MACs (convolutions and classifier) and parameters (convs, BatchNorm affine, classifier) of the NB101
    network per cell."""
    padded, codes = self.specs(keys)
    return np.array([network_cost(*_unpad(p, c), **network) for p, c in zip(padded, codes)], np.float64)


SPACE = NasBench101()
