"""The DARTS space: genotype text, Eagle's and the fast sampler, Eagle's encoding, the network's costs, files."""
import concurrent.futures
import pickle
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import NASLIB_DARTS_JSON as NASLIB_JSON
from eagle_jax import data, spaces
from eagle_jax.data import tools
from eagle_jax.measure import driver
from eagle_jax.spaces import darts
from eagle_jax.spaces.darts import files as darts_files

SPACE = spaces.get('darts')
ROOT = Path(__file__).resolve().parents[1]
# DARTS's published DARTS_V2 cell (quark0/darts genotypes.py): 3,349,342 parameters at 36 channels, 20 cells.
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 3)], reduce_concat=[2, 3, 4, 5])")


def _rows(matrix):
  return [''.join(str(int(v)) for v in row) for row in matrix]


def test_genotype_text_round_trips_and_bad_genotypes_are_named():
  key = SPACE.key(DARTS_V2)
  assert SPACE.key(SPACE.to_str(key)) == key and 'normal_concat=range(2, 6)' in SPACE.to_str(key)
  assert SPACE.key(darts.to_genotype(key)) == key == SPACE.key(np.array(key))
  with pytest.raises(ValueError, match="normal\\[0\\] has op 'none'"):
    SPACE.key(DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1))
  with pytest.raises(ValueError, match='normal\\[7\\] reads 7; node 5 reads nodes 0..4'):
    SPACE.key(DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)"))
  with pytest.raises(ValueError, match='node 2 reads node 0 twice'):
    SPACE.key(DARTS_V2.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1))
  with pytest.raises(ValueError, match='normal_concat is \\[2, 3, 4\\];'):
    SPACE.key(DARTS_V2.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 4]'))
  with pytest.raises(ValueError, match='only literals and range'):
    SPACE.key(DARTS_V2.replace('[2, 3, 4, 5]', "__import__('os').getcwd()", 1))
  with pytest.raises(ValueError, match='is not Genotype'):
    SPACE.key('Gen(normal=[])')
  bad = SPACE.sample(3, 0)
  bad[1, 17] = 5
  with pytest.raises(ValueError, match='row 1: reduce\\[0\\] reads 5'):
    SPACE.as_keys(bad)


EAGLE_OPS = ['max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
             'dil_conv_5x5']


def eagle_get_random_models(seed: int, n: int, keep=lambda index: True) -> dict:
  """Eagle's DARTS sampling replayed call by call with Python's `random`: one `random.choices`
  for a cell's 8 ops, `random.sample(possible, k=2)` per node with `possible` growing, normal then reduce, whole
  genotypes met before skipped. {index: genotype as ((op, input) x 8, (op, input) x 8)} for the kept indices."""
  random.seed(seed)
  code = {op: i for i, op in enumerate(EAGLE_OPS)}
  seen, kept = set(), {}  # seen: each genotype as 32 bytes, so that 10M of them fit in memory
  while len(seen) < n:
    cells = []
    for _ in range(2):
      ops = random.choices(EAGLE_OPS, k=8)
      possible, inputs = [0, 1], []
      for node in range(2, 6):
        inputs.extend(random.sample(possible, k=2))
        possible.append(node)
      cells.append(tuple(zip(ops, inputs)))
    packed = bytes(v for cell in cells for op, source in cell for v in (code[op], source))
    if packed in seen:
      continue
    if keep(len(seen)):
      kept[len(seen)] = tuple(cells)
    seen.add(packed)
  return kept


def as_genotypes(keys) -> list:
  return [(tuple(g.normal), tuple(g.reduce)) for g in map(darts.to_genotype, keys.tolist())]


@pytest.mark.parametrize('seed', [0, 123, 888])
def test_eagle_sampler_reproduces_eagles_sequence(seed):
  keys = SPACE.sample(1000, seed, mode='eagle')
  expected = eagle_get_random_models(seed, 1000)
  assert as_genotypes(keys) == [expected[i] for i in range(1000)]
  # streamed in chunks of any size, the same sequence; a genotype drawn before is skipped
  np.testing.assert_array_equal(np.concatenate(list(darts.sample_chunks(1000, seed, chunk=64, mode='eagle'))), keys)
  np.testing.assert_array_equal(darts.sample_eagle(5, seed, exclude=keys[:1]), keys[1:6])


def _eagle_ends(n: int) -> dict:
  return eagle_get_random_models(0, n, keep=lambda index: index < 1000 or index >= n - 1000)


@pytest.mark.slow
def test_eagle_sampler_10m_stream_first_and_last_thousand():
  n = 10_000_000
  with concurrent.futures.ProcessPoolExecutor(1) as pool:  # the replay runs on the other core
    replay = pool.submit(_eagle_ends, n)
    first, last, made = None, None, 0
    for chunk in darts.sample_chunks(n, 0, mode='eagle'):
      first = chunk[:1000] if first is None else first
      last = chunk[-1000:] if last is None else np.concatenate([last, chunk])[-1000:]
      made += len(chunk)
    expected = replay.result()
  assert made == n
  assert as_genotypes(first) == [expected[i] for i in range(1000)]
  assert as_genotypes(last) == [expected[i] for i in range(n - 1000, n)]


def test_fast_sampler_is_seeded_distinct_and_streamed():
  chunks = list(darts.sample_chunks(25_000, 3, chunk=10_000))
  assert [len(c) for c in chunks] == [10_000, 10_000, 5_000]
  keys = np.concatenate(chunks)
  np.testing.assert_array_equal(keys, np.concatenate(list(darts.sample_chunks(25_000, 3, chunk=10_000))))
  assert len(np.unique(darts.fingerprints(keys))) == 25_000 and len(set(SPACE.hashable(keys))) == 25_000
  SPACE.as_keys(keys)  # every sampled key is a valid genotype
  ops = keys[:, 0::2].ravel()
  assert np.abs(np.bincount(ops, minlength=7) / len(ops) - 1 / 7).max() < 0.01
  # a stream whose chunks repeat genotypes drops the repeats
  twice = np.concatenate([keys[:100], keys[:100]])
  assert len(np.unique(darts.fingerprints(twice))) == 100


def test_encoding_golden_rows():
  # normal: node 2 = sep3(0) + skip(1); node 3 = max_pool(2) + dil5(0); nodes 4, 5 = avg_pool/sep5 chains
  text = ("Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 2), ('dil_conv_5x5', 0), "
          "('avg_pool_3x3', 3), ('sep_conv_5x5', 1), ('dil_conv_3x3', 4), ('skip_connect', 2)], "
          "normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('max_pool_3x3', 2), "
          "('dil_conv_5x5', 0), ('avg_pool_3x3', 3), ('sep_conv_5x5', 1), ('dil_conv_3x3', 4), ('skip_connect', 2)],"
          " reduce_concat=range(2, 6))")
  adjacency, features = SPACE.encode([SPACE.key(text)])
  assert adjacency.shape == (1, 31, 31) and features.shape == (1, 31, 10)
  cell = _rows(adjacency[0, 1:16, 1:16])
  # nodes: 0 in0, 1 in1, 2 sep3, 3 skip, 4 add(2), 5 max_pool, 6 dil5, 7 add(3), 8 avg_pool, 9 sep5, 10 add(4),
  # 11 dil3, 12 skip, 13 add(5), 14 output
  assert cell == ['101000100000000', '010010000100000', '001010000000000', '000100000000000', '000011000000011',
                  '000001010000000', '000000110000000', '000000011000001', '000000001010000', '000000000110000',
                  '000000000011001', '000000000001010', '000000000000100', '000000000000011', '000000000000001']
  assert _rows(features[0, 1:16]) == [
      '0000000100', '0000000100', '0010000000', '0000000000', '0000001000', '1000000000', '0000010000',
      '0000001000', '0100000000', '0001000000', '0000001000', '0000100000', '0000000000', '0000001000',
      '0000000010']
  assert _rows(adjacency[0])[0] == '1' * 31 and _rows(features[0])[0] == '0000000001'
  np.testing.assert_array_equal(adjacency[0, 16:, 16:], adjacency[0, 1:16, 1:16])  # both cells alike here
  assert not adjacency[0, 1:16, 16:].any() and not adjacency[0, 16:, 1:16].any()  # two components


def test_costs_match_darts_and_mutations_stay_valid():
  key = SPACE.key(DARTS_V2)
  assert SPACE.params([key], init_channels=36, layers=20)[0] == 3_349_342  # DARTS's "param size = 3.349342MB"
  keys = SPACE.sample(20, 0)
  assert (SPACE.flops(keys, init_channels=32) > SPACE.flops(keys)).all()
  rng = np.random.default_rng(0)
  for row in SPACE.hashable(keys):
    child = SPACE.mutate(row, rng)
    assert child != row and sum(a != b for a, b in zip(child, row)) == 1
    SPACE.as_keys(np.array([child]))
  with pytest.raises(ValueError, match='not enumerable'):
    SPACE.enumerate()


def test_naslib_and_eagle_files(tmp_path):
  dataset = data.load_dataset(NASLIB_JSON, space='darts')
  assert len(dataset) == 500 and dataset.space.name == 'darts' and (dataset.values > 90).all()
  flops = darts_files.read_naslib_json(NASLIB_JSON, 'flops')
  keys = list(flops)
  ours = SPACE.flops(np.array(keys), init_channels=32)
  assert np.corrcoef(ours, [flops[k] for k in keys])[0, 1] > 0.95
  genotypes = [darts.to_genotype(k) for k in keys[:3]]
  known = tmp_path / 'known.pickle'
  known.write_bytes(pickle.dumps([(genotypes[0], 95.1), (SPACE.to_str(keys[1]), 94.0)]))
  assert data.load_measurements(known, space='darts') == {keys[0]: 95.1, keys[1]: 94.0}
  candidates = tmp_path / 'darts_10mln_s000.pickle'
  candidates.write_bytes(pickle.dumps((0, [(g, -1) for g in genotypes])))
  seed, read = darts_files.read_candidates(candidates)
  assert seed == 0 and SPACE.hashable(read) == keys[:3]
  evil = tmp_path / 'evil.pickle'
  evil.write_bytes(pickle.dumps([(genotypes[0], np.float64(1.0)), (print, 1.0)]))
  with pytest.raises(ValueError, match='refusing to unpickle'):
    data.load_measurements(evil, space='darts')


@pytest.mark.slow
def test_keras_network_matches_the_analytic_parameter_count():
  pytest.importorskip('tensorflow')
  from eagle_jax.spaces.darts import network as darts_network  # pylint: disable=g-import-not-at-top
  # DARTS_V2 with a strided dilated conv in the reduction cell (built as a subsample + undilated conv)
  text = DARTS_V2.replace("('max_pool_3x3', 3)", "('dil_conv_5x5', 0)")
  model = darts_network.build(text, init_channels=36, layers=20)
  assert darts_network.trainable_params(model) == SPACE.params([SPACE.key(text)], init_channels=36, layers=20)[0]
  for key in SPACE.sample(3, 0):
    model = darts_network.build(tuple(key))
    assert darts_network.trainable_params(model) == SPACE.params([key])[0] and model.output_shape == (1, 10)


@pytest.mark.slow
def test_measure_binary_times_darts_networks(tmp_path):
  pytest.importorskip('tensorflow')
  sys.path.insert(0, str(ROOT))
  config = __import__('configs.measure.desktop_darts', fromlist=['get_config']).get_config()
  config.num_archs = 2
  config.model.update(init_channels=8, layers=5)
  config.conversion.workers = 1
  config.runner.update(runs=2, avg_between=2, warmup=1, interval=0.0)
  summary = driver.measure(config, tmp_path / 'run', progress=False)
  assert summary['measured'] == 2
  reduced, counts = tools.stats(tools.combine(tools.shard_paths(tmp_path / 'run' / 'results'), 'darts'))
  assert counts['valid'] == 2 and all(v > 0 for v in reduced.values())
  assert set(reduced) == set(SPACE.hashable(SPACE.sample(2, 0)))
