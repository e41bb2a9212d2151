"""Running the absl binaries: a mistake in a flag, a config override or a setting is one clear line, not a
traceback (set EAGLE_JAX_TRACEBACK=1 to see the traceback as well)."""
import os
import sys
import traceback

from absl import app

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


def run(main) -> None:
  """app.run(main), with one-line errors and exit status 2 for the errors a user can fix."""
  started = []

  def main_started(argv):
    started.append(True)
    return main(argv)

  try:
    app.run(main_started)
  except (USER_ERRORS if started else OVERRIDE_ERRORS) as e:
    if os.environ.get('EAGLE_JAX_TRACEBACK'):
      traceback.print_exc()
    text = message(e)
    if not started:
      arg = _override_in_argv(text)
      text = f'bad config override {arg}: {text}' if arg else f'bad flags or config: {text}'
    sys.stderr.write(f'error: {text}\n')
    sys.exit(2)
