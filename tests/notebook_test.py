"""The tour notebook runs end to end (tiny sizes) with nbclient."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / 'experiments' / 'eagle_jax_tour.ipynb'


@pytest.mark.slow
def test_tour_notebook_runs(tmp_path, monkeypatch):
  monkeypatch.setenv('EAGLE_JAX_TINY', '1')
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  NotebookClient(notebook, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}).execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == 'code' for o in cell.get('outputs', [])]
  assert not [o for o in outputs if o.get('output_type') == 'error']
  assert any(o.get('output_type') == 'display_data' and 'image/png' in o.get('data', {}) for o in outputs)
  assert (tmp_path / 'eagle_jax_notebook' / 'search' / 'trace.txt').is_file()
  assert os.environ['EAGLE_JAX_TINY'] == '1'


def _install_cell() -> str:
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  return next(cell.source for cell in notebook.cells if cell.cell_type == 'code' and 'pip' in cell.source)


@pytest.mark.slow
def test_install_cell_finds_a_copy_of_the_repository(tmp_path):
  """Run as on a fresh Colab: from inside a copy it installs that copy (pip --dry-run here); elsewhere it says
  what to do."""
  env = {**os.environ, 'EAGLE_JAX_REINSTALL': '1', 'EAGLE_JAX_PIP_ARGS': '--dry-run --no-deps --no-build-isolation'}
  env.pop('EAGLE_JAX_SOURCE', None)
  root = NOTEBOOK.parents[1]
  inside = subprocess.run([sys.executable, '-c', _install_cell()], cwd=root / 'experiments', env=env,
                          capture_output=True, text=True, timeout=300)
  assert inside.returncode == 0, inside.stderr[-2000:]
  assert f'installing eagle_jax from {root}' in inside.stdout
  elsewhere = subprocess.run([sys.executable, '-c', _install_cell()], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
  assert elsewhere.returncode != 0 and 'upload it to /content/eagle_jax' in elsewhere.stderr
