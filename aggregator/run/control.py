"""Operator commands while `run` runs: a request spool beside the store.

The running service holds the store's write lock, so `poll`, `sources enable`, `build` and
config edits cannot write the store themselves. Instead they drop a request (one JSON file,
written atomically) into ``<store>.requests/``; the service takes requests between cycles
(never during one: one writer), carries each out and leaves ``<id>.done`` with its answer,
which the command waits for and prints. Files, not a socket: nothing to bind or secure
beyond the store directory's own permissions, and a request made while the service is
restarting is still there when it comes back.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.files import atomic_write

WAIT = 0.05  # seconds between looks for an answer


@dataclass(frozen=True)
class Request:
    id: str
    kind: str  # poll | enable | build | reload
    args: dict[str, Any]


def spool(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".requests")


def announce(store_path: Path, trouble: str | None = None) -> Path:
    """`run` says it takes requests (its pid in ``<store>.service``, and on the next line
    what keeps it from storing, if anything); remove when it stops."""
    marker = store_path.with_name(store_path.name + ".service")
    atomic_write(marker, f"{os.getpid()}\n{trouble or ''}".strip().encode())
    return marker


def service_trouble(store_path: Path) -> str | None:
    """What the running service said keeps it from storing (announce), if it runs."""
    marker = store_path.with_name(store_path.name + ".service")
    try:
        pid, _, trouble = marker.read_text().partition("\n")
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return None
    return trouble.strip() or None


def service_running(store_path: Path) -> bool:
    """Whether a `run` service that takes requests holds the store (another poll holding
    the lock is not one: the caller then meets the lock and says so at once)."""
    marker = store_path.with_name(store_path.name + ".service")
    try:
        pid = int(marker.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return _locked(store_path)


def _locked(store_path: Path) -> bool:
    lock = store_path.with_name(store_path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock if it was taken here
    return False


def submit(store_path: Path, kind: str, **args: Any) -> str:
    request_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    atomic_write(spool(store_path) / f"{request_id}.json",
                 json.dumps({"kind": kind, "args": args}).encode())
    return request_id


def wait(store_path: Path, request_id: str, timeout: float) -> dict[str, Any] | None:
    """The service's answer, or None when none came within ``timeout`` seconds (the
    request stays queued: the service carries it out when it next looks)."""
    done = spool(store_path) / f"{request_id}.done"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            answer: dict[str, Any] = json.loads(done.read_text())
        except FileNotFoundError:
            time.sleep(WAIT)
            continue
        done.unlink(missing_ok=True)
        return answer
    return None


def take(store_path: Path) -> list[Request]:
    """Pending requests, oldest first; each is removed from the spool as it is taken."""
    folder = spool(store_path)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            out.append(Request(path.stem, str(doc["kind"]), dict(doc.get("args") or {})))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a broken request file is dropped, not retried forever
        path.unlink(missing_ok=True)
    return out


def answer(store_path: Path, request_id: str, **reply: Any) -> None:
    atomic_write(spool(store_path) / f"{request_id}.done", json.dumps(reply).encode())
