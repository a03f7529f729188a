"""The configuration stage: config.yaml -> Settings, validated once, frozen, passed explicitly.

model.py holds the settings records, load.py reads and checks the YAML (check.py: every key,
with its path), edit.py and opml.py edit config.yaml for operator commands, taxonomy.py is
the hub's categories as every stage reads them."""

from aggregator.config.load import load_settings, parse_settings
from aggregator.config.model import (
    CategorySettings,
    HubSettings,
    IngestSettings,
    OutputSettings,
    PollSettings,
    QueueSettings,
    RetentionSettings,
    ScrapeSettings,
    ServeSettings,
    Settings,
    SourceSettings,
    StoreSettings,
    parse_duration,
    parse_size,
)

__all__ = ["CategorySettings", "HubSettings", "IngestSettings", "OutputSettings",
           "PollSettings", "QueueSettings", "RetentionSettings", "ScrapeSettings",
           "ServeSettings", "Settings", "SourceSettings", "StoreSettings", "load_settings",
           "parse_duration", "parse_settings", "parse_size"]
