"""The command channel with two users (issue 28): the service runs as its own user
(`nobody` here), an operator types `sudo aggregator poll` (root), a third user (`daemon`)
tries too. Root's request is carried out; the third user is told at once what to run; the
service never loops on an error and its WebSub upkeep goes on.

Needs root (to switch users) and a system Python of the venv's version that `nobody` can
run (the venv's own interpreter may live under /root)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, FeedServer, http_sources, write_config
from test_cli import cli
from test_run import free_port, get, wait_for

SYSTEM_PYTHON = Path("/usr/bin/python3")
SITE = next(iter(Path(sys.prefix, "lib").glob("python3.*/site-packages")), None)
NOBODY, DAEMON = 65534, 1


def _usable() -> str | None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "needs root and setpriv to run commands as other users"
    if not SYSTEM_PYTHON.exists() or SITE is None:
        return "needs a system python3"
    found = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if found != str(tuple(sys.version_info[:2])):
        return f"the system python3 is {found}, the venv's {sys.version_info[:2]}"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_usable() is not None,
                                                   reason=str(_usable()))]


def as_user(uid: int, *args: str, wait: bool = True, **kw: object) -> subprocess.Popen[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": f"{SITE}:{ROOT}",
           "LANG": "C.UTF-8"}
    command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
               "env", *(f"{k}={v}" for k, v in env.items()), str(SYSTEM_PYTHON), "-m",
               "aggregator", *args]
    return subprocess.Popen(command, text=True, **kw)  # type: ignore[call-overload]


def run_as(uid: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = as_user(uid, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder other users can reach (pytest's own tmp_path is root's alone)."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="aggregator-users-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def service(shared: Path, feed_server: FeedServer) -> Iterator[tuple[Path, str, Path]]:
    home = shared / "hub"
    home.mkdir()
    port = free_port()
    config = write_config(home, http_sources(feed_server)[:2],
                          serve={"host": "127.0.0.1", "port": port},
                          poll={"interval": "1h", "timeout": "5s",
                                "allow_hosts": ["127.0.0.1"]})
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(home)], check=True)
    log_path = home / "service.log"
    with open(log_path, "w") as log:
        proc = as_user(NOBODY, "run", "--config", str(config), stdout=subprocess.DEVNULL,
                       stderr=log)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: b"never polled" not in (get(base + "status.json") or b"never polled"))
        wait_for(lambda: (home / "data" / "store.json.requests").is_dir())
        yield config, base, log_path
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_sudo_poll_is_carried_out_and_the_service_user_still_can(
        service: tuple[Path, str, Path]) -> None:
    config, _, log = service
    spool = config.parent / "data" / "store.json.requests"
    start = time.monotonic()
    polled = cli("poll", "--config", str(config))  # this test runs as root: "sudo"
    assert polled.returncode == 0, polled.stderr
    assert "the running service answered" in polled.stdout and "sousse" in polled.stdout
    assert time.monotonic() - start < 30  # not the 300 s wait of the jammed channel
    assert spool.stat().st_uid == NOBODY  # the folder stays the service's
    again = run_as(NOBODY, "poll", "--config", str(config))
    assert again.returncode == 0 and "the running service answered" in again.stdout, again
    text = log.read_text()
    assert "Traceback" not in text and "PermissionError" not in text


def test_a_root_owned_spool_is_given_back_and_a_third_user_is_told_at_once(
        service: tuple[Path, str, Path]) -> None:
    config, _, log = service
    spool = config.parent / "data" / "store.json.requests"
    os.chown(spool, 0, 0)  # as an older version's `sudo aggregator poll` left it
    stuck = spool / "0-stuck.json"
    stuck.write_text('{"kind": "poll", "args": {}}')
    wait_for(lambda: "request 0-stuck.json set aside" in log.read_text())
    time.sleep(2.5)  # two more housekeeping rounds: the error is not repeated
    assert log.read_text().count("set aside") == 1
    assert "Traceback" not in log.read_text()
    start = time.monotonic()
    refused = run_as(DAEMON, "poll", "--config", str(config))
    assert time.monotonic() - start < 20
    assert refused.returncode != 0
    assert "which user daemon cannot write: run the command as nobody" in refused.stderr, refused
    assert "Traceback" not in refused.stderr
    polled = cli("poll", "--config", str(config))  # root gives the folder back and asks
    assert "the running service answered" in polled.stdout, polled.stderr
    assert spool.stat().st_uid == NOBODY


def test_an_unwritable_config_folder_is_said_plainly(shared: Path) -> None:
    home = shared / "hub"
    home.mkdir()
    config = write_config(home, [{"id": "a", "kind": "member", "url": "https://a.example/f"}])
    os.chmod(home, 0o755)
    os.chmod(config, 0o644)
    done = run_as(NOBODY, "sources", "disable", "a", "--config", str(config))
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "cannot write the config: Permission denied" in done.stderr
    assert "belongs to root; this command runs as nobody): run it as root" in done.stderr
