"""The tour notebook runs end to end (tiny sizes) with nbclient."""
import os
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
