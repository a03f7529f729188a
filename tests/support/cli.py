"""The command line run in this process: what `python -m aggregator ARGS` would print and
return, without starting an interpreter (each one costs a second of imports). Tests of the
process itself (signals, a terminal, a second process's lock, what a start imports) start
a real one instead."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def _environment(cwd: Path | None, env: dict[str, str] | None) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env or {})
    time.tzset()  # TZ, as a new process would read it
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        time.tzset()


@contextlib.contextmanager
def _own_logger() -> Iterator[None]:
    """main() sets up the "aggregator" and the root logger for a process: put them back
    afterwards."""
    log, root = logging.getLogger("aggregator"), logging.getLogger()
    saved = (log.handlers[:], log.level, log.propagate)
    saved_root = (root.handlers[:], root.level)
    try:
        yield
    finally:
        log.handlers[:], log.level, log.propagate = saved
        root.handlers[:], root.level = saved_root


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """``aggregator ARGS`` in this process: its exit code, stdout and stderr."""
    from aggregator.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(cwd, env), _own_logger(), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse: --help, --version, usage errors
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        except Exception:  # as the interpreter would: a traceback and exit status 1
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(["aggregator", *args], code, out.getvalue(),
                                       err.getvalue())
