"""Per-layer profiling (Eagle's layer-profiling mode, `config.layers=True`): every distinct layer of a space's
network (`network().layers`: each op at each place and shape it occurs) is built as an isolated model fed its own
input shapes, converted as the networks are, and timed with any runner. Writes Eagle's
`results/results_layers.pickle` (a list of `(tag, timings)`), `layers.csv` (tag, op, input and output shapes,
latency) and `layers.json` (the network settings the layers belong to, read by the lookup baseline). A runner with
its own per-op profiler (adb: benchmark_model's `--enable_op_profiling`) adds that view to the table. Written
after every layer and resumed: layers already timed are kept."""
import csv
import io
import json
import time
from pathlib import Path

import ml_collections
from tqdm import auto as tqdm

from eagle_jax import files, spaces
from eagle_jax.data import formats, layer_table, tools
from eagle_jax.measure import convert, plan as plan_lib, shards

CSV = 'layers.csv'
OP_PROFILE = 'layers_op_profile.json'


def layer_model(layer, seed: int = 0):
  """The isolated Keras model of one layer: its inputs fed directly (seeded weights)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (TF only where layers are built)
  tf.keras.utils.set_random_seed(seed)
  inputs = [tf.keras.Input(batch_shape=shape) for shape in layer.inputs]
  return tf.keras.Model(inputs, layer.apply(inputs), name=layer.tag)


def _convert(layer, seed: int, conversion: dict) -> bytes:
  try:
    return convert.to_tflite(layer_model(layer, seed), **conversion)
  except Exception as e:  # pylint: disable=broad-except  (a space's layer description is wrong: say which)
    raise ValueError(f'layer {layer.tag} ({layer.op}, inputs {layer.inputs}) cannot be built and converted: '
                     f'{type(e).__name__}: {e}') from e


def measure_layers(config: ml_collections.ConfigDict, workdir, progress: bool = True) -> dict:
  """Profiles every layer of config.space's network on the configured device into `workdir`; returns (and
  writes) a summary. Settings, the device and the first layer's conversion are checked before anything is
  written."""
  space = spaces.get(config.space)
  device_runners = plan_lib.check_config(config, space)
  if len(device_runners) != 1:
    raise ValueError(f'per-layer profiling times on one device; config.runner names {len(device_runners)}')
  runner = device_runners[0]
  model_config = dict(config.model.to_dict(), input_size=tuple(config.model.input_size))
  layers = layer_table.space_layers(space, model_config)
  tags = [layer.tag for layer in layers]
  digest = plan_lib.settings_digest(config, space)
  with files.output_dir(workdir, 'measure') as workdir:
    plan_lib.check(workdir, tags, digest, config.fix)
    runner.check()
    conversion = plan_lib.conversion_settings(config)
    first = _convert(layers[0], config.model.seed, conversion)
    plan_lib.write(workdir, tags, digest)
    files.atomic_write_text(workdir / layer_table.CARD, json.dumps({'space': space.reference, 'model': model_config,
                                                        'settings': digest}, indent=2) + '\n')
    record = shards.record_devices(workdir, device_runners)
    try:
      return _profile(config, workdir, runner, layers, first, conversion, progress)
    finally:
      record('after')


def _profile(config, workdir: Path, runner, layers: list, first: bytes, conversion: dict, progress: bool) -> dict:
  start = time.perf_counter()
  table_path = layer_table.path(workdir)
  table_path.parent.mkdir(exist_ok=True)
  table = layer_table.read_table(table_path) if table_path.exists() else []
  done = {tag for tag, _ in table}
  profile_path = workdir / OP_PROFILE
  op_profiles = json.loads(profile_path.read_text()) if profile_path.exists() else {}
  profiler = getattr(runner, 'profile', None)
  todo = [layer for layer in layers if layer.tag not in done or (profiler and layer.tag not in op_profiles)]
  counts = {'measured': 0, 'failed': 0}
  for i in tqdm.trange(0, len(todo), runner.together, desc=f'profiling layers ({runner.describe()})',
                       unit='batch', disable=not progress):
    batch = todo[i:i + runner.together]
    models = [first if layer is layers[0] else _convert(layer, config.model.seed, conversion) for layer in batch]
    timed = [(layer, model) for layer, model in zip(batch, models) if layer.tag not in done]
    for (layer, _), value in zip(timed, runner.run_together([model for _, model in timed]) if timed else []):
      failed = isinstance(value, Exception)
      counts['failed' if failed else 'measured'] += 1
      table.append((layer.tag, f'error: timing failed: {value}' if failed else value))
      formats.write_pickle(table, table_path, overwrite=True)
    if profiler:
      for layer, model in zip(batch, models):
        try:
          op_profiles[layer.tag] = profiler(model)
        except (RuntimeError, ValueError) as e:
          op_profiles[layer.tag] = f'error: profiling failed: {e}'
        files.atomic_write_text(profile_path, json.dumps(op_profiles, indent=1) + '\n')
  _write_csv(workdir / CSV, layers, dict(table), op_profiles if profiler else None, config.model.seed)
  summary = {'layers': len(layers), 'already_done': len(layers) - len(todo), **counts,
             'wall_seconds': time.perf_counter() - start, 'runner': runner.describe(),
             'table': str(table_path.relative_to(workdir))}
  files.atomic_write_text(workdir / 'summary.json', json.dumps(summary, indent=2) + '\n')
  return summary


def _write_csv(path: Path, layers: list, table: dict, op_profiles, seed: int) -> None:
  """tag, op, input shapes, output shape, latency (s, Eagle's two-level statistic; the error where one failed)
  and, with a profiling runner, its per-op sum (us) and node types."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator='\n')
  header = ['tag', 'op', 'input_shapes', 'output_shape', 'latency_s', 'error']
  writer.writerow(header + (['op_profile_us', 'op_profile_nodes'] if op_profiles is not None else []))
  for layer in layers:
    value = table.get(layer.tag, 'error: not measured')
    failed = isinstance(value, str)
    row = [layer.tag, layer.op, ' '.join('x'.join(map(str, s)) for s in layer.inputs),
           'x'.join(map(str, layer_model(layer, seed).outputs[0].shape)),
           '' if failed else f'{tools.two_level_iqr_mean(value):.9g}', value if failed else '']
    if op_profiles is not None:
      rows = op_profiles.get(layer.tag, 'error: not profiled')
      row += (['', rows] if isinstance(rows, str) else
              [f'{1000 * sum(r["avg_ms"] for r in rows):.6g}', '+'.join(r['node_type'] for r in rows)])
    writer.writerow(row)
  files.atomic_write_text(path, out.getvalue())
