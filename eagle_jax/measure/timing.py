"""What every runner shares: its timing settings and its interface."""
import dataclasses


@dataclasses.dataclass
class TimingSettings:
  """How a model is timed: `runs` runs of `avg_between` invokes after `warmup`, `interval` s between runs."""
  threads: int = 1
  runs: int = 100
  avg_between: int = 10
  interval: float = 0.01
  warmup: int = 10
  xnnpack: bool = True
  seed: int = 0


class Runner:
  """What every runner has: `name`, `describe()`, `check()`, `device()`, `run(model) -> timings`, and
  `run_together(models)`, which times `together` models at once where the runner can (else one by one)."""
  together = 1

  def run_together(self, models: list) -> list:
    """Per model its timings, or the RuntimeError / ValueError that failed it (the device itself failing
    raises)."""
    results = []
    for model in models:
      try:
        results.append(self.run(model))
      except (RuntimeError, ValueError) as e:
        results.append(e)
    return results
