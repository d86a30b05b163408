"""The lab's version: a leaf module every layer may import (stored with each run and model)."""

__version__ = "0.1.0"
