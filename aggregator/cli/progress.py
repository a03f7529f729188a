"""A one-line progress display on a terminal; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import TextIO


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False

    def __call__(self, done: int, total: int, new: int, failures: int) -> None:
        if not self.enabled:
            return
        self.stream.write(f"\r\x1b[K[{done}/{total}] sources polled, {new} new entries, "
                          f"{failures} failed")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
