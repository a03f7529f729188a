"""Editing config.yaml for operator commands (`sources import/add/remove/disable/enable`).

ruamel.yaml's round-trip mode keeps comments, key order and quoting. The edited document is
validated like any config before it replaces the file (atomically); an edit that would make
the config invalid raises ConfigError and leaves the file untouched.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from aggregator.config import load_settings, parse_settings
from aggregator.errors import ConfigError
from aggregator.files import atomic_write, owner_of, user_name


class Unchanged(Exception):
    """Raised inside ``edit_config`` to leave the file as it is."""


@contextlib.contextmanager
def edit_config(path: Path) -> Iterator[Any]:
    """The config as a round-trip document; written back if the block ends normally."""
    load_settings(path)  # the config must be valid before we touch it
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the shipped config's layout
    yaml.width = 4096
    doc = yaml.load(path.read_text(encoding="utf-8"))
    try:
        yield doc
    except Unchanged:
        return
    out = io.StringIO()
    yaml.dump(doc, out)
    parse_settings(out.getvalue(), path)  # raises ConfigError: the file stays untouched
    try:
        atomic_write(path, out.getvalue().encode("utf-8"))
    except OSError as e:
        raise ConfigError(_cannot_write(path, e)) from e


def _cannot_write(path: Path, error: OSError) -> str:
    """Who owns what, and what to run instead, for a config this user cannot write."""
    owner = owner_of(path.parent)
    return (f"{path}: cannot write the config: {error.strerror or error} (its folder "
            f"{path.parent} belongs to {owner}; this command runs as "
            f"{user_name(os.geteuid())}): "
            f"run it as {owner} (sudo -u {owner} aggregator ...); the file is unchanged")


def source_at(doc: Any, source_id: str) -> int:
    """Index of the source ``source_id`` in the document's sources."""
    for i, source in enumerate(doc.get("sources") or []):
        if source.get("id") == source_id:
            return i
    raise ConfigError(f"no source with id {source_id!r}")
