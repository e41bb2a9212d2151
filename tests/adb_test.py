"""Phones over adb, without a phone: a fake `adb` (phones are folders) and a fake `benchmark_model` (LiteRT on
this machine, benchmark_model's output format) in tests/fake_android, and benchmark_model outputs to parse."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eagle_jax.measure import adb, timing

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).resolve().parent / 'fake_android'
FAST = timing.TimingSettings(runs=2, avg_between=3, interval=0.0, warmup=1)

MODERN = '''INFO: STARTING!
INFO: Log parameter values verbosely: [0]
INFO: Num threads: [1]
INFO: Graph: [/data/local/tmp/model.tflite]
INFO: #threads used for CPU inference: [1]
INFO: Loaded model /data/local/tmp/model.tflite
INFO: The input model file size (MB): 0.108
INFO: Initialized session in 4.812ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=212 first=3307 curr=2289 min=2237 max=3307 avg=2353.37 std=118

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=430 first=2300 curr=2301 min=2231 max=2899 avg=2321.5 std=67

INFO: Inference timings in us: Init: 4812, First inference: 3307, Warmup (avg): 2353.37, Inference (avg): 2321.5
INFO: Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.
INFO: Memory footprint delta from the start of the tool (MB): init=3.05078 overall=3.59766
'''
OLD = '''STARTING!
Min num runs: [50]
Num threads: [4]
Graph: [/data/local/tmp/mobilenet.tflite]
Loaded model /data/local/tmp/mobilenet.tflite
Initialized session in 41.218ms
Running benchmark for at least 1 iterations and at least 0.5 seconds
count=8 first=75210 curr=63411 min=62925 max=75210 avg=65120.1 std=3854

Running benchmark for at least 50 iterations and at least 1 seconds
count=50 first=63530 curr=62774 min=61950 max=68802 avg=63244.6 std=1274

Average inference timings in us: Warmup: 65120.1, Init: 41218, no stats: 63244.6
'''
PROFILE = MODERN + '''Profiling Info for Benchmark Initialization:
============================== Run Order ==============================
\t             [node type]\t          [start]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]
\t                 CONV_2D\t            0.000\t    0.611\t    0.582\t 25.101%\t 25.101%\t     0.000\t        1\t[model/conv2d/Relu;model/conv2d/BiasAdd]
\t   TfLiteXNNPackDelegate\t            0.583\t    1.702\t    1.690\t 72.887%\t 97.988%\t     0.000\t        1\t[model/dense/BiasAdd, model/pool/Mean]
\t                 SOFTMAX\t            2.274\t    0.049\t    0.047\t  2.012%\t100.000%\t     0.000\t        1\t[Identity]

============================== Top by Computation Time ==============================
'''
FAILED = '''INFO: STARTING!
INFO: Graph: [/data/local/tmp/model.tflite]
INFO: Loaded model /data/local/tmp/model.tflite
ERROR: Failed to apply GPU delegate.
ERROR: Benchmarking failed.
'''


def test_benchmark_model_outputs_of_several_versions_are_parsed():
  assert adb.parse_inference_us(MODERN) == 2321.5
  assert adb.parse_inference_us(OLD) == 63244.6  # no 'Inference (avg)' summary: the timed phase's avg
  with pytest.raises(RuntimeError, match='printed no timings: .*Failed to apply GPU delegate'):
    adb.parse_inference_us(FAILED)
  ops = adb.parse_op_profile(PROFILE)
  assert [op['node_type'] for op in ops] == ['CONV_2D', 'TfLiteXNNPackDelegate', 'SOFTMAX']
  assert [op['avg_ms'] for op in ops] == [0.582, 1.690, 0.047]
  assert ops[1]['name'] == 'model/dense/BiasAdd, model/pool/Mean'
  assert adb.parse_devices('List of devices attached\nR58M123\tdevice\nemulator-5554\tunauthorized\n\n') == {
      'R58M123': 'device', 'emulator-5554': 'unauthorized'}


def _tool(path: Path, source: Path) -> str:
  path.write_text(f'#!{sys.executable}\n' + source.read_text())
  path.chmod(0o755)
  return str(path)


@pytest.fixture
def phones(tmp_path, monkeypatch):
  """(state file, fake adb, host benchmark_model): one authorized phone 'R58M123'."""
  bin_dir = tmp_path / 'bin'
  bin_dir.mkdir()
  fake_adb = _tool(bin_dir / 'adb', FAKES / 'fake_adb.py')
  tool = _tool(bin_dir / 'benchmark_model', FAKES / 'fake_benchmark_model.py')
  state = tmp_path / 'adb_state.json'
  state.write_text(json.dumps({'root': str(tmp_path / 'phones'), 'devices': {'R58M123': 'device'},
                               'props': {'ro.product.model': 'Pixel 3'}}))
  monkeypatch.setenv('FAKE_ADB_STATE', str(state))
  return state, fake_adb, tool


def _set(state: Path, **changes):
  state.write_text(json.dumps({**json.loads(state.read_text()), **changes}))


@pytest.fixture(scope='module')
def tiny_model():
  from eagle_jax.measure import convert  # pylint: disable=g-import-not-at-top
  from eagle_jax.spaces.nasbench201 import network  # pylint: disable=g-import-not-at-top
  return convert.to_tflite(network.build((1, 1, 1, 1, 1, 1), channels=4, cells_count=1))


def test_a_phone_is_found_used_and_left_clean(phones, tiny_model, tmp_path):
  state, fake_adb, tool = phones
  for cpu, (governor, khz) in enumerate([('schedutil', '1785600'), ('performance', '2841600')]):
    folder = tmp_path / f'phones/R58M123/sys/devices/system/cpu/cpu{cpu}/cpufreq'
    folder.mkdir(parents=True)
    (folder / 'scaling_governor').write_text(governor + '\n')
    (folder / 'scaling_cur_freq').write_text(khz + '\n')
  (tmp_path / 'phones/R58M123/sys/class/thermal/thermal_zone0').mkdir(parents=True)
  (tmp_path / 'phones/R58M123/sys/class/thermal/thermal_zone0/temp').write_text('38500\n')
  runner = adb.AdbRunner(FAST, fake_adb, benchmark_model=tool)
  runner.check()
  assert runner.device() == {'model': 'Pixel 3', 'android': '', 'soc': '', 'platform': '',
                             'governors': ['performance', 'schedutil'], 'frequencies_mhz': [1785, 2841],
                             'temperatures_c': [38.5]}
  timings = runner.run(tiny_model)
  assert runner.serial == 'R58M123' and len(timings) == FAST.runs and all(0 < t[0] < 1 for t in timings)
  work = tmp_path / 'phones/R58M123/data/local/tmp/eagle_jax'
  assert sorted(p.name for p in work.iterdir()) == ['benchmark_model']  # the model was removed
  assert runner.profile(tiny_model) and all(op['avg_ms'] >= 0 for op in runner.profile(tiny_model))
  with pytest.raises(RuntimeError, match='benchmark_model failed on phone R58M123 .*Failed to apply GPU'):
    adb.AdbRunner(FAST, fake_adb, delegate='gpu', benchmark_model=tool).run(tiny_model)


@pytest.mark.parametrize('devices, serial, message', [
    ({}, '', r'no phone is attached \(adb devices lists: nothing\)'),
    ({'A1': 'device', 'B2': 'device'}, '', r'several phones are attached .*A1 \(device\), B2 \(device\).*serial'),
    ({'A1': 'unauthorized'}, '', 'A1 is unauthorized: accept the USB debugging prompt'),
    ({'A1': 'device'}, 'Z9', r'phone Z9 is not attached \(adb devices lists: A1 \(device\)\)'),
])
def test_phones_that_cannot_be_used_are_named(phones, tiny_model, devices, serial, message):
  state, fake_adb, tool = phones
  _set(state, devices=devices)
  with pytest.raises(adb.AdbError, match=message):
    adb.AdbRunner(FAST, fake_adb, serial=serial, benchmark_model=tool, retries=1).run(tiny_model)


def test_missing_adb_or_benchmark_model_is_named(phones, tiny_model, tmp_path):
  _, fake_adb, _ = phones
  with pytest.raises(adb.AdbError, match='adb not found'):
    adb.AdbRunner(FAST, str(tmp_path / 'no_adb'), retries=1).run(tiny_model)
  with pytest.raises(FileNotFoundError, match='benchmark_model is missing or not executable on phone R58M123'):
    adb.AdbRunner(FAST, fake_adb, retries=1).run(tiny_model)
  with pytest.raises(FileNotFoundError, match='is not a file'):
    adb.AdbRunner(FAST, fake_adb, benchmark_model=str(tmp_path / 'nothing'))


@pytest.mark.slow
def test_measure_binary_through_adb_follows_flops_and_resumes_after_a_disconnect(phones, tmp_path):
  from scipy import stats  # pylint: disable=g-import-not-at-top
  from eagle_jax import spaces  # pylint: disable=g-import-not-at-top
  from eagle_jax.data import tools  # pylint: disable=g-import-not-at-top
  state, fake_adb, tool = phones
  workdir = tmp_path / 'phone'
  def measure(*extra):
    return subprocess.run([sys.executable, '-m', 'eagle_jax.measure', '--config=configs/measure/desktop_nasbench201.py',
                           f'--workdir={workdir}', '--config.runner.kind=adb', f'--config.runner.adb={fake_adb}',
                           f'--config.runner.benchmark_model={tool}', '--config.num_archs=12',
                           '--config.runner.runs=3', '--config.runner.avg_between=5', '--config.runner.warmup=2',
                           *extra], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, 'PYTHONPATH': str(ROOT)})
  _set(state, disconnect_after=30)
  first = measure()
  assert first.returncode == 2 and 'R58M123 is not attached' in first.stderr.strip().splitlines()[-1], first.stderr[-2000:]
  _set(state, devices={'R58M123': 'device'})
  second = measure()
  assert second.returncode == 0, second.stderr[-3000:]
  summary = json.loads((workdir / 'summary.json').read_text())
  assert summary['already_done'] > 0 and summary['planned'] == 12
  record = json.loads((workdir / 'device.json').read_text())  # the phone before and after each run
  assert len(record) == 2 and record[-1]['devices']['R58M123']['after']['model'] == 'Pixel 3'
  assert 'error' in record[0]['devices']['R58M123']['after']  # the first run ended with the phone gone
  space = spaces.get('nasbench201')
  latency = tools.combine(tools.shard_paths(workdir / 'results'), space)
  measured = {k: v for k, v in latency if isinstance(v, list)}
  keys = space.as_keys(list(measured))
  seconds = [float(np.mean([np.mean(run) for run in runs])) for runs in measured.values()]
  assert len(measured) >= 10 and stats.spearmanr(space.flops(keys), seconds)[0] >= 0.8


@pytest.mark.slow
def test_layers_profiled_through_adb_with_benchmark_models_own_op_profile(phones, tmp_path):
  import csv  # pylint: disable=g-import-not-at-top
  _, fake_adb, tool = phones
  workdir = tmp_path / 'layers'
  done = subprocess.run([sys.executable, '-m', 'eagle_jax.measure', '--config=configs/measure/layers_nasbench201.py',
                         f'--workdir={workdir}', '--config.runner.kind=adb', f'--config.runner.adb={fake_adb}',
                         f'--config.runner.benchmark_model={tool}', '--config.runner.runs=2',
                         '--config.runner.avg_between=3', '--config.runner.warmup=1'], cwd=ROOT, capture_output=True,
                        text=True, timeout=900, env={**os.environ, 'PYTHONPATH': str(ROOT)})
  assert done.returncode == 0, done.stderr[-3000:]
  rows = list(csv.DictReader((workdir / 'layers.csv').open()))
  assert len(rows) == 29 and all(float(row['latency_s']) > 0 for row in rows)
  assert all(float(row['op_profile_us']) > 0 and row['op_profile_nodes'] for row in rows)
  by_tag = {row['tag']: row for row in rows}
  assert 'CONV_2D' in by_tag['stack0_relu_conv3x3']['op_profile_nodes']
  assert by_tag['stack0_add3']['op_profile_nodes'].count('ADD') == 2  # Keras' 3-input sum runs as two ADDs
  profiles = json.loads((workdir / 'layers_op_profile.json').read_text())
  assert sorted(profiles) == sorted(by_tag)
