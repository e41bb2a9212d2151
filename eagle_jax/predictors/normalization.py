"""Target scaling of predictors: optional log, then optional min-max."""
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Normalizer:
  """Target scaling: optional log (for latency: errors become relative), then optional min-max (Eagle's
  normalize tool); the identity when both are off."""
  low: float = 0.0
  high: float = 1.0
  log: bool = False

  @classmethod
  def fit(cls, values, enabled: bool, log: bool = False) -> 'Normalizer':
    values = np.asarray(values, np.float64)
    if log and np.any(values <= 0):
      raise ValueError(f'config.data.log_targets needs positive targets; the smallest is {float(values.min())!r}')
    values = np.log(values) if log else values
    return cls(float(np.min(values)), float(np.max(values)), log) if enabled else cls(log=log)

  def apply(self, values):
    values = np.asarray(values, np.float64)
    return ((np.log(values) if self.log else values) - self.low) / (self.high - self.low)

  def invert(self, values):
    values = np.asarray(values, np.float64) * (self.high - self.low) + self.low
    return np.exp(values) if self.log else values
