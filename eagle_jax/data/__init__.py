"""Datasets: Eagle-format measurement files, a registry of known datasets, bundled data, dataset tools."""
from eagle_jax.data.bundled_data import bundled
from eagle_jax.data.dataset import Dataset, load_dataset, load_measurements, save_measurements
from eagle_jax.data.registry import identify, known_datasets
