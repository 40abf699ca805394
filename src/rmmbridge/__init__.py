"""rmmbridge: connects RMM tools to a service desk."""

__version__ = "0.1.0"
