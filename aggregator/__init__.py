"""Feed aggregator and syndication service for a network of local and regional governments."""

from __future__ import annotations

from aggregator.config import Settings, load_settings
from aggregator.core import Aggregator
from aggregator.errors import AggregatorError
from aggregator.version import __version__

__all__ = ["Aggregator", "AggregatorError", "Settings", "__version__", "load_settings"]
