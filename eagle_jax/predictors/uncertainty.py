"""An ensemble's uncertainty: the members' spread as a standard deviation in the target's units, its
calibration (one scale fitted on the validation split, so that standardised validation errors have unit
variance), and how well it is calibrated (coverage of central Gaussian intervals, negative log likelihood, and
whether larger spreads go with larger errors)."""
import math
from typing import Dict, Tuple

import numpy as np
from scipy import stats

from eagle_jax.predictors import normalization

Z68, Z90 = 0.9944578832097535, 1.6448536269514722  # half-widths of the central 68% and 90% Gaussian intervals


def spread(members: np.ndarray, normalizer: normalization.Normalizer, binary: bool,
           scale: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
  """(mean, std) per arch from the members' outputs (n, K): a unary ensemble's mean in the target's units (the
  members' mean before de-normalising, what the ensemble predicts) and the spread of the members' de-normalised
  values; a binary one's mean ranking score and its spread. `scale` is the fitted calibration."""
  members = np.asarray(members, np.float64)
  if binary:
    return members.mean(axis=1), scale * members.std(axis=1, ddof=1)
  return (np.asarray(normalizer.invert(members.mean(axis=1)), np.float64),
          scale * np.asarray(normalizer.invert(members), np.float64).std(axis=1, ddof=1))


def calibration_scale(mean: np.ndarray, std: np.ndarray, true: np.ndarray) -> float:
  """The factor on `std` that gives the standardised errors (true - mean) / std unit variance (the
  maximum-likelihood variance scale for Gaussian errors); 1.0 when there is nothing to fit on."""
  std = np.maximum(np.asarray(std, np.float64), np.finfo(np.float64).tiny)
  z = (np.asarray(true, np.float64) - np.asarray(mean, np.float64)) / std
  return float(math.sqrt(np.mean(z ** 2))) if len(z) >= 2 and np.isfinite(z).all() else 1.0


def calibration_metrics(mean: np.ndarray, std: np.ndarray, true: np.ndarray) -> Dict[str, float]:
  """coverage_68 / coverage_90 (share of models inside the central Gaussian interval), nll (mean Gaussian
  negative log likelihood, in the target's units), spearman_error_std (Spearman between |error| and std), and the
  mean std relative to the mean."""
  mean, true = np.asarray(mean, np.float64), np.asarray(true, np.float64)
  std = np.maximum(np.asarray(std, np.float64), np.finfo(np.float32).tiny)
  error = np.abs(true - mean)
  return {'coverage_68': float(np.mean(error <= Z68 * std)), 'coverage_90': float(np.mean(error <= Z90 * std)),
          'nll': float(np.mean(0.5 * np.log(2 * np.pi * std ** 2) + error ** 2 / (2 * std ** 2))),
          'spearman_error_std': float(stats.spearmanr(error, std).statistic),
          'relative_std': float(np.mean(std / np.maximum(np.abs(mean), np.finfo(np.float32).tiny)))}


def probability_at_most(mean: np.ndarray, std: np.ndarray, limit: float) -> np.ndarray:
  """P(value <= limit) per arch under Gaussians N(mean, std^2) (a point mass where std is 0)."""
  std = np.asarray(std, np.float64)
  z = (limit - np.asarray(mean, np.float64)) / np.where(std > 0, std, 1.0)
  return np.where(std > 0, stats.norm.cdf(z), (np.asarray(mean) <= limit).astype(np.float64))
