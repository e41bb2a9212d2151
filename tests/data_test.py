"""Datasets: Eagle pickles (restricted), CSV, npz, the registry, bundled data and the dataset tools."""
import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import HELP_HEAD_CSV, LATBENCH_DEVICES, NASLIB_DARTS_JSON, read_csv
from eagle_jax import data, files
from eagle_jax.data import fetch, formats, tools
from eagle_jax.spaces import nasbench201 as nb


@pytest.mark.parametrize('device', LATBENCH_DEVICES)
def test_latbench_keys_are_exactly_the_valid_archs_and_named(latbench_path, device):
  dataset = data.load_dataset(latbench_path(device))
  assert dataset.name == f'latbench/{device}' and dataset.units == 's'
  valid = {tuple(v) for v in nb.arch_vectors()[nb.is_valid(nb.arch_vectors())].tolist()}
  assert set(data.load_measurements(latbench_path(device))) == valid
  assert np.all(dataset.valid)
  assert len(data.known_datasets()) == 13


def test_hash_mismatch_is_refused(latbench_path, tmp_path):
  copy = tmp_path / 'desktop-cpu-core-i7-7820x-fp32.pickle'
  mapping = data.load_measurements(latbench_path('desktop-cpu-core-i7-7820x-fp32'))
  mapping[(3, 3, 3, 3, 3, 3)] *= 2
  copy.write_bytes(pickle.dumps(mapping))
  with pytest.raises(ValueError, match='SHA-256 .* does not match .*latbench/desktop-cpu-core-i7-7820x-fp32'):
    data.load_dataset(copy)
  renamed = tmp_path / 'mine.pickle'
  shutil.copy(copy, renamed)
  assert data.load_dataset(renamed).name == str(renamed)


class _Evil:
  def __reduce__(self):
    return (os.system, ('echo pwned',))


@pytest.mark.parametrize('payload, message', [
    (pickle.dumps({(1, 1, 1, 1, 1, 1): _Evil()}), 'refusing to unpickle (posix|os|nt).system'),
    (pickle.dumps({(1, 1, 1, 1, 1, 1): np.array([1.0])}), 'refusing to unpickle numpy'),
    (b'', 'file is empty'),
    (pickle.dumps({(1, 1, 1, 1, 1, 1): 0.5, (2, 2, 2, 2, 2, 2): 0.7})[:-9], 'truncated or corrupted'),
    (pickle.dumps({(1, 1, 1, 1, 1, 1): 'fast'}), "value for \\(1, 1, 1, 1, 1, 1\\) is 'fast', not a number"),
    (pickle.dumps({(1, 1, 1, 1, 1, 9): 0.5}), 'op id 9'),
    (pickle.dumps([((1, 1, 1, 1, 1, 1), 0.5)]), 'expected a pickled dict'),
    (pickle.dumps({}), 'holds no measurements'),
])
def test_bad_pickles_give_clear_errors(tmp_path, payload, message):
  path = tmp_path / 'bad.pickle'
  path.write_bytes(payload)
  with pytest.raises((ValueError, pickle.UnpicklingError), match=message):
    data.load_measurements(path)


def test_numpy_scalars_and_ordered_dicts_are_allowed(tmp_path):
  import collections
  path = tmp_path / 'np.pickle'
  path.write_bytes(pickle.dumps(collections.OrderedDict({(1, 2, 3, 4, 0, 1): np.float64(0.25),
                                                         (3, 3, 3, 3, 3, 3): np.float32(0.5)})))
  assert data.load_measurements(path) == {(1, 2, 3, 4, 0, 1): 0.25, (3, 3, 3, 3, 3, 3): 0.5}


@pytest.mark.parametrize('suffix', ['.pickle', '.csv', '.npz'])
def test_formats_round_trip_and_never_overwrite(tmp_path, suffix):
  mapping = data.load_measurements('help/pixel3')
  path = tmp_path / f'out{suffix}'
  data.save_measurements(mapping, path)
  assert data.load_measurements(path) == mapping
  before = path.read_bytes()
  with pytest.raises(FileExistsError, match='already exists'):
    data.save_measurements({(1, 1, 1, 1, 1, 1): 1.0}, path)
  assert path.read_bytes() == before
  data.save_measurements({(1, 1, 1, 1, 1, 1): 1.0}, path, overwrite=True)
  assert data.load_measurements(path) == {(1, 1, 1, 1, 1, 1): 1.0}


def test_failed_atomic_write_keeps_the_old_file(tmp_path):
  path = tmp_path / 'result.txt'
  path.write_text('old')
  with pytest.raises(RuntimeError):
    with files.atomic_open(path, 'w') as f:
      f.write('partial')
      raise RuntimeError('crash mid-write')
  assert path.read_text() == 'old'
  assert os.listdir(tmp_path) == ['result.txt']


def test_csv_errors_name_the_problem(tmp_path):
  path = tmp_path / 'bad.csv'
  path.write_text('arch_str,value\n|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|,abc\n')
  with pytest.raises(ValueError, match='bad.csv:2'):
    data.load_measurements(path)
  path.write_text('name,value\nx,1\n')
  with pytest.raises(ValueError, match='needs an arch_str column'):
    data.load_measurements(path)
  assert len(data.load_measurements(HELP_HEAD_CSV, column='pixel3_ms')) == 200
  with pytest.raises(ValueError, match='cannot tell which column'):
    data.load_measurements(HELP_HEAD_CSV)


def test_unknown_source_is_named():
  with pytest.raises(FileNotFoundError, match="'nb201/cifar1000' is neither a bundled dataset"):
    data.load_dataset('nb201/cifar1000')


def test_bundled_accuracies_match_source():
  rows = read_csv('nb201-acc-perseed-nats-tss/nb201_acc_perseed_200ep.csv')
  for name, prefix in [('nb201/cifar10-valid', 'cifar10valid_valid_acc'), ('nb201/cifar100', 'cifar100_valtest_acc')]:
    dataset = data.load_dataset(name)
    assert name in data.bundled() and len(dataset) == 15625 and dataset.seeds == (777, 888, 999)
    np.testing.assert_array_equal(dataset.indices, np.arange(15625))
    for k in range(3):
      column = np.array([float(r[f'{prefix}_seed{k}']) if r[f'{prefix}_seed{k}'] else np.nan for r in rows])
      np.testing.assert_array_equal(dataset.seed_values[:, k], column)
    np.testing.assert_allclose(dataset.values, [float(r[f'{prefix}_mean']) for r in rows], atol=1e-6)
    seed_888 = dataset.with_seed(888)
    assert len(seed_888) == 15625 - np.isnan(dataset.seed_values[:, 1]).sum()


def test_bundled_help_latencies_match_source():
  rows = read_csv('help-nb201-latency/help_latency_nb201.csv')
  devices = [k[:-3] for k in rows[0] if k.endswith('_ms')]
  assert len(devices) == 21
  for device in devices:
    dataset = data.load_dataset(f'help/{device}')
    assert dataset.units == 's'
    np.testing.assert_allclose(dataset.values, [float(r[f'{device}_ms']) / 1000 for r in rows], rtol=1e-12)


def test_dataset_view_aligns_with_space():
  dataset = data.load_dataset('nb201/cifar100')
  adjacency, features = dataset.encodings
  assert adjacency.shape == (15625, 9, 9) and features.shape == (15625, 9, 6)
  assert dataset.valid.sum() == 15284
  rows = dataset.rows_of([(3, 3, 3, 3, 3, 3), '|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|'])
  np.testing.assert_array_equal(dataset.vectors[rows], [(3,) * 6, (0, 0, 0, 3, 0, 0)])
  small = dataset.subset(np.arange(5))
  with pytest.raises(KeyError, match='has no value'):
    small.rows_of([(3, 3, 3, 3, 3, 3)])


def test_two_level_iqr_mean_by_hand():
  run = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0]  # q25 = 3.25, q75 = 7.75 -> 4..7
  assert tools.iqr_mean(run) == pytest.approx(5.5)
  timings = [run, [x + 1 for x in run], [x + 2 for x in run], [x + 50 for x in run]]
  # run means 5.5, 6.5, 7.5, 55.5; q25 = 6.25, q75 = 19.5 -> 6.5, 7.5
  assert tools.two_level_iqr_mean(timings) == pytest.approx(7.0)


def _write_shards(folder):
  folder.mkdir()
  formats.write_pickle([((1, 1, 1, 1, 1, 1), [[0.002] * 10] * 3), ([0, 0, 0, 0, 0, 0], 'invalid')],
                       folder / 'results0.pickle')
  formats.write_pickle([((3, 3, 3, 3, 3, 3), [[0.010, 0.011, 0.012, 0.013]] * 4),
                        ((2, 2, 2, 2, 2, 2), 'conversion failed: boom')], folder / 'results10.pickle')
  formats.write_pickle([((2, 1, 4, 0, 3, 1), [[0.005, 0.006]] * 2), ((1, 1, 1, 1, 1, 1), [[0.002] * 10] * 3)],
                       folder / 'results2.pickle')


def test_combine_stats_normalize_tools(tmp_path):
  shards = tmp_path / 'results'
  _write_shards(shards)
  assert [p.name for p in tools.shard_paths(shards)] == ['results0.pickle', 'results2.pickle', 'results10.pickle']
  combined = tools.combine(tools.shard_paths(shards), 'nasbench201')
  assert [k for k, _ in combined] == [(1,) * 6, (0,) * 6, (2, 1, 4, 0, 3, 1), (3,) * 6, (2,) * 6]
  reduced, counts = tools.stats(combined)
  assert counts == {'all': 5, 'invalid': 1, 'failed': 1, 'valid': 3}
  assert reduced == pytest.approx({(1,) * 6: 0.002, (2, 1, 4, 0, 3, 1): 0.0055, (3,) * 6: 0.0115})
  formats.write_pickle([((1, 1, 1, 1, 1, 1), [[0.003] * 10])], shards / 'results3.pickle')
  with pytest.raises(ValueError, match='conflicts'):
    tools.combine(tools.shard_paths(shards), 'nasbench201')
  normalized, constants = tools.normalize(reduced)
  assert constants == {'min': pytest.approx(0.002), 'max': pytest.approx(0.0115)}
  assert min(normalized.values()) == 0.0 and max(normalized.values()) == 1.0
  np.testing.assert_allclose(tools.denormalize(list(normalized.values()), constants), list(reduced.values()))
  with pytest.raises(ValueError, match='all 1 values equal'):
    tools.normalize({(1,) * 6: 0.5})


def _cli(*args):
  return subprocess.run([sys.executable, '-m', 'eagle_jax.data', *args], capture_output=True, text=True)


def test_cli_end_to_end(tmp_path):
  shards = tmp_path / 'results'
  _write_shards(shards)
  combined, latency, norm, csv_out = (tmp_path / n for n in ('c.pickle', 'lat.pickle', 'norm.pickle', 'lat.csv'))
  assert _cli('combine', f'--input={shards}', f'--output={combined}').returncode == 0
  result = _cli('stats', f'--input={combined}', f'--output={latency}')
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout)['valid'] == 3
  assert _cli('stats', f'--input={shards}', f'--output={tmp_path / "direct.pickle"}').returncode == 0
  assert data.load_measurements(tmp_path / 'direct.pickle') == data.load_measurements(latency)
  assert _cli('normalize', f'--input={latency}', f'--output={norm}').returncode == 0
  assert json.loads((tmp_path / 'norm.minmax.json').read_text())['max'] == pytest.approx(0.0115)
  assert _cli('convert', f'--input={latency}', f'--output={csv_out}').returncode == 0
  assert data.load_measurements(csv_out) == data.load_measurements(latency)
  info = json.loads(_cli('info', f'--input={latency}').stdout)
  assert info['count'] == 3 and info['registry_name'] is None
  clobber = _cli('stats', f'--input={combined}', f'--output={latency}')
  assert clobber.returncode != 0 and 'already exists' in clobber.stderr
  assert _cli('bogus', f'--input={latency}').returncode != 0


@pytest.mark.parametrize('space, at_least', [('nasbench201', 1000), ('nasbench101', 500)])
def test_bundled_cpu_datasets_have_a_card_and_follow_flops(space, at_least):
  names = [n for n in data.bundled() if n.startswith('cpu/') and data.load_dataset(n).space.name == space]
  assert names, f'the package bundles a {space} CPU latency dataset measured by this project'
  from eagle_jax.data import bundled_data
  from scipy import stats
  for name in names:
    dataset = data.load_dataset(name)
    card = bundled_data.load_bundled(name)['card']
    assert len(dataset) >= at_least and dataset.units == 's' and np.all(dataset.valid)
    assert np.all((dataset.values > 1e-5) & (dataset.values < 1.0))
    for field in ('cpu', 'tensorflow', 'ai_edge_litert', 'settings', 'date'):
      assert card[field]
    assert stats.kendalltau(dataset.values, dataset.space.flops(dataset.keys)).statistic > 0.7


def test_fetch_downloads_checks_and_keeps_from_a_file_mirror(tmp_path):
  entries = fetch.sources()['naslib-zc-darts']['files'] + fetch.sources()['naslib-zc-subsets']['files']
  assert all(e['url'].startswith('https://') and len(e['sha256']) == 64 for e in entries)
  mirror = tmp_path / 'mirror'
  (mirror / 'naslib-zc-darts' / 'raw').mkdir(parents=True)
  (mirror / 'naslib-zc-darts' / 'raw' / 'zc_nasbench301.json').write_bytes(NASLIB_DARTS_JSON.read_bytes())
  report = fetch.fetch('naslib-zc-darts', tmp_path / 'data', mirror=mirror.as_uri(), progress=False)
  fetched = tmp_path / 'data' / 'naslib-zc-darts' / 'raw' / 'zc_nasbench301.json'
  assert report == {'fetched': ['naslib-zc-darts/raw/zc_nasbench301.json'], 'kept': []}
  assert fetched.read_bytes() == NASLIB_DARTS_JSON.read_bytes()
  # a second fetch keeps what is there; a corrupted mirror file is refused and nothing is written
  assert fetch.fetch('naslib-zc-darts', tmp_path / 'data', mirror=mirror.as_uri(), progress=False)['kept']
  (mirror / 'naslib-zc-darts' / 'raw' / 'zc_nasbench301.json').write_bytes(b'{}')
  with pytest.raises(ValueError, match='zc_nasbench301.json: SHA-256 .* does not match the registered'):
    fetch.fetch('naslib-zc-darts', tmp_path / 'other', mirror=mirror.as_uri(), progress=False)
  assert not any(p.is_file() for p in (tmp_path / 'other').rglob('*'))
  # a file in place with another digest is never overwritten
  fetched.write_bytes(b'mine')
  with pytest.raises(ValueError, match='exists with SHA-256 .* move it away'):
    fetch.fetch('naslib-zc-darts', tmp_path / 'data', mirror=mirror.as_uri(), progress=False)
  assert fetched.read_bytes() == b'mine'
  with pytest.raises(OSError, match='cannot download file://'):
    fetch.fetch('naslib-zc-subsets', tmp_path / 'data', mirror=mirror.as_uri(), progress=False)
  with pytest.raises(ValueError, match="unknown dataset 'nope' to fetch; known: latbench"):
    fetch.fetch('nope', tmp_path)


def test_fetch_binary_names_its_output(tmp_path):
  mirror = tmp_path / 'mirror' / 'naslib-zc-darts' / 'raw'
  mirror.mkdir(parents=True)
  (mirror / 'zc_nasbench301.json').write_bytes(NASLIB_DARTS_JSON.read_bytes())
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'fetch', 'naslib-zc-darts',
                           f'--output={tmp_path / "data"}', f'--mirror={(tmp_path / "mirror").as_uri()}'],
                          capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
  assert json.loads(result.stdout)['fetched'] == ['naslib-zc-darts/raw/zc_nasbench301.json']
  result = subprocess.run([sys.executable, '-m', 'eagle_jax.data', 'fetch', 'naslib-zc-darts'],
                          capture_output=True, text=True)
  assert result.returncode != 0 and 'fetch needs --output' in result.stderr
