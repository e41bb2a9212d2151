"""The NB101 space: NAS-Bench-101's hash, pruning, enumeration, Eagle's encoding, costs, files, errors."""
import base64
import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NASLIB_NB101_JSON as NASLIB_JSON
from eagle_jax import data, spaces
from eagle_jax.data import formats, tools
from eagle_jax.measure import driver
from eagle_jax.predictors import baselines, experiment, inference
from eagle_jax.search import job, logs, replay
from eagle_jax.spaces import nasbench101 as nb101
from eagle_jax.spaces.nasbench101 import files as nasbench101_files

ROOT = Path(__file__).resolve().parents[1]
# NAS-Bench-101's published module 00005c142e6f48ac74fdcf73e3439874 (8,555,530 trainable parameters).
KNOWN_HASH = '00005c142e6f48ac74fdcf73e3439874'
KNOWN_ROWS = ('0100110', '0010000', '0001001', '0000010', '0000010', '0000001', '0000000')
KNOWN_OPS = ('input', 'conv3x3-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv1x1-bn-relu',
             'output')
SPACE = spaces.get('nasbench101')


def _matrix(rows):
  return np.array([[int(c) for c in row] for row in rows])


def test_known_hash_and_isomorphic_orders():
  assert SPACE.key((_matrix(KNOWN_ROWS), KNOWN_OPS)) == KNOWN_HASH
  # vertices 3 and 4 swapped (no edge between them): the same module in another vertex order
  order = [0, 1, 2, 4, 3, 5, 6]
  swapped = _matrix(KNOWN_ROWS)[np.ix_(order, order)]
  assert np.array_equal(np.triu(swapped, 1), swapped)
  assert SPACE.key((swapped, [KNOWN_OPS[v] for v in order])) == KNOWN_HASH
  # vertices off every input->output path are pruned before hashing
  small = _matrix(('0100', '0011', '0001', '0000'))
  ops = ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'output']
  dangling = np.zeros((6, 6), int)
  dangling[np.ix_([0, 1, 2, 5], [0, 1, 2, 5])] = small
  dangling[1, 3] = dangling[4, 5] = 1  # vertex 3 has no way out, vertex 4 no way in
  dangling_ops = ops[:3] + ['conv1x1-bn-relu', 'conv1x1-bn-relu', 'output']
  assert SPACE.key((dangling, dangling_ops)) == SPACE.key((small, ops))


def test_costs_match_nasbench101_and_naslib():
  assert SPACE.params([KNOWN_HASH])[0] == 8_555_530
  raw = json.loads(NASLIB_JSON.read_text())['nasbench101']['cifar10']
  differ = []
  for text, record in raw.items():
    matrix, ops = nasbench101_files._naslib_spec(text, 'naslib')  # pylint: disable=protected-access
    pruned = nb101.check_spec(matrix, ops)  # in NASLib's vertex order: the channel split depends on the order
    if nb101.network_cost(*pruned)[1] != round(record['params'] * 1e6):
      differ.append(len(pruned[0]) < len(matrix))
  # 497 of 500 agree exactly; the 3 others are stored unpruned and NASLib counts their pruned-away vertices
  assert len(differ) <= 3 and all(differ)


def test_any_vertex_order_gives_the_spec_nasbench101_stores():
  rng = np.random.default_rng(0)
  for text in list(json.loads(NASLIB_JSON.read_text())['nasbench101']['cifar10'])[:100]:
    matrix, ops = nb101.check_spec(*nasbench101_files._naslib_spec(text, 'naslib'))  # pylint: disable=protected-access
    canonical = nb101.canonical_spec(matrix, ops)
    for _ in range(5):
      order = [0, *rng.permutation(range(1, len(ops) - 1)), len(ops) - 1]
      permuted = matrix[np.ix_(order, order)]
      if not np.tril(permuted).any():
        again = nb101.canonical_spec(permuted, [ops[v] for v in order])
        assert np.array_equal(again[0], canonical[0]) and again[1] == canonical[1]
  swapped_order = [0, 1, 2, 4, 3, 5, 6]
  spec = nb101.canonical_spec(_matrix(KNOWN_ROWS)[np.ix_(swapped_order, swapped_order)],
                              [KNOWN_OPS[v] for v in swapped_order])
  np.testing.assert_array_equal(spec[0], _matrix(KNOWN_ROWS))  # NB101's stored order, as enumerated
  assert spec[1] == KNOWN_OPS


@pytest.mark.slow
def test_enumeration_count_checksum_first_specs_and_cache(tmp_path, monkeypatch):
  monkeypatch.setenv('EAGLE_JAX_CACHE', str(tmp_path))
  nb101.enumerated.cache_clear()
  arrays = nb101.enumerated()  # generated from scratch (about a minute), then cached
  assert len(arrays['hashes']) == nb101.NUM_CELLS == 423_624
  assert nb101.hashes_sha256(arrays['hashes']) == nb101.SPACE_SHA256
  row = int(np.searchsorted(arrays['hashes'], KNOWN_HASH))
  matrix, ops = nb101.archs._unpad(arrays['padded'][row], arrays['codes'][row])  # pylint: disable=protected-access
  np.testing.assert_array_equal(matrix, _matrix(KNOWN_ROWS))  # the spec NAS-Bench-101 stores for it
  assert ops == KNOWN_OPS
  cached = nb101.archs._read_cache(tmp_path / 'nasbench101_space.npz')  # pylint: disable=protected-access
  assert all(np.array_equal(cached[k], arrays[k]) for k in arrays)


def test_broken_cache_is_not_used(tmp_path, monkeypatch):
  monkeypatch.setenv('EAGLE_JAX_CACHE', str(tmp_path))
  path = nb101.cache_dir() / 'nasbench101_space.npz'
  np.savez(path, hashes=np.array([KNOWN_HASH]), padded=np.zeros((1, 7, 7), np.int8), codes=np.zeros((1, 7), np.int8))
  assert nb101.archs._read_cache(path) is None  # pylint: disable=protected-access
  path.write_bytes(b'garbage')
  assert nb101.archs._read_cache(path) is None  # pylint: disable=protected-access


def test_encoding_golden_rows():
  adjacency, features = SPACE.encode([KNOWN_HASH])
  bits = lambda m: [''.join(str(int(x)) for x in row) for row in m]
  assert bits(adjacency[0]) == ['11111111', '01100110', '00110000', '00011001', '00001010', '00000110', '00000011',
                                '00000001']
  assert bits(features[0]) == ['0000001', '0000100', '0100000', '0001000', '0100000', '0100000', '0010000',
                               '0000010']
  # a 4-vertex cell: padding before the output, padded vertices one-hot 'none'
  small = SPACE.key((_matrix(('0100', '0011', '0001', '0000')), ['input', 'conv1x1-bn-relu', 'maxpool3x3', 'output']))
  adjacency, features = SPACE.encode([small])
  assert bits(adjacency[0]) == ['11111111', '01100000', '00110001', '00010001', '00001000', '00000100', '00000010',
                                '00000001']
  assert bits(features[0]) == ['0000001', '0000100', '0010000', '0001000', '1000000', '1000000', '1000000',
                               '0000010']


@pytest.mark.slow
def test_keys_strings_mutation_and_bad_input():
  assert SPACE.from_str(SPACE.to_str(KNOWN_HASH)) == KNOWN_HASH
  rng = np.random.default_rng(0)
  for _ in range(20):
    child = SPACE.mutate(KNOWN_HASH, rng)
    assert child != KNOWN_HASH and SPACE.encode([child])[0].shape == (1, 8, 8)
  with pytest.raises(ValueError, match="'xyz' is not an NB101 module hash"):
    SPACE.from_str('xyz')
  with pytest.raises(KeyError, match='0{32} is not an NB101 module hash'):
    SPACE.encode(['0' * 32])
  with pytest.raises(ValueError, match='11 edges after pruning, NB101 allows 9'):
    SPACE.key((np.triu(np.ones((7, 7), int), 1) * (np.arange(7)[None] - np.arange(7)[:, None] <= 2), KNOWN_OPS))
  with pytest.raises(ValueError, match="unknown op 'conv5x5'"):
    SPACE.key((_matrix(('010', '001', '000')), ['input', 'conv5x5', 'output']))
  with pytest.raises(ValueError, match='output is not reachable'):
    SPACE.key((_matrix(('010', '000', '000')), ['input', 'maxpool3x3', 'output']))
  with pytest.raises(ValueError, match='unknown search space'):
    spaces.get('nasbench301')


def test_naslib_json_reader_deduplicates_by_hash():
  dataset = data.load_dataset(NASLIB_JSON, space='nasbench101')
  assert len(dataset) == 292 and dataset.space.name == 'nasbench101'
  assert 73 < dataset.values.min() and dataset.values.max() < 95
  synflow = data.load_dataset(NASLIB_JSON, column='synflow', space='nasbench101')
  assert len(synflow) == 292
  bundled = data.load_dataset('nb101/naslib-cifar10')
  np.testing.assert_allclose(bundled.values, dataset.values[dataset.rows_of(bundled.keys)])
  with pytest.raises(ValueError, match="has no 'nosuchproxy'"):
    data.load_dataset(NASLIB_JSON, column='nosuchproxy', space='nasbench101')


def test_eagle_pickles_and_model_info(tmp_path):
  accuracy = {KNOWN_HASH: 0.93}
  formats.write_pickle(accuracy, tmp_path / 'nasbench1_cifar10_avg_val_accuracy.pickle')
  loaded = data.load_measurements(tmp_path / 'nasbench1_cifar10_avg_val_accuracy.pickle', space='nasbench101')
  assert loaded == accuracy
  info = {KNOWN_HASH: (_matrix(KNOWN_ROWS).astype(np.int8), list(KNOWN_OPS))}
  with open(tmp_path / 'nb101_model_info.pickle', 'wb') as f:
    pickle.dump(info, f)
  specs = nasbench101_files.read_model_info(tmp_path / 'nb101_model_info.pickle')
  assert list(specs) == [KNOWN_HASH]
  wrong = {'1' * 32: info[KNOWN_HASH]}
  with open(tmp_path / 'wrong.pickle', 'wb') as f:
    pickle.dump(wrong, f)
  with pytest.raises(ValueError, match=f'wrong.pickle entry .*hashes to {KNOWN_HASH}'):
    nasbench101_files.read_model_info(tmp_path / 'wrong.pickle')
  with pytest.raises(ValueError, match="bad architecture key 'not-a-hash'"):
    formats.write_pickle({'not-a-hash': 1.0}, tmp_path / 'bad.pickle')
    data.load_dataset(tmp_path / 'bad.pickle', space='nasbench101')


def _varint(value: int) -> bytes:
  out = b''
  while True:
    byte, value = value & 0x7F, value >> 7
    out += bytes([byte | (0x80 if value else 0)])
    if not value:
      return out


def _model_metrics(params: int, evaluations) -> bytes:
  """A ModelMetrics message in protobuf wire format (evaluation_data = 1, trainable_parameters = 2)."""
  message = b''
  for epoch, seconds, train, valid, test in evaluations:
    body = b''.join(_varint(number << 3 | 1) + struct.pack('<d', value)
                    for number, value in enumerate((epoch, seconds, train, valid, test), start=1))
    message += _varint(1 << 3 | 2) + _varint(len(body)) + body
  return message + _varint(2 << 3) + _varint(params)


def test_tfrecord_reader_on_the_released_layout(tmp_path):
  tf = pytest.importorskip('tensorflow')
  path = tmp_path / 'nasbench_small.tfrecord'
  adjacency = ''.join(KNOWN_ROWS)
  with tf.io.TFRecordWriter(str(path)) as writer:
    for epochs, valid in ((108, 0.93), (108, 0.94), (108, 0.95), (4, 0.5)):
      metrics = _model_metrics(8555530, [(0, 0, 0.1, 0.1, 0.1), (epochs / 2, 100, 0.8, 0.8, 0.8),
                                         (epochs, 200.0, 1.0, valid, valid - 0.01)])
      record = [KNOWN_HASH, epochs, adjacency, ','.join(KNOWN_OPS), base64.b64encode(metrics).decode()]
      writer.write(json.dumps(record).encode())
  values = nasbench101_files.read_tfrecord(path)
  assert list(values) == [KNOWN_HASH] and values[KNOWN_HASH] == pytest.approx(94.0)
  assert nasbench101_files.read_tfrecord(path, 'test_accuracy')[KNOWN_HASH] == pytest.approx(93.0)
  assert nasbench101_files.read_tfrecord(path, 'params')[KNOWN_HASH] == 8555530
  assert nasbench101_files.read_tfrecord(path, epochs=4)[KNOWN_HASH] == pytest.approx(50.0)
  out = tmp_path / 'nb101_val.pickle'
  subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'convert', '--space=nasbench101', f'--input={path}',
                  f'--output={out}'], check=True, capture_output=True)
  assert data.load_measurements(out, space='nasbench101') == pytest.approx({KNOWN_HASH: 94.0})
  bad = tmp_path / 'bad.tfrecord'
  with tf.io.TFRecordWriter(str(bad)) as writer:
    writer.write(json.dumps(['1' * 32, 108, adjacency, ','.join(KNOWN_OPS), base64.b64encode(metrics).decode()])
                 .encode())
  with pytest.raises(ValueError, match=f'bad.tfrecord record 0: the stored hash 1{{32}} differs .*{KNOWN_HASH}'):
    nasbench101_files.read_tfrecord(bad)
  truncated = tmp_path / 'truncated.tfrecord'
  truncated.write_bytes(path.read_bytes()[:50])
  with pytest.raises(ValueError, match='truncated.tfrecord'):
    nasbench101_files.read_tfrecord(truncated)


@pytest.mark.slow
def test_keras_network_matches_the_analytic_parameter_count():
  pytest.importorskip('tensorflow')
  from eagle_jax.spaces.nasbench101 import network as nb101_network  # pylint: disable=g-import-not-at-top
  small = SPACE.key((_matrix(('0110', '0001', '0001', '0000')), ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'output']))
  for key in (KNOWN_HASH, small):
    model = nb101_network.build(SPACE.spec(key))
    assert nb101_network.trainable_params(model) == SPACE.params([key])[0]
    assert model.output_shape == (1, 10)


def _tiny(config):
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=15, batch_size=8)
  return config


def _configs(kind: str, name: str):
  sys.path.insert(0, str(ROOT))
  return __import__(f'configs.{kind}.{name}', fromlist=['get_config']).get_config()


@pytest.mark.slow
def test_train_and_search_run_end_to_end_on_nb101(tmp_path):
  config = _tiny(_configs('predictors', 'acc_gcn_nasbench101_bin'))
  result = experiment.train_and_evaluate(config, tmp_path / 'acc')
  assert result['space'] == 'nasbench101' and result['n_test'] == 92 and result['spearman'] > 0.2
  rows = (tmp_path / 'acc' / 'predictions.csv').read_text().splitlines()
  assert len(rows) == 93 and SPACE.from_str(rows[1].split(',')[0])
  predictor = inference.load(tmp_path / 'acc', space='nasbench101')
  assert sorted(predictor.rank([KNOWN_HASH, rows[1].split(',')[0]]).tolist()) == [0, 1]
  with pytest.raises(ValueError, match='trained on nasbench101 archs and cannot score nasbench201'):
    inference.load(tmp_path / 'acc', space='nasbench201')
  nb201 = _tiny(_configs('predictors', 'test'))
  nb201.training.transfer_from = str(tmp_path / 'acc')
  with pytest.raises(ValueError, match='trained on nasbench101 archs'):
    experiment.train_and_evaluate(nb201, tmp_path / 'wrong')

  search = _tiny(_configs('search', 'brp_nasbench101'))
  search.search.update(budget=20, iterations=2)
  summary = job.run(search, tmp_path / 'search', progress=False)
  assert summary['candidates'] == 292 and summary['models_trained'] == 20
  trace = logs.read_trace(tmp_path / 'search' / 'trace.txt', 'nasbench101')
  assert len(trace) == 292 and len(set(trace)) == 292
  run = logs.parse_log(tmp_path / 'search' / 'log.txt', 'nasbench101')[0]
  assert logs.trace_of(run) == trace


def test_baselines_and_replay_go_through_the_space():
  dataset = data.load_dataset('nb101/naslib-cifar10')
  fitted = baselines.fit_baseline('linear', dataset.space, dataset.keys[:200], dataset.values[:200])
  assert fitted.predict(dataset.keys[200:]).shape == (92,)
  with pytest.raises(ValueError, match="'flops_unpruned' needs a network with dead ops"):
    baselines.fit_baseline('flops_unpruned', dataset.space, dataset.keys, dataset.values)
  trace = replay.regularized_evolution(dataset.space, dataset.keys, dataset.values, 100, seed=0)
  assert len(set(trace.tolist())) == 100
  trace = replay.ridge_search(dataset.space, dataset.keys, dataset.values, 40, 4, seed=0)
  assert sorted(trace.tolist()) == list(range(292))


@pytest.mark.slow
def test_measure_binary_times_nb101_networks(tmp_path):
  pytest.importorskip('tensorflow')
  config = _configs('measure', 'desktop_nasbench101')
  config.num_archs = 2
  config.runner.update(runs=2, avg_between=2, warmup=1, interval=0.0)
  config.archs = 'list'
  small = SPACE.key((_matrix(('010', '001', '000')), ['input', 'maxpool3x3', 'output']))
  (tmp_path / 'cells.txt').write_text(f'{KNOWN_HASH}\n{small}\n')
  config.arch_list = str(tmp_path / 'cells.txt')
  summary = driver.measure(config, tmp_path / 'run', progress=False)
  assert summary['measured'] == 2
  reduced, counts = tools.stats(tools.combine(tools.shard_paths(tmp_path / 'run' / 'results'), 'nasbench101'))
  assert counts['valid'] == 2 and KNOWN_HASH in reduced and all(v > 0 for v in reduced.values())


@pytest.mark.slow
def test_search_ranks_the_whole_enumerated_space_on_request(tmp_path):
  search = _tiny(_configs('search', 'brp_nasbench101'))
  search.search.update(budget=10, iterations=2, rank_space=True)
  search.training.epochs = 3
  summary = job.run(search, tmp_path, progress=False)
  ranked = logs.read_trace(tmp_path / 'space_ranking.txt', 'nasbench101')
  assert summary['space_ranking']['archs'] == len(ranked) == nb101.NUM_CELLS and len(set(ranked)) == len(ranked)
