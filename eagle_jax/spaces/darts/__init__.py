"""DARTS: genotype keys and text, Eagle's and the fast sampler, Eagle's encoding, costs (archs), NASLib's JSON and
Eagle's pickles (files), the CIFAR network in Keras (network), and the Space."""
from typing import Tuple

import numpy as np

from eagle_jax.spaces import space as space_lib
from eagle_jax.spaces.darts import files
from eagle_jax.spaces.darts.archs import *  # pylint: disable=wildcard-import,unused-wildcard-import


class Darts(space_lib.Space):
  """DARTS behind the Space interface: keys are 32-int tuples, strings DARTS's Genotype text; not enumerable
  (about 2.8e20 genotypes), so `sample(n, seed, mode)` gives candidate sets."""
  name = 'darts'
  prior, prior_column = 'costs', 'params'  # data-free: parameters of each cell's network, for any candidate set;
  # chosen on DARTS's NASLib genotypes, reported on NB101 and NB201 (experiments/validations/replay_suite.md)
  num_nodes = NUM_NODES
  num_features = NUM_FEATURES

  def _one(self, arch) -> Tuple[int, ...]:
    if isinstance(arch, (str, np.str_)):
      return parse_text(str(arch))
    if isinstance(arch, tuple) and len(arch) == 4:
      return genotype_key(arch)
    values = np.asarray(arch)
    if values.shape == (KEY_WIDTH,) and values.dtype.kind in 'iu':
      return genotype_key(to_genotype(values), f'DARTS key {values.tolist()}')
    raise ValueError(f'{arch!r:.80} is neither DARTS Genotype text, a Genotype nor a 32-int key')

  def as_keys(self, archs) -> np.ndarray:
    if isinstance(archs, np.ndarray) and archs.dtype.kind in 'iu' and archs.ndim == 2:
      if archs.shape[1] != KEY_WIDTH:
        raise ValueError(f'DARTS key arrays are (n, {KEY_WIDTH}), got {archs.shape}')
      return check_key_array(archs)
    if isinstance(archs, (str, np.str_)) or (isinstance(archs, tuple) and len(archs) in (4, KEY_WIDTH)):
      archs = [archs]
    return np.array([self._one(a) for a in archs], np.int8).reshape(-1, KEY_WIDTH)

  def hashable(self, keys) -> list:
    return [tuple(k) for k in np.asarray(keys, np.int64).reshape(-1, KEY_WIDTH).tolist()]

  def to_str(self, key) -> str:
    return to_text(key)

  def from_str(self, text: str) -> Tuple[int, ...]:
    return parse_text(text)

  def encode(self, keys) -> Tuple[np.ndarray, np.ndarray]:
    return encode_keys(self.as_keys(keys))

  def read_file(self, path, column=None, where=None):
    """NASLib's DARTS JSON and Eagle's DARTS pickles; see files."""
    return files.read_file(path, column, where)

  def network(self):
    from eagle_jax.spaces.darts import network  # pylint: disable=g-import-not-at-top  (TF)
    return network

  def sample_chunks(self, n: int, seed: int, chunk: int = 100_000, mode: str = 'fast'):
    """Streamed genotypes: `fast` or `eagle` (Eagle's exact sequence); see archs.sample_chunks."""
    return sample_chunks(n, seed, chunk, mode)

  def sample(self, n: int, seed: int, mode: str = 'fast') -> np.ndarray:
    """`n` distinct genotypes: `fast` (vectorised) or `eagle` (Eagle's draws); see `sample_chunks`."""
    return np.concatenate(list(sample_chunks(n, seed, mode=mode)))

  def mutate(self, key, rng: np.random.Generator) -> Tuple[int, ...]:
    """Changes one op, or one input of a node to another earlier node (its two inputs stay distinct)."""
    key = list(key)
    edge = int(rng.integers(2 * EDGES))
    op, source = 2 * edge, 2 * edge + 1
    node = 2 + (edge % EDGES) // 2
    other = key[source + 2] if edge % 2 == 0 else key[source - 2]
    choices = [i for i in range(node) if i not in (key[source], other)]
    if choices and rng.random() < 0.5:
      key[source] = int(rng.choice(choices))
    else:
      key[op] = int(rng.choice([o for o in range(len(OPS)) if o != key[op]]))
    return tuple(key)

  def network_costs(self, keys, **network) -> np.ndarray:
    """MACs (convolutions and classifier) and parameters (no auxiliary head) of DARTS's CIFAR network."""
    return network_costs(self.as_keys(keys), **network)


SPACE = Darts()
