"""The machine a benchmark ran on, for its printed record."""
from eagle_jax.machine import describe  # pylint: disable=unused-import
