"""Known datasets by name: file names, units, device, SHA-256, so a downloaded file is verified and named."""
import dataclasses
import functools
import hashlib
import importlib.resources
from pathlib import Path
from typing import Dict, Optional, Tuple


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  name: str
  file_names: Tuple[str, ...]
  units: str
  device: str
  sha256: str
  entries: int
  source: str


def sha256_of(path) -> str:
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(1 << 20), b''):
      digest.update(block)
  return digest.hexdigest()


def _latbench_entries(file_name: str) -> int:
  if 'snapdragon-450' in file_name:
    return 15252
  if 'snapdragon-675' in file_name:
    return 15261
  return 15284


@functools.lru_cache(maxsize=None)
def known_datasets() -> Dict[str, DatasetInfo]:
  """The 13 LatBench pickles released with Eagle/BRP-NAS (read from a user's copy, never bundled)."""
  text = importlib.resources.files(__package__).joinpath('bundled', 'latbench_sha256.txt').read_text()
  known = {}
  for line in text.splitlines():
    if not line.strip() or line.startswith('#'):
      continue
    sha, vendored_name, readme_name = line.split()
    stem = Path(vendored_name).stem
    info = DatasetInfo(name=f'latbench/{stem}', file_names=(vendored_name, readme_name), units='s',
                       device=stem, sha256=sha, entries=_latbench_entries(vendored_name),
                       source='Eagle/BRP-NAS LatBench (SamsungLabs/eagle release)')
    known[info.name] = info
  return known


def identify(path) -> Optional[DatasetInfo]:
  """The registry entry of the file at `path`, or None if unknown.

  Raises ValueError when the file carries a registered name but its SHA-256 differs (corrupted or altered).
  """
  digest = sha256_of(path)
  by_hash = {info.sha256: info for info in known_datasets().values()}
  if digest in by_hash:
    return by_hash[digest]
  name = Path(path).name
  for info in known_datasets().values():
    if name in info.file_names:
      raise ValueError(f'{path}: SHA-256 {digest} does not match the registered {info.sha256} of {info.name}; '
                       'the file is corrupted or not the released one (re-download it, or rename it to load '
                       'it as an unregistered file)')
  return None
