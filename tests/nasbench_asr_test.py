"""The NB-ASR space: NAS-Bench-ASR's minimiser and hash, Eagle's encoding, the network's costs, the file readers
(on files written here in NAS-Bench-ASR's and Eagle's layouts: no NB-ASR data file is public to this project),
the measure, train and search binaries on NB-ASR configs."""
import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eagle_jax import data, spaces
from eagle_jax.data import tools
from eagle_jax.measure import driver
from eagle_jax.predictors import experiment, inference
from eagle_jax.search import job, logs
from eagle_jax.spaces import nasbench_asr as nbasr
from eagle_jax.spaces.nasbench_asr import files as nasbench_asr_files

ROOT = Path(__file__).resolve().parents[1]
SPACE = spaces.get('nasbench_asr')
LATENCY = 'cpu/epyc-litert-fp32-1thread-nbasr'
CHAIN = [['linear', 0], ['conv5', 0, 0], ['conv7', 0, 0, 0]]
EMPTY = [[5, 0], [5, 0, 0], [5, 0, 0, 0]]


def _reference_hash(vector) -> str:
  """NAS-Bench-ASR's procedure written out plainly for one arch: the float DAG, zero ops cut, a forward and a
  backward search, dangling vertices deleted, then the MD5 refinement hash."""
  nodes = nbasr.nested(vector)
  size = len(nodes) + 2
  matrix = np.zeros((size, size))
  labels = ['input'] + [nbasr.OPS[node[0]] for node in nodes] + ['output']
  for k, node in enumerate(nodes):
    matrix[k, k + 1] = 1
    for source, bit in enumerate(node[1:]):
      if bit:
        matrix[source, k + 2] = 1
  matrix[size - 2, size - 1] = 1
  for v in range(size):
    if labels[v] == 'zero':
      matrix[v, :] = matrix[:, v] = 0

  def search(start, backward):
    seen, todo = {start}, [start]
    while todo:
      v = todo.pop()
      for w in range(size):
        if w not in seen and (matrix[w, v] if backward else matrix[v, w]):
          seen.add(w)
          todo.append(w)
    return seen

  keep = sorted(search(0, False) & search(size - 1, True))
  matrix = matrix[np.ix_(keep, keep)]
  labels = [labels[v] for v in keep]
  ints = [-1] + [nbasr.OPS.index(op) for op in labels[1:-1]] + [-2] if labels else []
  n = len(keep)
  hashes = [hashlib.md5(str((matrix.sum(1).tolist()[v], matrix.sum(0).tolist()[v], ints[v])).encode()).hexdigest()
            for v in range(n)]
  for _ in range(n):
    hashes = [hashlib.md5((''.join(sorted(hashes[w] for w in range(n) if matrix[w, v])) + '|' +
                           ''.join(sorted(hashes[w] for w in range(n) if matrix[v, w])) + '|' + hashes[v]).encode()
                          ).hexdigest() for v in range(n)]
  return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()


def _rows(adjacency):
  return [''.join(str(int(v)) for v in row) for row in adjacency]


def test_13824_vectors_give_8242_networks_hashed_as_nasbench_asr_does():
  vectors = nbasr.all_vectors()
  assert vectors.shape == (13824, 9) and len({tuple(v) for v in vectors.tolist()}) == 13824
  assert vectors[1].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]  # the first op changes fastest
  space = nbasr.enumerated()
  assert len(space['hashes']) == 8242 == len(SPACE.enumerate()) and space['counts'].sum() == 13824
  assert list(space['hashes']) == sorted(space['hashes'])
  rng = np.random.default_rng(0)
  for vector in vectors[rng.choice(13824, 300, replace=False)]:
    assert nbasr.vector_hash(vector) == _reference_hash(vector)
  # the empty graph (the output cut off) is one network, hashed over no vertices
  assert SPACE.key(EMPTY) == hashlib.md5(b'[]').hexdigest() == _reference_hash(nbasr.flat_vector(EMPTY))
  # the kept spec is the last vector of its hash in NB-ASR's order (Eagle's choice)
  all_hashes = [nbasr.vector_hash(v) for v in vectors[-500:]]
  last = {h: v for h, v in zip(all_hashes, vectors[-500:].tolist())}
  for key, vector in list(last.items())[:50]:
    assert nbasr.flat_vector(SPACE.spec(key)) == tuple(vector)


def test_vectors_that_minimise_to_one_graph_share_a_hash():
  # a skip bit out of a zero op is cut with it
  assert SPACE.key([['zero', 0], ['linear', 1, 0], ['conv5', 0, 0, 0]]) == \
      SPACE.key([['zero', 0], ['linear', 1, 1], ['conv5', 0, 0, 0]])
  # input -> linear -> output on the first vertex or, through skips, on the last
  first = SPACE.key([['linear', 0], ['zero', 0, 0], ['zero', 0, 1, 0]])
  assert first == SPACE.key([['zero', 0], ['zero', 1, 0], ['linear', 0, 0, 0]])
  assert first != SPACE.key([['conv5', 0], ['zero', 0, 0], ['zero', 0, 1, 0]])
  # a vertex with no way in is dangling: conv7 after a zero, reached by nothing
  assert SPACE.key([['linear', 0], ['zero', 0, 0], ['conv7', 0, 1, 0]]) == first
  # and with no way to the output from the input, every arch is the one empty network
  assert SPACE.key([['linear', 0], ['zero', 0, 0], ['conv7', 0, 0, 1]]) == SPACE.key(EMPTY)
  # ints, names, nested and flat forms are one arch
  assert SPACE.key([0, 0, 1, 0, 0, 3, 0, 0, 0]) == SPACE.key(CHAIN) == SPACE.key(np.array([0, 0, 1, 0, 0, 3, 0, 0, 0]))
  for key in SPACE.hashable(SPACE.enumerate()[:200]):
    assert SPACE.key(SPACE.spec(key)) == key


def test_encoding_golden_rows():
  adjacency, features = SPACE.encode([SPACE.key(CHAIN)])
  assert _rows(adjacency[0]) == ['111111', '011000', '001100', '000110', '000011', '000001']
  assert _rows(features[0]) == ['00000001', '00000100', '10000000', '01000000', '00010000', '00000010']
  # linear on vertex 1 with a skip around it; vertex 2 is zero and vertex 3 (conv5d2) has no way in
  arch = [['linear', 1], ['zero', 0, 0], ['conv5d2', 1, 1, 0]]
  adjacency, features = nbasr.encode_vectors([nbasr.flat_vector(arch)])
  assert _rows(adjacency[0]) == ['111111', '011001', '001001', '000100', '000010', '000001']
  assert _rows(features[0]) == ['00000001', '00000100', '10000000', '00000000', '00000000', '00000010']
  adjacency, features = SPACE.encode([SPACE.key(EMPTY)])
  assert _rows(adjacency[0]) == ['111111', '010000', '001000', '000100', '000010', '000001']
  assert _rows(features[0]) == ['00000001'] + ['00000000'] * 5
  adjacency, features = SPACE.encode(SPACE.enumerate())
  assert adjacency.shape == (8242, 6, 6) and features.shape == (8242, 6, 8)
  representatives, _ = SPACE.group_identical_encodings(SPACE.enumerate())
  assert len(representatives) == 8242


def test_costs_of_the_network():
  chain, empty = SPACE.key(CHAIN), SPACE.key(EMPTY)
  flops, params = SPACE.flops([chain, empty]), SPACE.params([chain, empty])
  assert flops[0] > flops[1] > 0 and params[0] > params[1] > 0
  # the empty network: four kernel-8 reductions with LayerNorm, a LayerNorm per cell, the LSTM and projection
  widths, cells, inputs = (600, 800, 1000, 1200), (3, 4, 5, 6), (80, 600, 800, 1000)
  expected = sum(8 * i * w + w + 2 * w + c * 2 * w for i, w, c in zip(inputs, widths, cells))
  expected += 4 * (500 * (1200 + 500) + 500) + 500 * 49 + 49
  assert params[1] == expected
  assert SPACE.flops([chain], input_size=(1, 300, 80))[0] > 1.9 * flops[0]
  assert nbasr.conv_frames(150, 8, 1, 2) == 75 and nbasr.conv_frames(75, 8, 1, 2) == 38
  assert nbasr.conv_padding(5, 2, 1) == (4, 4) and nbasr.conv_padding(5, 1, 1) == (0, 4)


def test_bad_keys_give_clear_errors():
  with pytest.raises(ValueError, match="'xyz' is not an NB-ASR graph hash"):
    SPACE.key('xyz')
  with pytest.raises(ValueError, match="unknown op 'conv3'"):
    SPACE.key([['conv3', 0], ['linear', 0, 0], ['linear', 0, 0, 0]])
  with pytest.raises(ValueError, match='2 at position 1 .* is not a skip bit'):
    SPACE.key([[0, 2], [0, 0, 0], [0, 0, 0, 0]])
  with pytest.raises(ValueError, match='lengths'):
    SPACE.key([[0, 1], [0, 0], [0, 0, 0, 0]])
  with pytest.raises(KeyError, match='0123456789abcdef0123456789abcdef is not in the nasbench_asr space'):
    SPACE.encode(['0123456789abcdef0123456789abcdef'])
  rng = np.random.default_rng(0)
  key = SPACE.key(CHAIN)
  children = {SPACE.mutate(key, rng) for _ in range(20)}
  assert key not in children and len(children) > 5 and all(c in set(SPACE.hashable(SPACE.enumerate()))
                                                              for c in children)
  np.testing.assert_array_equal(SPACE.sample(50, 3), SPACE.sample(50, 3))


# ----- NAS-Bench-ASR's and Eagle's file layouts, written here -----

def _write_asr_pickle(path, header, rows):
  with open(path, 'wb') as f:
    pickle.dump(header, f)
    pickle.dump(rows, f)


def _search_space_header():
  return {'shape': [[6, 2], [6, 2, 2], [6, 2, 2, 2]], 'ops': list(nbasr.OPS), 'nodes': 3}


def _training_rows(keys, seed):
  rng = np.random.default_rng(seed)
  rows = []
  for key in keys:
    per = (0.2 + 0.6 * rng.random(5)).tolist()
    rows.append([key, per, float(rng.random()), 1.0e6, SPACE.spec(key)])
  return rows


def _training_file(path, keys, seed):
  header = {'dataset_type': 'training', 'seed': seed, 'version': 1, 'epochs': 40,
            'columns': ['model_hash', 'val_per', 'test_per', 'params', 'arch_vec'],
            'search_space': _search_space_header()}
  rows = _training_rows(keys, seed)
  _write_asr_pickle(path, header, rows)
  return rows


def test_nasbench_asr_files_read_and_convert(tmp_path):
  keys = SPACE.hashable(SPACE.sample(30, 0))
  folder = tmp_path / 'nb-asr'
  folder.mkdir()
  seeds = {seed: _training_file(folder / f'nb-asr-e40-{seed}.pickle', keys, seed) for seed in (1234, 1235)}
  one = data.load_measurements(folder / 'nb-asr-e40-1234.pickle', space='nasbench_asr')
  row = seeds[1234][0]
  assert one[row[0]] == pytest.approx(1 - min(row[1]))
  assert nasbench_asr_files.read_training(folder / 'nb-asr-e40-1234.pickle', 'val_per', epochs=2)[row[0]] == \
      pytest.approx(min(row[1][:2]))
  assert nasbench_asr_files.read_training(folder / 'nb-asr-e40-1234.pickle', 'test_per')[row[0]] == row[2]
  mean = data.load_measurements(folder, space='nasbench_asr')
  assert mean[row[0]] == pytest.approx(1 - np.mean([min(seeds[s][0][1]) for s in seeds]))
  # the folder converts to Eagle's nbasr_inv_avg_val_per.pickle, which reads back as a plain {hash: value} pickle
  eagle = tmp_path / 'nbasr_inv_avg_val_per.pickle'
  subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'convert', '--space=nasbench_asr', f'--input={folder}',
                  f'--output={eagle}'], check=True, capture_output=True)
  assert data.load_measurements(eagle, space='nasbench_asr') == pytest.approx(mean)
  dataset = data.load_dataset(eagle, space='nasbench_asr')
  assert len(dataset) == 30 and dataset.space.name == 'nasbench_asr'
  assert tools.describe(folder, 'nasbench_asr')['count'] == 30

  bench = tmp_path / 'nb-asr-bench-jetson.pickle'
  _write_asr_pickle(bench, {'dataset_type': 'benchmarking', 'device': 'jetson', 'version': 1,
                            'columns': ['model_hash', 'latency'], 'search_space': _search_space_header()},
                    [[key, 0.01 * (i + 1)] for i, key in enumerate(keys)])
  assert data.load_measurements(bench, space='nasbench_asr')[keys[2]] == pytest.approx(0.03)
  info = tmp_path / 'nb-asr-info.pickle'
  _write_asr_pickle(info, {'dataset_type': 'static', 'version': 2, 'columns': ['model_hash', 'params', 'flops'],
                           'search_space': _search_space_header()},
                    [[key, int(p), int(f)] for key, p, f in zip(keys, SPACE.params(keys), SPACE.flops(keys))])
  assert data.load_measurements(info, column='flops', space='nasbench_asr')[keys[0]] == SPACE.flops(keys[:1])[0]


def test_bad_nasbench_asr_files_give_clear_errors(tmp_path):
  keys = SPACE.hashable(SPACE.sample(3, 0))
  path = tmp_path / 'nb-asr-e40-1.pickle'
  rows = _training_file(path, keys, 1)
  with pytest.raises(ValueError, match="unknown column 'accuracy'"):
    data.load_measurements(path, column='accuracy', space='nasbench_asr')
  rows[1][-1] = SPACE.spec(keys[0])
  _write_asr_pickle(path, {'dataset_type': 'training', 'columns': ['model_hash', 'val_per', 'test_per', 'arch'],
                           'search_space': _search_space_header()}, [r[:3] + [r[-1]] for r in rows])
  with pytest.raises(ValueError, match=f'row 1: the arch vector .* does not hash to {keys[1]}'):
    data.load_measurements(path, space='nasbench_asr')
  _write_asr_pickle(path, {'dataset_type': 'training', 'columns': ['model_hash', 'per']}, rows)
  with pytest.raises(ValueError, match=r"columns must start \['model_hash', 'val_per', 'test_per'\]"):
    data.load_measurements(path, space='nasbench_asr')
  _write_asr_pickle(path, {'dataset_type': 'benchmarking', 'columns': ['model_hash', 'latency']}, [['zz', 1.0]])
  with pytest.raises(ValueError, match="row 0: 'zz' is not an NB-ASR graph hash"):
    data.load_measurements(path, space='nasbench_asr')
  _write_asr_pickle(path, {'dataset_type': 'profiling', 'columns': []}, [])
  with pytest.raises(ValueError, match="unknown NAS-Bench-ASR dataset_type 'profiling'"):
    data.load_measurements(path, space='nasbench_asr')
  path.write_bytes(pickle.dumps({'dataset_type': 'training'}) + b'\x80\x04garbage')
  with pytest.raises(ValueError, match='object 1 is not a readable pickle'):
    data.load_measurements(path, space='nasbench_asr')
  eagle = tmp_path / 'nbasr_inv_avg_val_per.pickle'
  eagle.write_bytes(pickle.dumps({keys[0]: 0.8, 'not-a-hash': 0.7}))
  with pytest.raises(ValueError, match="bad architecture key 'not-a-hash'"):
    data.load_measurements(eagle, space='nasbench_asr')
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(ValueError, match='no NAS-Bench-ASR training files'):
    data.load_measurements(empty, space='nasbench_asr')


# ----- the binaries on NB-ASR configs -----

def _configs(kind: str, name: str):
  sys.path.insert(0, str(ROOT))
  return __import__(f'configs.{kind}.{name}', fromlist=['get_config']).get_config()


def _tiny(config):
  config.model.update(num_layers=2, num_hidden=32)
  config.training.update(epochs=15, batch_size=16)
  return config


@pytest.mark.slow
def test_keras_network_matches_the_analytic_parameter_count():
  pytest.importorskip('tensorflow')
  from eagle_jax.spaces.nasbench_asr import network as nbasr_network  # pylint: disable=g-import-not-at-top
  for arch in (CHAIN, EMPTY, [['conv5d2', 1], ['linear', 1, 1], ['conv7d2', 0, 1, 1]]):
    key = SPACE.key(arch)
    model = nbasr_network.build(SPACE.spec(key), input_size=(1, 40, 80))
    assert nbasr_network.trainable_params(model) == SPACE.params([key])[0]
    assert model.output_shape == (1, 10, 49)


@pytest.mark.slow
def test_measure_binary_times_nb_asr_networks(tmp_path):
  pytest.importorskip('tensorflow')
  config = _configs('measure', 'desktop_nasbench_asr')
  config.model.update(input_size=(1, 24, 16), filters=(100, 100, 200, 200), rnn_units=32)
  config.runner.update(runs=2, avg_between=2, warmup=1, interval=0.0)
  config.conversion.workers = 1
  config.archs = 'list'
  (tmp_path / 'archs.txt').write_text(f'{SPACE.key(CHAIN)}\n{SPACE.key(EMPTY)}\n')
  config.arch_list = str(tmp_path / 'archs.txt')
  summary = driver.measure(config, tmp_path / 'run', progress=False)
  assert summary['measured'] == 2
  reduced, counts = tools.stats(tools.combine(tools.shard_paths(tmp_path / 'run' / 'results'), 'nasbench_asr'))
  assert counts['valid'] == 2 and all(v > 0 for v in reduced.values())


def test_latency_dataset_is_bundled_with_its_card():
  dataset = data.load_dataset(LATENCY)
  assert dataset.space.name == 'nasbench_asr' and len(dataset) >= 500 and dataset.units == 's'
  assert (dataset.values > 0.005).all() and (dataset.values < 2.0).all()
  card = data.bundled_data.card(LATENCY)
  assert card['cpu'] and card['config']['space'] == 'nasbench_asr' and card['counts']['valid'] == len(dataset)


@pytest.mark.slow
def test_train_and_search_run_end_to_end_on_nb_asr(tmp_path):
  latency = _tiny(_configs('predictors', 'lat_gcn_nasbench_asr'))
  result = experiment.train_and_evaluate(latency, tmp_path / 'lat')
  assert result['space'] == 'nasbench_asr' and result['spearman'] > 0.5
  predictions = data.load_measurements(tmp_path / 'lat' / 'space_predictions.pickle', space='nasbench_asr')
  assert len(predictions) == 8242 and all(v > 0 for v in predictions.values())
  # accuracy targets in Eagle's layout, written here (no NB-ASR accuracies are public to this project): 1 - a
  # PER that falls with the network's size, plus noise
  keys = SPACE.enumerate()
  flops = SPACE.flops(keys)
  per = 0.5 - 0.2 * (flops - flops.min()) / np.ptp(flops) + 0.05 * np.random.default_rng(0).random(len(keys))
  accuracy = tmp_path / 'nbasr_inv_avg_val_per.pickle'
  accuracy.write_bytes(pickle.dumps(dict(zip(keys.tolist(), (1 - per).tolist()))))
  acc = _tiny(_configs('predictors', 'acc_gcn_nasbench_asr_bin'))
  acc.data.measurement = str(accuracy)
  acc.space_predictions = False
  assert experiment.train_and_evaluate(acc, tmp_path / 'acc')['spearman'] > 0.3
  assert inference.load(tmp_path / 'acc', space='nasbench_asr').predict(keys[:5]).shape == (5,)
  search = _tiny(_configs('search', 'brp_nasbench_asr_latency'))
  search.data.measurement = str(accuracy)
  search.latency.checkpoint = str(tmp_path / 'lat')
  search.search.update(budget=20, iterations=2)
  summary = job.run(search, tmp_path / 'search', progress=False)
  assert 0 < summary['candidates'] < 8242 and summary['models_trained'] == 20  # under the latency limit
  ranking = (tmp_path / 'search' / 'space_ranking.txt').read_text().split()
  assert len(ranking) == 8242 and set(ranking) == set(keys.tolist())
  trace = logs.read_trace(tmp_path / 'search' / 'trace.txt', 'nasbench_asr')
  assert len(trace) == len(set(trace))
  search.latency.limit = 1e-6
  with pytest.raises(ValueError, match=r'latency.limit=1e-06 s keeps no candidate: .* between'):
    job.run(search, tmp_path / 'too_tight', progress=False)
