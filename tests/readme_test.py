"""The README run as written: its command chain (with size overrides for a quick run) and its library snippet."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / 'README.md').read_text()
# what makes each binary quick here; transfer and proxies have end-to-end tests of their own
QUICK = {
    'eagle_jax.measure': ['--config.num_archs=12', '--config.runner.runs=5', '--config.runner.avg_between=2',
                          '--config.runner.warmup=1'],
    'eagle_jax.train': ['--config.training.epochs=20'],
    'eagle_jax.search': ['--config.search.budget=20', '--config.search.iterations=2', '--config.model.num_hidden=32',
                         '--config.training.epochs=20'],
}
SKIPPED = ('eagle_jax.transfer', 'eagle_jax.proxies')


def _block_after(heading: str, language: str = '') -> str:
  section = README.split(heading, 1)[1]
  return re.search(rf'```{language}\n(.*?)```', section, re.S).group(1)


def _commands(block: str) -> list:
  """The `python -m ...` lines of a README block, continuation lines joined, comments dropped."""
  text = re.sub(r'\\\n\s*', ' ', block)
  lines = [line.split('#', 1)[0].split() for line in text.splitlines() if line.startswith('python -m eagle_jax')]
  return [line for line in lines if line]


@pytest.mark.slow
def test_the_binaries_chain_and_the_library_snippet_run_as_written(tmp_path):
  (tmp_path / 'configs').symlink_to(ROOT / 'configs')
  env = {**os.environ, 'PYTHONPATH': str(ROOT)}
  commands = _commands(_block_after('## The binaries'))
  assert [c[2] for c in commands][:5] == ['eagle_jax.measure', 'eagle_jax.data', 'eagle_jax.train',
                                          'eagle_jax.search', 'eagle_jax.transfer']
  for command in commands:
    if command[2] in SKIPPED:
      continue
    result = subprocess.run([sys.executable, *command[1:], *QUICK.get(command[2], [])], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f'{" ".join(command)}:\n{result.stderr[-3000:]}'
  assert (tmp_path / 'runs/lat/metrics.json').is_file() and (tmp_path / 'runs/top/top.csv').is_file()
  snippet = _block_after('## Library', 'python')
  result = subprocess.run([sys.executable, '-c', snippet], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
