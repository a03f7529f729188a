"""The service's HTTP side: the output directory, /healthz, /metrics, /readyz and the
WebSub callbacks, served by one I/O loop and a few workers (channels.py, handler.py).

For production, put nginx in front of feeds/ (see README); this server is what `aggregator
serve` and `run` use, and it is safe to expose: it never reads outside the output dir, and
slow clients cannot starve it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from aggregator.errors import AggregatorError
from aggregator.server.channels import MAX_THREADS, Admit, LoopServer
from aggregator.server.handler import MAX_CALLBACK_BODY, Callback, Endpoint, OutputHandler

__all__ = [
    "CLIENT_TIMEOUT",
    "MAX_THREADS",
    "LoopServer",
    "OutputHandler",
    "healthz",
    "make_server",
    "serve_in_background",
]

CLIENT_TIMEOUT = 10.0  # seconds a request may take to arrive whole, or a connection idle


def make_server(root: Path, host: str, port: int, client_timeout: float = CLIENT_TIMEOUT,
                endpoints: dict[str, Endpoint] | None = None,
                callbacks: dict[str, Callback] | None = None,
                admits: Mapping[str, Admit] | None = None,
                max_body: int = MAX_CALLBACK_BODY) -> LoopServer:
    """``callbacks`` answer whole requests under a path prefix; ``admits`` (same prefixes)
    look at a request's head first and may refuse its body before it is read."""
    handler = type("BoundOutputHandler", (OutputHandler,),
                   {"root": root, "max_body": max_body,
                    "endpoints": {"/healthz": healthz, **(endpoints or {})},
                    "callbacks": callbacks or {}})
    admitting = {prefix: (admits or {}).get(prefix, _admit_all) for prefix in callbacks or {}}
    try:
        return LoopServer((host, port), handler, client_timeout, admitting)
    except OSError as e:  # a taken port, a host that is not ours: one line, not a traceback
        raise AggregatorError(f"cannot listen on {host}:{port}: {e.strerror or e} "
                              "(set serve.host / serve.port in the config)") from e


def _admit_all(method: str, path: str, headers: Mapping[str, str]) -> None:
    return None


def healthz() -> tuple[int, str, bytes]:
    """The process is up and answering (liveness)."""
    return 200, "text/plain; charset=utf-8", b"ok\n"


def serve_in_background(root: Path, host: str, port: int,
                        endpoints: dict[str, Endpoint] | None = None,
                        callbacks: dict[str, Callback] | None = None,
                        admits: Mapping[str, Admit] | None = None,
                        max_body: int = MAX_CALLBACK_BODY) -> LoopServer:
    server = make_server(root, host, port, endpoints=endpoints, callbacks=callbacks,
                         admits=admits, max_body=max_body)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
