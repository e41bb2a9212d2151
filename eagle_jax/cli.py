"""Running the absl binaries: a mistake in a flag, a config override or a setting is one clear line, not a
traceback (set EAGLE_JAX_TRACEBACK=1 to see the traceback as well)."""
import importlib.util
import os
import sys
import traceback

from absl import app, flags, logging

# TensorFlow's C++ INFO lines (oneDNN, CPU features), before any module loads TensorFlow; workers inherit it
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

# What a user's input can raise: bad values, files, workdirs, devices; a diverged training run.
USER_ERRORS = (ValueError, KeyError, OSError, FloatingPointError)
# What ml_collections raises for an override of a key that does not exist or does not fit its type.
OVERRIDE_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


def message(error: BaseException) -> str:
  """The innermost message of an error, on one line, without the reprs that wrapping adds."""
  while error.args and isinstance(error.args[0], BaseException):
    error = error.args[0]
  text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
  return ' '.join(part.strip() for part in text.splitlines() if part.strip())


def _override_in_argv(text: str) -> str:
  """The --config.* argument a parsing error is about, when one names the key in the message."""
  for arg in sys.argv[1:]:
    if arg.startswith('--config.'):
      key = arg[len('--config.'):].split('=', 1)[0].rsplit('.', 1)[-1]
      if f"'{key}'" in text or f'"{key}"' in text or f' {key}' in text:
        return arg
  return ''


def _fields_beside(arg: str) -> str:
  """For an override of a key the config lacks: the keys its parent does have (read from the --config file)."""
  config_arg = next((a for a in sys.argv[1:] if a.startswith('--config=')), '')
  path, _, parameter = config_arg[len('--config='):].partition(':')
  try:
    spec = importlib.util.spec_from_file_location('_config_for_message', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config(parameter) if parameter else module.get_config()
    *parents, _ = arg[len('--config.'):].split('=', 1)[0].split('.')
    for name in parents:
      config = config[name]
    return ', '.join(sorted(config.keys()))
  except Exception:  # pylint: disable=broad-except  (only a hint; the error itself is reported regardless)
    return ''


def _fail(text: str) -> None:
  sys.stderr.write(f'error: {text}\n')
  sys.exit(2)


def _parse_flags(argv):
  """absl's flag parsing, a bad flag or override (type, enum, bound, unknown key) reported on one line; the
  libraries' INFO logging (jax, orbax) hidden unless --verbosity (-v) is given."""
  try:
    remaining = flags.FLAGS(argv)
  except flags.Error as e:
    if os.environ.get('EAGLE_JAX_TRACEBACK'):
      traceback.print_exc()
    _fail(message(e))
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  return remaining


def run(main) -> None:
  """app.run(main), with one-line errors and exit status 2 for the errors a user can fix."""
  started = []

  def main_started(argv):
    started.append(True)
    return main(argv)

  try:
    app.run(main_started, flags_parser=_parse_flags)
  except (USER_ERRORS if started else OVERRIDE_ERRORS) as e:
    if os.environ.get('EAGLE_JAX_TRACEBACK'):
      traceback.print_exc()
    text = message(e)
    if not started:
      arg = _override_in_argv(text)
      known = _fields_beside(arg) if arg and isinstance(e, (KeyError, AttributeError)) else ''
      if known:
        text = f'bad config override {arg}: no such field {text}; the fields there are: {known}'
      else:
        text = f'bad config override {arg}: {text}' if arg else f'bad flags or config: {text}'
    _fail(text)
