"""Spike Lab: an interactive teaching lab for spiking neural networks."""

__version__ = "0.1.0"
