"""Feed aggregator and syndication service for a network of local and regional governments."""

from __future__ import annotations

from .config import Settings, load_settings
from .core import Aggregator
from .exceptions import AggregatorError
from .version import __version__

__all__ = ["Aggregator", "AggregatorError", "Settings", "__version__", "load_settings"]
