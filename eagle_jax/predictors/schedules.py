"""Per-epoch learning-rate schedules (cosine, plateau) and early stopping, as Eagle steps them."""
import math

SCHEDULE_START_EPOCH = 20  # Eagle steps plateau and early stopping only after epoch 20


class PlateauSchedule:
  """ReduceLROnPlateau(min, factor, patience, relative threshold 0.01, cooldown 0)."""

  def __init__(self, learning_rate: float, patience: int, factor: float = 0.5, threshold: float = 0.01):
    self.learning_rate, self.patience, self.factor, self.threshold = learning_rate, patience, factor, threshold
    self.best, self.bad_epochs = math.inf, 0

  def step(self, value: float) -> float:
    if value < self.best * (1 - self.threshold):
      self.best, self.bad_epochs = value, 0
    else:
      self.bad_epochs += 1
      if self.bad_epochs > self.patience:
        self.learning_rate *= self.factor
        self.bad_epochs = 0
    return self.learning_rate


class EarlyStopping:
  """Stops after `patience` epochs without improvement (min, min_delta 0); NaN stops at once; 0 disables."""

  def __init__(self, patience: int):
    self.patience, self.best, self.bad_epochs = patience, None, 0

  def should_stop(self, value: float) -> bool:
    if math.isnan(value):
      return True
    if self.best is None or value < self.best:
      self.best, self.bad_epochs = value, 0
      return False
    self.bad_epochs += 1
    return self.patience > 0 and self.bad_epochs >= self.patience


def cosine_learning_rate(base: float, epoch: int, total_epochs: int) -> float:
  """CosineAnnealingLR stepped per epoch (eta_min 0); `epoch` counts from 0."""
  return 0.5 * base * (1 + math.cos(math.pi * epoch / total_epochs))
