"""Eagle's search log (log.txt, in Eagle's format, below) and search traces.

log.txt: runs separated by a line `===`; each run has three sections separated by lines `---`: one line per
model `GT PRED KEY` (KEY = the space's key: an NB201 op-vector tuple, may contain spaces; an NB101 hash), the
explored models in the order they were trained, and diagnostics. The trace: the explored models, then every
other model by PRED, highest first.
"""
import ast
import dataclasses
from pathlib import Path
from typing import List, Tuple

from eagle_jax import files, spaces

RUN_SEPARATOR, SECTION_SEPARATOR = '===', '---'


@dataclasses.dataclass
class LogRun:
  entries: List[Tuple[float, float, tuple]]
  explored: List[tuple]
  diagnostics: List[str]


def format_run(run: LogRun) -> str:
  lines = [f'{gt!r} {pred!r} {key}' for gt, pred, key in run.entries]
  lines += [SECTION_SEPARATOR] + [str(key) for key in run.explored]
  lines += [SECTION_SEPARATOR] + list(run.diagnostics)
  return '\n'.join(lines) + '\n'


def append_run(path, run: LogRun) -> int:
  """Adds a run to `path` (a `===` line first if it already holds runs), atomically; returns how many runs the
  file holds now."""
  path = Path(path)
  old = path.read_text() if path.exists() else ''
  files.atomic_write_text(path, old + (RUN_SEPARATOR + '\n' if old else '') + format_run(run))
  return 1 + sum(line.strip() == RUN_SEPARATOR for line in old.splitlines()) + bool(old)


def _key(text: str, where: str, space):
  try:
    try:
      raw = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
      raw = text.strip()  # keys printed without quotes (NB101 hashes)
    return spaces.get(space).key(raw)
  except (ValueError, SyntaxError, TypeError) as e:
    raise ValueError(f'{where}: bad model key {text!r}: {e}') from e


def parse_log(path, space) -> List[LogRun]:
  """Every run in an Eagle log file of `space`'s models."""
  path = Path(path)
  runs, chunk = [], []
  for line in path.read_text().splitlines() + [RUN_SEPARATOR]:
    if line.strip() != RUN_SEPARATOR:
      chunk.append(line)
      continue
    sections, current = [], []
    for text in chunk:
      if text.strip() == SECTION_SEPARATOR:
        sections.append(current)
        current = []
      else:
        current.append(text)
    sections.append(current)
    if len(sections) != 3:
      raise ValueError(f'{path}: a run has {len(sections)} sections, expected 3 separated by "---"')
    entries = []
    for number, text in enumerate(sections[0], start=1):
      parts = text.split(' ', 2)
      try:
        gt, pred = float(parts[0]), float(parts[1])
      except (ValueError, IndexError):
        raise ValueError(f'{path}: entry {number} is not "GT PRED KEY": {text!r}') from None
      if len(parts) != 3:
        raise ValueError(f'{path}: entry {number} is not "GT PRED KEY": {text!r}')
      entries.append((gt, pred, _key(parts[2], f'{path} entry {number}', space)))
    explored = [_key(text, f'{path} explored', space) for text in sections[1] if text.strip()]
    runs.append(LogRun(entries, explored, sections[2]))
    chunk = []
  return runs


def trace_of(run: LogRun) -> List[tuple]:
  """Explored models in order, then the rest by prediction, highest first (ties keep log order)."""
  explored = set(run.explored)
  rest = [entry for entry in run.entries if entry[2] not in explored]
  rest.sort(key=lambda entry: -entry[1])
  return list(run.explored) + [key for _, _, key in rest]


def write_trace(path, keys: list, space) -> None:
  space = spaces.get(space)
  files.atomic_write_text(path, '\n'.join(space.to_str(k) for k in keys) + '\n')


def read_trace(path, space) -> list:
  space = spaces.get(space)
  return [space.from_str(line) for line in Path(path).read_text().splitlines() if line.strip()]
