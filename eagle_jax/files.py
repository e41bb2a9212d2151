"""Atomic, non-clobbering file writes: a result is either fully written or not there at all."""
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


def _read_umask() -> int:
  mask = os.umask(0)  # the only way to read it is to set it: done once, at import, not around every write
  os.umask(mask)
  return mask


_UMASK = _read_umask()


def check_writable(path: PathLike, overwrite: bool = False) -> Path:
  """Returns `path` as a Path; raises FileExistsError if it exists and `overwrite` is False."""
  path = Path(path)
  if path.exists() and not overwrite:
    raise FileExistsError(f'output {path} already exists; refusing to overwrite it (pass overwrite=True)')
  return path


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = 'wb', overwrite: bool = True) -> Iterator:
  """Opens a temporary file beside `path`, and renames it onto `path` only if the block succeeds."""
  path = check_writable(path, overwrite)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
  try:
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results get the usual permissions
    with os.fdopen(fd, mode) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


def atomic_write_bytes(path: PathLike, data: bytes, overwrite: bool = True) -> Path:
  with atomic_open(path, 'wb', overwrite) as f:
    f.write(data)
  return Path(path)


def atomic_write_text(path: PathLike, text: str, overwrite: bool = True) -> Path:
  return atomic_write_bytes(path, text.encode('utf-8'), overwrite)


RUN_MARKER = 'run.json'  # which binary a workdir belongs to


def run_kind(path: PathLike) -> str:
  """The kind of run whose workdir `path` is ('train', 'search', 'measure', ...), or '' without a marker."""
  try:
    return str(json.loads((Path(path) / RUN_MARKER).read_text()).get('kind', ''))
  except (OSError, ValueError, AttributeError):
    return ''


def _claim(path: Path, kind: str) -> None:
  """Refuses a workdir of another kind of run; marks a new one (each binary checks its own settings on resume)."""
  marker = path / RUN_MARKER
  if marker.is_file():
    old_kind = run_kind(path)
    if not old_kind:
      raise ValueError(f'{marker} is damaged; use another workdir')
    if old_kind != kind:
      raise FileExistsError(f'workdir {path} holds a {old_kind} run ({RUN_MARKER}); a {kind} run needs a workdir '
                            'of its own')
    return
  atomic_write_text(marker, json.dumps({'kind': kind}) + '\n')


@contextlib.contextmanager
def output_dir(path: PathLike, kind: str) -> Iterator[Path]:
  """`path` as the output folder of a `kind` of run: created if missing (and removed again if the job fails
  before writing anything into it); a clear error, before any work, for a path that is a file or a folder that
  is not writable, or the workdir of another kind of run."""
  path = Path(path)
  if path.exists() and not path.is_dir():
    raise NotADirectoryError(f'workdir {path} is a file, not a folder')
  created = not path.exists()
  try:
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):  # the one sure test (permissions, read-only mounts, root)
      pass
  except OSError as e:
    raise PermissionError(f'workdir {path} is not writable: {e.strerror or e}') from None
  try:
    _claim(path, kind)
    yield path
  except BaseException:
    if created and path.is_dir() and not any(p.name != RUN_MARKER for p in path.iterdir()):
      with contextlib.suppress(FileNotFoundError):
        (path / RUN_MARKER).unlink()
      path.rmdir()
    raise
