"""Where published outputs go. Publishing hands a sink names and bytes; the sink keeps them.

``DirectorySink`` is the local output directory: each write atomic (temp file + rename) and
only when the bytes differ, so mtimes, ETags and caches stay valid. Another sink (object
storage, a CDN's API) implements the same three methods.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol

from .files import write_if_changed


class Sink(Protocol):
    def write(self, name: PurePosixPath, data: bytes) -> bool:
        """Keep ``data`` under ``name`` atomically; False when it already held those bytes."""
        ...

    def exists(self, name: PurePosixPath) -> bool: ...

    def read(self, name: PurePosixPath) -> bytes | None:
        """What ``name`` holds (None: nothing)."""
        ...

    def names(self, folder: str) -> list[PurePosixPath]:
        """Every output under ``folder``."""
        ...

    def remove(self, name: PurePosixPath) -> None:
        """Drop ``name`` (nothing happens when it is not there)."""
        ...

    def describe(self) -> str:
        """Where the outputs go, for logs and messages."""
        ...


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: PurePosixPath, data: bytes) -> bool:
        return write_if_changed(self._path(name), data)

    def exists(self, name: PurePosixPath) -> bool:
        return self._path(name).exists()

    def read(self, name: PurePosixPath) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self, folder: str) -> list[PurePosixPath]:
        base = self.root / folder
        return [PurePosixPath(p.relative_to(self.root).as_posix())
                for p in base.rglob("*") if p.is_file()] if base.is_dir() else []

    def remove(self, name: PurePosixPath) -> None:
        self._path(name).unlink(missing_ok=True)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, name: PurePosixPath) -> Path:
        if name.is_absolute() or ".." in name.parts:
            raise ValueError(f"output name outside the output directory: {name}")
        return self.root / name
