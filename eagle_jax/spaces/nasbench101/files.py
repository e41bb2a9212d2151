"""NB101 data files: NASLib's zero-cost JSON, Eagle's `nb101_model_info.pickle`, and NAS-Bench-101's released
`nasbench_only108.tfrecord` / `nasbench_full.tfrecord` (read with TensorFlow). Eagle's `{hash: value}` pickles
are plain measurement files (eagle_jax.data). Every cell read here is registered with the NB101 space, so its
hash encodes without the enumerated space.
"""
import base64
import collections
import json
import math
import struct
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from eagle_jax.spaces.nasbench101 import archs as nb101

# NASLib's NB101 op codes in its 56-tuple keys (49 adjacency entries, then 7 op codes).
_NASLIB_OPS = {0: nb101.INPUT, 1: nb101.OUTPUT, 2: 'maxpool3x3', 3: 'conv1x1-bn-relu', 4: 'conv3x3-bn-relu'}
TFRECORD_COLUMNS = ('val_accuracy', 'test_accuracy', 'train_accuracy', 'training_time', 'params')


def _naslib_spec(text: str, where: str):
  try:
    values = [int(v) for v in text.strip('() ').split(',')]
  except ValueError as e:
    raise ValueError(f'{where}: key {text[:40]!r}... is not a tuple of integers') from e
  for n in range(2, nb101.MAX_VERTICES + 1):
    if n * n + n == len(values):
      break
  else:
    raise ValueError(f'{where}: key of {len(values)} integers is not an n x n adjacency plus n op codes')
  if any(v not in _NASLIB_OPS for v in values[n * n:]):
    raise ValueError(f'{where}: unknown NASLib op code in {values[n * n:]} (known: {_NASLIB_OPS})')
  return np.array(values[:n * n]).reshape(n, n), [_NASLIB_OPS[v] for v in values[n * n:]]


def read_naslib_json(path, column: Optional[str] = None, dataset: str = 'cifar10') -> Dict[str, float]:
  """{hash: value} from NASLib's zc_nasbench101.json: `column` is val_accuracy (default, %) or a proxy name.

  NASLib stores unpruned matrices, so several entries can be one cell: their values are averaged (for
  val_accuracy, each entry is one training seed NASLib drew, so the mean is a mean over the seeds drawn).
  """
  path = Path(path)
  try:
    records = json.loads(path.read_text())['nasbench101'][dataset]
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path}: not NASLib NB101 JSON with ["nasbench101"][{dataset!r}]: {e}') from e
  column = column or 'val_accuracy'
  groups = collections.defaultdict(list)
  for text, record in records.items():
    if column not in record:
      raise ValueError(f'{path}: entry {text[:40]}... has no {column!r}; fields: {sorted(record)}')
    value = record[column]['score'] if isinstance(record[column], dict) else record[column]
    key = nb101.register(*_naslib_spec(text, str(path)), where=f'{path} entry {text[:40]}...')
    groups[key].append(float(value))
  if not groups:
    raise ValueError(f'{path}: holds no NB101 entries')
  return {key: float(np.mean(values)) for key, values in groups.items()}


def read_model_info(path) -> Dict[str, tuple]:
  """Eagle's NB101 structure cache {hash: (adjacency, ops)}; every hash is checked against its structure."""
  from eagle_jax.data import formats  # pylint: disable=g-import-not-at-top  (data imports spaces)
  obj = formats.read_pickle(path, arrays=True)
  if not isinstance(obj, dict) or not obj:
    raise ValueError(f'{path}: expected a pickled dict {{hash: (adjacency, ops)}}')
  specs = {}
  for key, value in obj.items():
    where = f'{path} entry {key!r}'
    if not isinstance(value, (tuple, list)) or len(value) != 2:
      raise ValueError(f'{where}: expected (adjacency, ops), got {type(value).__name__}')
    computed = nb101.register(*value, where=where)
    if computed != nb101.check_hash(key, where):
      raise ValueError(f'{where}: its structure hashes to {computed}')
    specs[computed] = nb101.registered_spec(computed)
  return specs


def _varint(data: bytes, at: int):
  value, shift = 0, 0
  while True:
    byte = data[at]
    value |= (byte & 0x7F) << shift
    at += 1
    if byte < 0x80:
      return value, at
    shift += 7


def _proto_fields(data: bytes) -> list:
  """(field number, value) pairs of a protobuf message (varint, 64-bit, length-delimited and 32-bit fields)."""
  fields, at = [], 0
  while at < len(data):
    tag, at = _varint(data, at)
    number, wire = tag >> 3, tag & 7
    if wire == 0:
      value, at = _varint(data, at)
    elif wire == 1:
      value, at = struct.unpack_from('<d', data, at)[0], at + 8
    elif wire == 2:
      size, at = _varint(data, at)
      value, at = data[at:at + size], at + size
    elif wire == 5:
      value, at = struct.unpack_from('<f', data, at)[0], at + 4
    else:
      raise ValueError(f'unsupported protobuf wire type {wire}')
    fields.append((number, value))
  return fields


def parse_model_metrics(raw: bytes) -> dict:
  """NAS-Bench-101's ModelMetrics message: evaluations (epoch, training_time, train/validation/test accuracy)
  and trainable_parameters."""
  names = {1: 'current_epoch', 2: 'training_time', 3: 'train_accuracy', 4: 'validation_accuracy',
           5: 'test_accuracy'}
  evaluations, params = [], None
  for number, value in _proto_fields(raw):
    if number == 1:
      evaluations.append({names[n]: v for n, v in _proto_fields(value) if n in names})
    elif number == 2:
      params = value
  return {'evaluations': evaluations, 'trainable_parameters': params}


def read_tfrecord(path, column: Optional[str] = None, epochs: Optional[int] = None) -> Dict[str, float]:
  """{hash: value} from NAS-Bench-101's tfrecord at `epochs` (default: the largest present, 108): the mean
  over the training repeats of the final `column` (val_accuracy by default; accuracies in %, training_time in
  s, params)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (only this reader needs it)
  path = Path(path)
  column = column or 'val_accuracy'
  if column not in TFRECORD_COLUMNS:
    raise ValueError(f'{path}: unknown column {column!r}; NB101 tfrecord columns: {TFRECORD_COLUMNS}')
  if not path.is_file():
    raise FileNotFoundError(f'NB101 tfrecord {path} does not exist')
  rows = collections.defaultdict(lambda: collections.defaultdict(list))
  try:
    for number, record in enumerate(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()):
      where = f'{path} record {number}'
      try:
        module_hash, record_epochs, adjacency, operations, metrics = json.loads(record.decode('utf-8'))
        dim = math.isqrt(len(adjacency))
        matrix = np.array([int(c) for c in adjacency]).reshape(dim, dim)
        parsed = parse_model_metrics(base64.b64decode(metrics))
        final = parsed['evaluations'][-1]
      except (ValueError, TypeError, IndexError, KeyError) as e:
        raise ValueError(f'{where}: not a NAS-Bench-101 record: {e}') from e
      key = nb101.register(matrix, operations.split(','), where=where)
      if key != module_hash:
        raise ValueError(f'{where}: the stored hash {module_hash} differs from the module\'s hash {key}')
      value = {'val_accuracy': 100 * final.get('validation_accuracy', math.nan),
               'test_accuracy': 100 * final.get('test_accuracy', math.nan),
               'train_accuracy': 100 * final.get('train_accuracy', math.nan),
               'training_time': final.get('training_time', math.nan),
               'params': parsed['trainable_parameters']}[column]
      rows[int(record_epochs)][key].append(float(value))
  except tf.errors.DataLossError as e:
    raise ValueError(f'{path}: corrupted or truncated TFRecord file: {e}') from e
  if not rows:
    raise ValueError(f'{path}: holds no records')
  epochs = max(rows) if epochs is None else epochs
  if epochs not in rows:
    raise ValueError(f'{path}: no records at {epochs} epochs; it has {sorted(rows)}')
  return {key: float(np.mean(values)) for key, values in rows[epochs].items()}
