"""Portfolio Prism: the local-first data backend of a privacy-first portfolio app."""

__version__ = "0.1.0"
__all__ = ["__version__"]
