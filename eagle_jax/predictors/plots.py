"""Plots people look at: predicted against measured."""
from pathlib import Path

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from eagle_jax import files  # pylint: disable=wrong-import-position


def save_figure(fig, path) -> Path:
  with files.atomic_open(path, 'wb') as f:
    fig.savefig(f, format='png', dpi=120, bbox_inches='tight')
  plt.close(fig)
  return Path(path)


def scatter(true, pred, path, title: str, units: str, same_scale: bool) -> Path:
  """Predicted (or ranking score) against measured, with the identity line when both share a scale."""
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.scatter(true, pred, s=3, alpha=0.4)
  if same_scale:
    lo, hi = float(np.min(true)), float(np.max(true))
    ax.plot([lo, hi], [lo, hi], 'k--', lw=1)
  ax.set(title=title, xlabel=f'measured ({units})' if units else 'measured',
         ylabel=(f'predicted ({units})' if units else 'predicted') if same_scale else 'predicted score')
  ax.grid(alpha=0.3)
  return save_figure(fig, path)
