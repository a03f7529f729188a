"""Atomic, write-if-changed files: readers see the old bytes or the new, never half."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: Path, data: bytes, sync: bool = True) -> None:
    """Temp file in the same directory + fsync + os.replace + fsync of the directory.
    ``sync=False`` leaves the fsyncs to the caller (one os.sync() after many files)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with _create(tmp) as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if not sync:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _create(tmp: Path) -> BinaryIO:
    try:
        return open(tmp, "wb")  # the caller closes it
    except FileNotFoundError:  # its folder is new: asked only then (a site has 10,000s)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        return open(tmp, "wb")


def write_if_changed(path: Path, data: bytes, sync: bool = True) -> bool:
    """Write only when the bytes differ, so mtimes, ETags and caches stay valid."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data, sync)
    return True
