"""Android phones over adb: models are pushed to the phone and timed by TensorFlow Lite's `benchmark_model`.

`benchmark_model` prints one summary per invocation (count/first/curr/min/max/avg/std of its warm-up and timed
phases, then `Inference timings in us: ..., Inference (avg): X`), not per-invocation samples. Eagle's statistic
is an inter-quartile mean over `runs` samples, each the mean of `avg_between` invocations; so each run is one
invocation of `benchmark_model --num_runs=avg_between --min_secs=0`, and its `Inference (avg)` is the run's
sample (stored as a one-element run: the data tools' two-level statistic reads it as is).
"""
import re
import shlex
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import List, Optional

from eagle_jax.measure import timing

DELEGATES = {  # benchmark_model's own flags per delegate
    'cpu': ['--use_xnnpack=false'],
    'xnnpack': ['--use_xnnpack=true'],
    'gpu': ['--use_gpu=true'],
    'nnapi': ['--use_nnapi=true'],
    'hexagon': ['--use_hexagon=true'],
}
DEVICE_DIR = '/data/local/tmp/eagle_jax'
_SUMMARY = re.compile(r'Inference timings in us:.*?Inference \(avg\):\s*([0-9.eE+-]+)')
_OLD_SUMMARY = re.compile(r'Average inference timings in us:.*?Inference:\s*([0-9.eE+-]+)')
_COUNT = re.compile(r'count=(\d+)\s+first=\S+\s+curr=\S+\s+min=\S+\s+max=\S+\s+avg=([0-9.eE+-]+)\s+std=\S+')
_DISCONNECTED = ('not found', 'no devices', 'device offline', 'closed', 'connection reset', 'protocol fault')


class AdbError(ConnectionError):
  """adb could not reach the phone (missing, offline, unauthorized, disconnected)."""


def parse_devices(text: str) -> dict:
  """{serial: state} from `adb devices` output ('device', 'unauthorized', 'offline', ...)."""
  devices = {}
  for line in text.splitlines():
    parts = line.split()
    if len(parts) >= 2 and not line.startswith(('List of devices', '*')):
      devices[parts[0]] = parts[1]
  return devices


def parse_inference_us(output: str) -> float:
  """The mean inference time in microseconds of one `benchmark_model` run: its `Inference (avg)` summary (or, in
  versions before 2.3, `Average inference timings ... Inference:`), else the last phase's `avg=`."""
  for pattern in (_SUMMARY, _OLD_SUMMARY):
    match = pattern.search(output)
    if match:
      return float(match.group(1))
  phases = _COUNT.findall(output)
  if phases:
    return float(phases[-1][1])
  lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
  raise RuntimeError('benchmark_model printed no timings: ' + (' | '.join(lines[-3:]) or 'no output'))


_OP_ROW = re.compile(r'^\s*(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)\s+(\d+)\s+(.*?)\s*$')


def parse_op_profile(output: str) -> List[dict]:
  """The `Run Order` table that `--enable_op_profiling=true` prints: [{'node_type', 'avg_ms', 'times_called',
  'name'}] in run order."""
  rows, inside = [], False
  for line in output.splitlines():
    if re.search(r'=+\s*Run Order\s*=+', line):
      inside = True
    elif inside and re.search(r'=+\s*Top by', line):
      break
    elif inside and (match := _OP_ROW.match(line)):
      rows.append({'node_type': match.group(1), 'avg_ms': float(match.group(4)),
                   'times_called': int(match.group(8)), 'name': match.group(9).strip('[]')})
  return rows


class AdbRunner(timing.Runner):
  """A phone over adb: each model is pushed to `device_dir` and timed with `benchmark_model` (see the module
  docstring for the statistic); temporary files on the phone are removed."""

  def __init__(self, settings, adb: str = 'adb', serial: str = '', benchmark_model: str = '',
               device_dir: str = DEVICE_DIR, delegate: str = 'xnnpack', timeout: float = 600.0, retries: int = 3):
    if delegate not in DELEGATES:
      raise ValueError(f'config.runner.delegate must be one of {tuple(DELEGATES)}, got {delegate!r}')
    if benchmark_model and not Path(benchmark_model).is_file():
      raise FileNotFoundError(f'config.runner.benchmark_model {benchmark_model} is not a file (the benchmark_model '
                              "binary for the phone's ABI; empty: it is already in config.runner.device_dir)")
    self.settings, self.adb, self.serial, self.delegate = settings, adb, serial, delegate
    self.host_tool, self.device_dir, self.timeout, self.retries = benchmark_model, device_dir.rstrip('/'), timeout, retries
    self.tool = f'{self.device_dir}/benchmark_model'
    self._ready = False

  @property
  def name(self) -> str:
    return self.serial or 'adb'

  def describe(self) -> str:
    return f'adb {self.serial or "(the only phone)"} benchmark_model {self.delegate}'

  def _adb(self, *args: str, timeout: Optional[float] = None, to_phone: bool = True) -> str:
    """adb's output of `args` (to this phone, unless not `to_phone`); AdbError when it cannot reach the phone."""
    command = [self.adb, *(['-s', self.serial] if self.serial and to_phone else []), *args]
    try:
      result = subprocess.run(command, capture_output=True, text=True, timeout=timeout or self.timeout)
    except FileNotFoundError:
      raise AdbError(f'adb not found: config.runner.adb={self.adb!r} is not an executable (install Android '
                     'platform-tools or give its path)') from None
    except subprocess.TimeoutExpired:
      raise AdbError(f'{" ".join(command[:4])} ... did not answer within {timeout or self.timeout:g} s') from None
    text = result.stdout + result.stderr
    if result.returncode != 0 and any(word in text.lower() for word in _DISCONNECTED):
      raise AdbError(f'phone {self.serial or ""} unreachable: {text.strip()[-300:]}')
    if result.returncode != 0 and args[0] != 'shell':
      raise AdbError(f'adb {" ".join(args[:2])} failed: {text.strip()[-300:]}')
    return result.stdout

  def _shell(self, command: str) -> str:
    """A shell command on the phone; its output (stderr included), with `EXIT=<status>` as the last line."""
    return self._adb('shell', f'({command}) 2>&1; echo EXIT=$?')

  def check(self) -> None:
    """Finds the phone (the only one, or config.runner.serial), makes the work folder and puts benchmark_model
    there; every failure is named before any model is converted."""
    devices = parse_devices(self._adb('devices', timeout=60, to_phone=False))
    if self.serial:
      state = devices.get(self.serial)
      if state is None:
        raise AdbError(f'phone {self.serial} is not attached (adb devices lists: {_listed(devices)})')
    else:
      if len(devices) != 1:
        raise AdbError(f'{"no phone is" if not devices else "several phones are"} attached (adb devices lists: '
                       f'{_listed(devices)}); set config.runner.serial')
      self.serial, state = next(iter(devices.items()))
    if state == 'unauthorized':
      raise AdbError(f'phone {self.serial} is unauthorized: accept the USB debugging prompt on the phone')
    if state != 'device':
      raise AdbError(f'phone {self.serial} is {state}, not ready')
    self._shell(f'mkdir -p {shlex.quote(self.device_dir)}')
    if self.host_tool:
      self._adb('push', self.host_tool, self.tool)
      self._shell(f'chmod 755 {shlex.quote(self.tool)}')
    if not self._shell(f'test -x {shlex.quote(self.tool)}').strip().endswith('EXIT=0'):
      raise FileNotFoundError(f'{self.tool} is missing or not executable on phone {self.serial}: set '
                              'config.runner.benchmark_model to the host path of the binary for its ABI')
    self._ready = True

  def device(self) -> dict:
    """The phone now: model, Android version, SoC, cpufreq governors and frequencies (MHz), temperatures (C)."""
    script = ('echo model=$(getprop ro.product.model); echo android=$(getprop ro.build.version.release); '
              'echo soc=$(getprop ro.soc.model); echo platform=$(getprop ro.board.platform); '
              'for f in /sys/devices/system/cpu/cpu[0-9]*/cpufreq; do echo governor=$(cat $f/scaling_governor); '
              'echo frequency=$(cat $f/scaling_cur_freq); done; '
              'for f in /sys/class/thermal/thermal_zone*/temp; do echo temperature=$(cat $f); done')
    found = {'governors': set(), 'frequencies_mhz': [], 'temperatures_c': []}
    for line in self._shell(script).splitlines():
      name, _, value = line.strip().partition('=')
      if name in ('model', 'android', 'soc', 'platform'):
        found[name] = value
      elif name == 'governor' and value:
        found['governors'].add(value)
      elif name == 'frequency' and value.isdigit():
        found['frequencies_mhz'].append(int(value) // 1000)
      elif name == 'temperature' and value.lstrip('-').isdigit():
        found['temperatures_c'].append(int(value) / (1000 if abs(int(value)) > 1000 else 1))
    found['governors'] = sorted(found['governors'])
    return found

  def _benchmark(self, graph: str, extra=()) -> str:
    """One benchmark_model invocation; its output (RuntimeError with its last lines if it failed)."""
    flags = [f'--graph={graph}', f'--num_threads={self.settings.threads}', f'--warmup_runs={self.settings.warmup}',
             f'--num_runs={self.settings.avg_between}', '--min_secs=0', '--warmup_min_secs=0',
             *DELEGATES[self.delegate], *extra]
    output = self._shell(' '.join([shlex.quote(self.tool), *map(shlex.quote, flags)]))
    body, _, status = output.rstrip().rpartition('EXIT=')
    if status.strip() != '0':
      lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
      raise RuntimeError(f'benchmark_model failed on phone {self.serial} (exit {status.strip()}): '
                         + (' | '.join(lines[-3:]) or 'no output'))
    return body

  def _with_model(self, model: bytes, work):
    """Pushes `model`, runs `work(path on the phone)`, removes the model from the phone and the host."""
    for attempt in range(self.retries):
      try:
        if not self._ready:
          self.check()
        with tempfile.NamedTemporaryFile(suffix='.tflite') as local:
          local.write(model)
          local.flush()
          graph = f'{self.device_dir}/model_{uuid.uuid4().hex}.tflite'
          self._adb('push', local.name, graph)
        try:
          return work(graph)
        finally:
          self._shell(f'rm -f {shlex.quote(graph)}')
      except AdbError:
        self._ready = False
        if attempt == self.retries - 1:
          raise
        time.sleep(min(2.0 ** attempt, 30.0))

  def run(self, model: bytes) -> list:
    """`runs` one-element runs: each one benchmark_model invocation's mean of `avg_between` invokes (seconds)."""
    def work(graph):
      return [[parse_inference_us(self._benchmark(graph)) * 1e-6] for _ in range(self.settings.runs)]
    return self._with_model(model, work)

  def profile(self, model: bytes) -> List[dict]:
    """benchmark_model's own per-op profile of `model` (`--enable_op_profiling=true`)."""
    return self._with_model(model, lambda graph: parse_op_profile(self._benchmark(
        graph, ['--enable_op_profiling=true'])))


def _listed(devices: dict) -> str:
  return ', '.join(f'{serial} ({state})' for serial, state in devices.items()) or 'nothing'
