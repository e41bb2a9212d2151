"""Latency on a new device from a few measurements: pre-train on many devices, adapt from K measured models."""
