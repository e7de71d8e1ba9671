"""Tocsin: self-hostable, real-time notifications for web applications."""

from tocsin.errors import TocsinError
from tocsin.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = ["Settings", "TocsinError", "__version__", "load_settings"]
