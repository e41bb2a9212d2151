"""Search spaces behind one interface (`space.Space`), chosen by name: `get('nasbench201')`."""
import importlib

from eagle_jax.spaces.space import Space

NAMES = ('nasbench201', 'nasbench101', 'nasbench_asr', 'darts')


def get(name: str) -> Space:
  """The search space called `name` (one of NAMES)."""
  if isinstance(name, Space):
    return name
  if name not in NAMES:
    raise ValueError(f'unknown search space {name!r}; spaces: {", ".join(NAMES)}')
  return importlib.import_module(f'eagle_jax.spaces.{name}').SPACE
