"""A stand-in for TensorFlow Lite's benchmark_model in tests: times --graph with LiteRT on this machine and prints
benchmark_model's output format (2.x: `INFO:` lines, phase summaries, `Inference timings in us`, and with
--enable_op_profiling=true the `Run Order` table). --use_gpu=true fails as a phone without a GPU delegate does."""
import statistics
import sys
import time

import numpy as np


def main(argv):
  flags = dict(arg[2:].split('=', 1) for arg in argv if arg.startswith('--') and '=' in arg)
  graph = flags.get('graph', '')
  print('INFO: STARTING!')
  print(f'INFO: Num threads: [{flags.get("num_threads", "1")}]')
  print(f'INFO: Graph: [{graph}]')
  if flags.get('use_gpu') == 'true':
    print('ERROR: Failed to apply GPU delegate.')
    print('ERROR: Benchmarking failed.')
    return 1
  from ai_edge_litert import interpreter as litert  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  try:
    interpreter = litert.Interpreter(model_path=graph, num_threads=int(flags.get('num_threads', 1)))
    interpreter.allocate_tensors()
  except (ValueError, RuntimeError) as e:
    print(f"ERROR: Could not open '{graph}'. {e}")
    print('ERROR: Benchmarking failed.')
    return 1
  init_us = (time.perf_counter() - start) * 1e6
  print(f'INFO: Loaded model {graph}')
  print(f'INFO: Initialized session in {init_us / 1000:.3f}ms.')
  detail = interpreter.get_input_details()[0]
  interpreter.set_tensor(detail['index'], np.zeros(detail['shape'], detail['dtype']))

  def phase(count):
    times = []
    for _ in range(count):
      tick = time.perf_counter()
      interpreter.invoke()
      times.append((time.perf_counter() - tick) * 1e6)
    print(f'INFO: Running benchmark for at least {count} iterations and at least 0 seconds but terminate if '
          'exceeding 150 seconds.')
    print(f'INFO: count={len(times)} first={times[0]:.0f} curr={times[-1]:.0f} min={min(times):.0f} '
          f'max={max(times):.0f} avg={statistics.mean(times):.6g} std={statistics.pstdev(times):.0f}\n')
    return times

  warm = phase(max(1, int(flags.get('warmup_runs', 1))))
  timed = phase(max(1, int(flags.get('num_runs', 50))))
  print(f'INFO: Inference timings in us: Init: {init_us:.0f}, First inference: {warm[0]:.0f}, Warmup (avg): '
        f'{statistics.mean(warm):.6g}, Inference (avg): {statistics.mean(timed):.6g}')
  if flags.get('enable_op_profiling') == 'true':
    ops = interpreter._get_ops_details()  # pylint: disable=protected-access
    share = statistics.mean(timed) / 1000 / max(1, len(ops))
    print('Profiling Info for Benchmark Initialization:')
    print('============================== Run Order ==============================')
    print('\t             [node type]\t          [start]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t'
          '[times called]\t[Name]')
    for i, op in enumerate(ops):
      percent = 100.0 / len(ops)
      print(f'\t{op["op_name"]:>24}\t{i * share:17.3f}\t{share:9.3f}\t{share:9.3f}\t{percent:7.3f}%\t'
            f'{percent * (i + 1):7.3f}%\t{0:10.3f}\t{1:14d}\t[op_{op["index"]}]')
    print('\n============================== Top by Computation Time ==============================')
  print('INFO: Memory footprint delta from the start of the tool (MB): init=1.5 overall=2.0')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
