"""eagle_jax: hardware-aware NAS toolkit (measure latency, predict it and accuracy, search) in JAX/Flax."""
__version__ = '0.1.0'
