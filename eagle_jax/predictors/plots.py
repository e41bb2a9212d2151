"""Plots people look at, as PNG files. Uses matplotlib's object API (no pyplot), so importing eagle_jax never
changes the backend of a notebook."""
from pathlib import Path

import numpy as np
from matplotlib import figure

from eagle_jax import files


def new_figure(width: float = 6, height: float = 4, columns: int = 1):
  """(figure, axes); axes is a single Axes when columns == 1."""
  fig = figure.Figure(figsize=(width, height))
  axes = fig.subplots(1, columns)
  return fig, axes


def save_figure(fig, path) -> Path:
  with files.atomic_open(path, 'wb') as f:
    fig.savefig(f, format='png', dpi=120, bbox_inches='tight')
  return Path(path)


def scatter(true, pred, path, title: str, units: str, same_scale: bool, std=None) -> Path:
  """Predicted (or ranking score) against measured, with the identity line when both share a scale, and an
  ensemble's 90% intervals (`std`) as error bars."""
  fig, ax = new_figure(5, 5)
  if std is not None:
    ax.errorbar(true, pred, yerr=1.645 * np.asarray(std), fmt='none', elinewidth=0.5, alpha=0.25,
                label='90% interval')
  ax.scatter(true, pred, s=3, alpha=0.4)
  if same_scale:
    lo, hi = float(np.min(true)), float(np.max(true))
    ax.plot([lo, hi], [lo, hi], 'k--', lw=1)
  ax.set(title=title, xlabel=f'measured ({units})' if units else 'measured',
         ylabel=(f'predicted ({units})' if units else 'predicted') if same_scale else 'predicted score')
  ax.grid(alpha=0.3)
  return save_figure(fig, path)
