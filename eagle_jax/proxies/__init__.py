"""Zero-cost proxies computed on the networks the measure binary builds (scores.py: the proxies; compute.py:
whole spaces, resumable; `python -m eagle_jax.proxies`)."""
