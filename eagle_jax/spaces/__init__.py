"""Search spaces: enumerate architectures, convert ids, encode graphs for predictors."""
from eagle_jax.spaces import nasbench201
