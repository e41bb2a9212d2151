"""A profiled layer table (measure/layers.py): Eagle's results/results_layers.pickle, a list of (tag, timings), and
layers.json, the network settings its layers belong to; and the layer-wise lookup that sums it over an arch's
layers (the `lut` baseline)."""
import json
from pathlib import Path

import numpy as np

from eagle_jax.data import formats, tools

CARD = 'layers.json'


def path(workdir) -> Path:
  """Where a layer-profiling workdir keeps its table (Eagle's place for it)."""
  return Path(workdir) / 'results' / tools.LAYER_TABLE


def space_layers(space, model_config: dict) -> list:
  """The space's distinct layers (`network().layers(**config.model)`); a clear error for a space without them."""
  network = space.network()
  if not hasattr(network, 'layers'):
    raise ValueError(f'the {space.name} network has no per-layer description (network().layers): it cannot be '
                     'profiled layer by layer')
  return network.layers(**model_config)


def read_table(path) -> list:
  """results_layers.pickle: a list of (tag, timings or error string)."""
  table = formats.read_pickle(path)
  if not isinstance(table, list) or not all(isinstance(e, (tuple, list)) and len(e) == 2 and isinstance(e[0], str)
                                            for e in table):
    raise ValueError(f'{path}: not a layer table (expected a pickled list of (tag, timings) pairs)')
  return [tuple(entry) for entry in table]


def read_lookup(workdir) -> tuple:
  """(network settings, space reference, {tag: seconds}) of a finished layer-profiling workdir; a clear error
  naming any layer without a timing."""
  workdir = Path(workdir)
  card_path, table_path = workdir / CARD, path(workdir)
  for needed in (card_path, table_path):
    if not needed.is_file():
      raise FileNotFoundError(f'{workdir} is not a layer-profiling workdir: {needed.name} is missing (measure with '
                              'configs/measure/layers_<space>.py first)')
  card = json.loads(card_path.read_text())
  seconds = {}
  for tag, value in read_table(table_path):
    if isinstance(value, str):
      raise ValueError(f'{table_path}: layer {tag} has no timing ({value})')
    seconds[tag] = tools.two_level_iqr_mean(value)
  return card['model'], card['space'], seconds


def lookup_latency(space, keys, model_config: dict, seconds: dict) -> np.ndarray:
  """The layer-wise lookup: each arch's latency as the sum of its layers' timings (`network().layer_counts`)."""
  tags = [layer.tag for layer in space_layers(space, model_config)]
  missing = [tag for tag in tags if tag not in seconds]
  if missing:
    raise ValueError(f'the layer table lacks {len(missing)} layers of the network it is asked about: '
                     f'{", ".join(missing[:5])} (profiled with other network settings?)')
  return space.network().layer_counts(keys, **model_config) @ np.array([seconds[tag] for tag in tags])
