"""Predictors: Flax GCN/MLP (unary and binary), baselines, training, metrics, whole-space ranking."""
from eagle_jax.predictors.inference import TrainedPredictor, faithful_sort, infer_space, load
