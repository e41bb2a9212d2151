"""Search spaces behind one interface (`Space`), each a package of its own (nasbench201, nasbench101, darts,
nasbench_asr), found by name: `get('nasbench201')`; bring your own with `register(space)` or 'MODULE:ATTRIBUTE'."""
from eagle_jax.spaces.space import BUILT_IN, DEFAULT, Space, get, register

NAMES = BUILT_IN
