"""Public datasets by name, downloaded from their origins and checked against their SHA-256 (bundled/sources.json).

`fetch('latbench', 'data')` writes data/eagle-latbench-nb201/raw/*.pickle: the layout the tests read through
EAGLE_JAX_DATA. Each file is downloaded beside its destination and renamed into place only once its digest
matches, so an interrupted fetch leaves no partial file and a rerun fetches only what is missing.
"""
import functools
import hashlib
import importlib.resources
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict

from tqdm import tqdm

from eagle_jax.data import registry


@functools.lru_cache(maxsize=None)
def sources() -> Dict[str, dict]:
  """{name: {'description', 'files': [{'path', 'url', 'sha256'}]}} of every dataset `fetch` knows."""
  text = importlib.resources.files(__package__).joinpath('bundled', 'sources.json').read_text(encoding='utf-8')
  return json.loads(text)


def _download(url: str, part: Path, timeout: float) -> str:
  digest = hashlib.sha256()
  try:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, 'wb') as out:
      for block in iter(lambda: response.read(1 << 20), b''):
        digest.update(block)
        out.write(block)
  except (urllib.error.URLError, OSError) as error:
    part.unlink(missing_ok=True)
    raise OSError(f'cannot download {url}: {getattr(error, "reason", error)}') from None
  return digest.hexdigest()


def fetch(name: str, output, mirror: str = '', timeout: float = 60.0, progress: bool = True) -> dict:
  """Downloads dataset `name` into `output` (files at their registered paths) and checks each SHA-256.

  `mirror`: a base URL (https:// or file://) to fetch from instead of the origins; it holds each file at
  `<mirror>/<path>`. A file already in place with the right digest is kept; one with another digest is refused
  (nothing is overwritten). Returns {'fetched': [...], 'kept': [...]} (paths relative to `output`).
  """
  known = sources()
  if name not in known:
    raise ValueError(f'unknown dataset {name!r} to fetch; known: {", ".join(sorted(known))}')
  output = Path(output).expanduser()
  report = {'fetched': [], 'kept': []}
  for entry in tqdm(known[name]['files'], desc=f'fetch {name}', unit='file', disable=not progress):
    destination = output / entry['path']
    if destination.exists():
      digest = registry.sha256_of(destination)
      if digest != entry['sha256']:
        raise ValueError(f'{destination} exists with SHA-256 {digest}, not the registered {entry["sha256"]}; '
                         'move it away to fetch the released file')
      report['kept'].append(entry['path'])
      continue
    url = f'{mirror.rstrip("/")}/{entry["path"]}' if mirror else entry['url']
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + '.part')
    digest = _download(url, part, timeout)
    if digest != entry['sha256']:
      part.unlink()
      raise ValueError(f'{url}: SHA-256 {digest} does not match the registered {entry["sha256"]} of '
                       f'{entry["path"]}; the download is corrupted or not the released file (nothing was written)')
    os.replace(part, destination)
    report['fetched'].append(entry['path'])
  return report
