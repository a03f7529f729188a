"""Where published outputs go. Publishing hands a sink names and bytes; the sink keeps them.

``DirectorySink`` is the local output directory: each write atomic (temp file + rename) and
only when the bytes differ, so mtimes, ETags and caches stay valid. Inside ``batch()`` the
writes are not fsynced one by one (two fsyncs per file made a first build of 10,000 pages
spend 12 s there): one os.sync() makes them all durable when the batch ends, or earlier at
``settle()``. A file a crash left empty counts as missing, so it is rendered again. While
it writes, the sink marks the directory (files.begin_writing), so the next start looks for
the temp files of a writer that died, and only then. Another
sink (object storage, a CDN's API) implements the same methods.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Protocol

from aggregator.files import begin_writing, end_writing, write_if_changed


class Sink(Protocol):
    def write(self, name: PurePosixPath, data: bytes) -> bool:
        """Keep ``data`` under ``name`` atomically; False when it already held those bytes."""
        ...

    def exists(self, name: PurePosixPath) -> bool: ...

    def present(self, name: str) -> bool:
        """Whether ``name`` (a/b.html) is there, by its folder's listing (may be empty after
        a crash: exists() tells)."""
        ...

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

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Many writes that become durable together, when the batch ends."""
        ...

    def settle(self) -> None:
        """Make what was written so far durable (inside a batch)."""
        ...

    def replace_folder(self, folder: str, build: Callable[[Path], bool]) -> bool:
        """Have ``build`` fill an empty local directory; when it returns True, that
        directory's files replace everything under ``folder``. False: nothing changed."""
        ...

    def remove_folder(self, folder: str) -> None:
        """Drop ``folder`` and everything under it."""
        ...


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = str(root)
        self._batched = 0
        self._unsynced = False
        self._writing = 0  # writes and batches under way: the mark is there while > 0
        self._lock = threading.Lock()
        self._listed: dict[str, set[str]] = {}  # folder -> names, read once per batch

    def write(self, name: PurePosixPath, data: bytes) -> bool:
        with self._marked():
            written = write_if_changed(self._path(name), data, sync=not self._batched)
            self._unsynced |= written and bool(self._batched)
        listed = self._listed.get(str(name.parent))
        if listed is not None:
            listed.add(name.name)
        return written

    def exists(self, name: PurePosixPath) -> bool:
        """A stat by its string path: asked for each of 20,000 pages at a quiet publish."""
        self._check(name)
        try:
            return os.stat(os.path.join(self._root, name)).st_size > 0
        except FileNotFoundError:
            return False

    def present(self, name: str) -> bool:
        """By a listing of its folder, read once per batch (20,000 pages were as many stats
        at a quiet publish; a string, not a path: pathlib was a third of that). An empty
        page, written but not synced when a crash stopped its writer, is not told from a
        whole one: the start after that crash drops the memo that asks
        (core.Aggregator._remove_orphans), so each such page is written again."""
        if not self._batched:
            return self.exists(PurePosixPath(name))
        folder, _, base = name.rpartition("/")
        if name.startswith("/") or base in ("", "..") or (
                ".." in folder and ".." in folder.split("/")):  # split only when it may be
            raise ValueError(f"output name outside the output directory: {name}")
        listed = self._listed.get(folder or ".")
        if listed is None:
            try:
                listed = set(os.listdir(os.path.join(self._root, folder)))
            except (FileNotFoundError, NotADirectoryError):
                listed = set()
            self._listed[folder or "."] = listed
        return base in listed

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self._marked():
            self._batched += 1
            try:
                yield
            finally:
                self._batched -= 1
                if not self._batched:
                    self._listed.clear()
                    self.settle()

    @contextlib.contextmanager
    def _marked(self) -> Iterator[None]:
        """The directory marked as written by this process from the first write or batch
        under way to the end of the last (a batch's end settles its writes first)."""
        with self._lock:
            if not self._writing:
                begin_writing(self.root)
            self._writing += 1
        try:
            yield
        finally:
            with self._lock:
                self._writing -= 1
                if not self._writing:
                    end_writing(self.root)

    def replace_folder(self, folder: str, build: Callable[[Path], bool]) -> bool:
        """Built in place beside ``folder`` and swapped in by two renames (a tool that
        writes thousands of files, Pagefind, writes them once, where they stay)."""
        target = self._path(PurePosixPath(folder))
        staging = target.with_name(f".{target.name}.new")
        old = target.with_name(f".{target.name}.old")
        for leftover in (staging, old):  # from a crash in an earlier swap
            shutil.rmtree(leftover, ignore_errors=True)
        staging.mkdir(parents=True)
        if not build(staging):
            shutil.rmtree(staging, ignore_errors=True)
            return False
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        self._listed.clear()
        self._unsynced = True
        if not self._batched:  # outside a batch every write is durable when it returns
            self.settle()
        return True

    def remove_folder(self, folder: str) -> None:
        shutil.rmtree(self._path(PurePosixPath(folder)), ignore_errors=True)
        self._listed.clear()

    def settle(self) -> None:
        if self._unsynced:
            os.sync()
            self._unsynced = False

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
        self._listed.get(str(name.parent), set()).discard(name.name)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, name: PurePosixPath) -> Path:
        self._check(name)
        return self.root / name

    @staticmethod
    def _check(name: PurePosixPath) -> None:
        if name.is_absolute() or ".." in name.parts:
            raise ValueError(f"output name outside the output directory: {name}")
