"""Operator commands while `run` runs: a request spool beside the store.

The running service holds the store's write lock, so `poll`, `sources enable`, `build` and
config edits cannot write the store themselves. Instead they drop a request (one JSON file,
written atomically) into ``<store>.requests/``; the service takes requests between cycles
(never during one: one writer), carries each out and leaves ``<id>.done`` with its answer,
which the command waits for and prints. Files, not a socket: nothing to bind or secure
beyond the store directory's own permissions, and a request made while the service is
restarting is still there when it comes back.

Users: the spool belongs to the service's user (it makes the folder when it starts). A
command run as root (`sudo aggregator poll`) hands its request over as that user (the
file and, if needed, the folder are given to it); any other user who cannot write the
folder is told so at once, with what to run instead. The service never loops on a request
it cannot take: it sets it aside and says so once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.errors import AggregatorError
from aggregator.files import atomic_write, owner_of, pid_alive, user_name

log = logging.getLogger("aggregator.service")

WAIT = 0.05  # seconds between looks for an answer
_said: set[str] = set()  # troubles with the spool already logged (once each)


class ChannelError(AggregatorError):
    """A request cannot be handed to the running service (who owns what, what to run)."""


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
    spool(store_path).mkdir(exist_ok=True)  # the service's own: others write into it
    return marker


def service_trouble(store_path: Path) -> str | None:
    """What the running service said keeps it from storing (announce), if it runs."""
    marker = store_path.with_name(store_path.name + ".service")
    try:
        pid, _, trouble = marker.read_text().partition("\n")
        alive = pid_alive(int(pid))
    except (OSError, ValueError):
        return None
    return (trouble.strip() or None) if alive else None


def service_running(store_path: Path) -> bool:
    """Whether a `run` service that takes requests holds the store (another poll holding
    the lock is not one: the caller then meets the lock and says so at once)."""
    marker = store_path.with_name(store_path.name + ".service")
    try:
        pid = int(marker.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return pid_alive(pid) and _locked(store_path)  # another user's service is one too


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
    """Drop a request for the service; ChannelError, at once, when this user cannot."""
    request_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    folder, data = spool(store_path), json.dumps({"kind": kind, "args": args}).encode()
    owner = _service_owner(store_path)
    if os.geteuid() == 0 and owner not in (None, 0):  # sudo: hand it over as the service
        assert owner is not None
        gid = _group_of(owner)
        folder.mkdir(exist_ok=True)
        if folder.stat().st_uid != owner:
            os.chown(folder, owner, gid)  # a folder an earlier root command made
        path = folder / f"{request_id}.json"
        atomic_write(path, data)
        os.chown(path, owner, gid)
        return request_id
    if not os.access(folder if folder.is_dir() else folder.parent, os.W_OK | os.X_OK):
        raise ChannelError(_cannot_write(folder, owner))
    atomic_write(folder / f"{request_id}.json", data)
    return request_id


def _service_owner(store_path: Path) -> int | None:
    try:
        return store_path.with_name(store_path.name + ".service").stat().st_uid
    except OSError:
        return None


def _group_of(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid


def _cannot_write(folder: Path, owner: int | None) -> str:
    me, service, holder = user_name(os.geteuid()), user_name(owner), owner_of(folder)
    return (f"the running service (user {service}) takes requests in {folder}, which "
            f"belongs to {holder} and which user {me} cannot write: run the command as "
            f"{service} (sudo -u {service} aggregator ...) or as root")


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
    """Pending requests, oldest first; each is removed from the spool as it is taken. A
    request that cannot be read or removed is left where it is and logged once."""
    folder = spool(store_path)
    try:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    except OSError as e:
        _say_once(f"cannot read the request folder {folder}: {e.strerror or e} "
                  f"(it belongs to {owner_of(folder)}; the service runs as "
                  f"{user_name(os.geteuid())})")
        return []
    out = []
    for path in paths:
        try:
            doc = json.loads(path.read_text())
            request = Request(path.stem, str(doc["kind"]), dict(doc.get("args") or {}))
        except (ValueError, KeyError, TypeError):
            request = None  # a broken request file is dropped, not retried forever
        except OSError as e:
            _say_once(f"request {path.name} set aside: cannot read it: {e.strerror or e} "
                      f"(it belongs to {owner_of(path)})")
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            _say_once(f"request {path.name} set aside: cannot remove it from {folder}: "
                      f"{e.strerror or e} (the folder belongs to {owner_of(folder)}; the "
                      f"service runs as {user_name(os.geteuid())}: chown the folder)")
            continue
        if request is not None:
            out.append(request)
    return out


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.error("%s", message)


def answer(store_path: Path, request_id: str, **reply: Any) -> None:
    try:
        atomic_write(spool(store_path) / f"{request_id}.done", json.dumps(reply).encode())
    except OSError as e:
        _say_once(f"cannot answer request {request_id}: {e.strerror or e}")
