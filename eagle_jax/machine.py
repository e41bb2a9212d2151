"""The machine a result was computed on, for its record."""
import os
import platform


def cpu_model() -> str:
  try:
    with open('/proc/cpuinfo') as f:
      return next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
  except (OSError, StopIteration):
    return platform.processor() or platform.machine()


def describe() -> str:
  return f'{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}'
