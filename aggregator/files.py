"""Atomic, write-if-changed files: readers see the old bytes or the new, never half."""

from __future__ import annotations

import contextlib
import os
import re
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
    if sync:
        _fsync_dir(path.parent)


_TEMP = re.compile(r"\..+\.(\d+)\.tmp")  # atomic_write's .<name>.<pid>.tmp


WRITERS = ".writers"  # in an output root: one empty file per process writing, its pid


def begin_writing(root: Path) -> None:
    """Mark ``root`` as written by this process until end_writing: a start-up looks for
    temp files only when a marked writer died (walking a site of 40,000 folders at every
    start was a fifth of a quiet poll). The mark is durable before any temp file is."""
    folder = root / WRITERS
    try:
        folder.mkdir(parents=True)
        _fsync_dir(root)
    except FileExistsError:
        pass
    with open(folder / str(os.getpid()), "wb") as f:
        os.fsync(f.fileno())
    _fsync_dir(folder)


def end_writing(root: Path) -> None:
    """This process's writes under ``root`` are durable: its mark goes (not fsynced: a
    mark a crash brings back costs one walk)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(root / WRITERS / str(os.getpid()))


def remove_orphan_temporaries(root: Path, shallow: tuple[str, ...] = ()) -> int | None:
    """Temp files atomic_write left under ``root`` when its process was killed mid-write
    (the pid in the name is no live process here); how many were removed, None when no
    writer died (so the outputs are whole: not walked, nothing removed). Walked only when
    a writer's mark (begin_writing) names a dead process, or when ``root`` has no marks
    folder yet (outputs of an older version). The folders of ``shallow`` (relative to
    ``root``) are looked into, not below: what is below them is written otherwise (the
    search index's 70,000 files at 2,000 sources)."""
    folder = root / WRITERS
    try:
        marks = [int(name) for name in os.listdir(folder) if name.isdigit()]
    except FileNotFoundError:
        if not root.is_dir():
            return None
        removed = _walk_for_temporaries(root, shallow)
        folder.mkdir(exist_ok=True)
        return removed
    dead = [pid for pid in marks if not pid_alive(pid)]
    if not dead:
        return None
    removed = _walk_for_temporaries(root, shallow)
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / str(pid))
    return removed


def _walk_for_temporaries(root: Path, shallow: tuple[str, ...]) -> int:
    """Temp files of dead writers, and pages they left empty (renamed into place but not
    synced when the machine stopped: a sealed archive page would stay empty for good, as
    nothing renders it again while it is there); both removed, how many."""
    removed = 0
    stop = {os.path.join(root, name) for name in shallow}
    for folder, below, names in os.walk(root):
        if folder in stop:
            below.clear()
        for name in names:
            path = os.path.join(folder, name)
            found = _TEMP.fullmatch(name)
            with contextlib.suppress(OSError):
                if (found and not pid_alive(int(found[1]))) or (
                        name.endswith(_PAGES) and os.stat(path).st_size == 0):
                    os.unlink(path)
                    removed += 1
    return removed


_PAGES = (".html", ".atom", ".rss", ".json", ".opml")  # outputs that are never empty


def _fsync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def user_name(uid: int | None) -> str:
    """The login name of ``uid`` ("?" when unknown, the number when it has none)."""
    if uid is None:
        return "?"
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def owner_of(path: Path) -> str:
    """Who owns ``path`` (or, when it does not exist, its folder)."""
    for where in (path, path.parent):
        with contextlib.suppress(OSError):
            return user_name(where.stat().st_uid)
    return "?"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:
        return False
    return True


def _create(tmp: Path) -> BinaryIO:
    try:
        return open(tmp, "wb")  # the caller closes it
    except FileNotFoundError:  # its folder is new: asked only then (a site has 10,000s)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        return open(tmp, "wb")


def write_if_changed(path: Path, data: bytes, sync: bool = True) -> bool:
    """Write only when the bytes differ, so mtimes, ETags and caches stay valid."""
    if _holds(path, data):
        return False
    atomic_write(path, data, sync)
    return True


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at ``path`` holds ``data``: told by its size without reading it when
    that differs, else read whole (a build compares 40,000 pages this way)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        if os.fstat(fd).st_size != len(data):
            return False
        want = len(data) + 1  # one byte more: a file that grew meanwhile
        found = os.read(fd, want)
        while len(found) < want and (more := os.read(fd, want - len(found))):
            found += more  # a short read (seldom, for a regular file)
        return found == data
    finally:
        os.close(fd)
