"""The machine a benchmark ran on, for its printed record."""
import os
import platform


def describe() -> str:
  model = platform.processor() or platform.machine()
  try:
    with open('/proc/cpuinfo') as f:
      model = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
  except (OSError, StopIteration):
    pass
  return f'{model}, {os.cpu_count()} cores, Python {platform.python_version()}'
