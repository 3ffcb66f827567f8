"""A local HTTP server that serves a folder and misbehaves on request, for network tests.

``FlakyServer(root)`` serves ``root`` on 127.0.0.1 from a thread per request.
Faults apply to request paths (the query left out) matching ``fnmatch``
patterns, and can change while the server runs:

- ``hang(*patterns)``: hold the request without answering until ``release()``
  (or ``close()``), then answer normally;
- ``status(code, *patterns)``: answer with an empty ``code`` response;
- ``redirect(prefix, *patterns)``: answer 302 to ``prefix + path``;
- ``huge(*patterns)``: answer 200 with ``huge_bytes`` of zeros;
- ``down = True``: an outage, every request is read and its connection
  closed without an answer, until ``down = False``.

Every request is recorded in ``requests`` (method, path with its query, and
the ``Authorization`` header) so tests can check what reached the server.
"""

from __future__ import annotations

import fnmatch
import functools
import http.server
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: Seconds a hung request waits at most (a guard: tests release them sooner).
HANG_GUARD_S = 120.0


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    target: str  # path and query, as sent
    authorization: str | None

    @property
    def path(self) -> str:
        """The path without the query."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        """The query string (empty when there is none)."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""


class FlakyServer:
    """Serve ``root`` on 127.0.0.1 with switchable faults (a context manager)."""

    def __init__(self, root: Path, huge_bytes: int = 64 * 2**20) -> None:
        self.huge_bytes = huge_bytes
        self.down = False
        self.requests: list[Request] = []
        self._hang: list[str] = []
        self._status: dict[str, int] = {}
        self._redirect: dict[str, str] = {}
        self._huge: list[str] = []
        self._released = threading.Event()
        handler = functools.partial(_Handler, self, directory=str(root))
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._server.server_port

    def hang(self, *patterns: str) -> None:
        """Hold requests for ``patterns`` unanswered until ``release()``."""
        self._released.clear()
        self._hang.extend(patterns)

    def release(self) -> None:
        """Answer every held request and stop holding new ones."""
        self._hang.clear()
        self._released.set()

    def status(self, code: int, *patterns: str) -> None:
        """Answer requests for ``patterns`` with HTTP ``code``."""
        self._status.update(dict.fromkeys(patterns, code))

    def redirect(self, prefix: str, *patterns: str) -> None:
        """Answer requests for ``patterns`` with a 302 to ``prefix + path``."""
        self._redirect.update(dict.fromkeys(patterns, prefix))

    def huge(self, *patterns: str) -> None:
        """Answer requests for ``patterns`` with ``huge_bytes`` of zeros."""
        self._huge.extend(patterns)

    def clear(self) -> None:
        """No faults any more (held requests are answered)."""
        self.release()
        self._status.clear()
        self._redirect.clear()
        self._huge.clear()
        self.down = False

    def requested(self, pattern: str) -> list[Request]:
        """The requests whose path matches ``pattern``."""
        return [r for r in list(self.requests) if fnmatch.fnmatch(r.path, pattern)]

    def close(self) -> None:
        """Release held requests and stop serving."""
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FlakyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fault(self, path: str) -> tuple[str, object] | None:
        """The fault that applies to ``path``, if any (the handler asks)."""
        if self.down:
            return ("down", None)
        for kind, table in (
            ("hang", dict.fromkeys(self._hang)),
            ("status", self._status),
            ("redirect", self._redirect),
            ("huge", dict.fromkeys(self._huge)),
        ):
            for pattern, arg in list(table.items()):
                if fnmatch.fnmatch(path, pattern):
                    return (kind, arg)
        return None

    def wait_released(self) -> None:
        """Block a held request until ``release()``."""
        self._released.wait(HANG_GUARD_S)


class _QuietServer(http.server.ThreadingHTTPServer):
    """Clients that gave up on a held request are expected: no traceback for them."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, owner: FlakyServer, *args: object, **kwargs: object) -> None:
        self.owner = owner
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(super().do_HEAD)

    def do_GET(self) -> None:
        self._answer(super().do_GET)

    def _answer(self, serve: Callable[[], object]) -> None:
        owner = self.owner
        owner.requests.append(Request(self.command, self.path, self.headers.get("Authorization")))
        path = self.path.split("?", 1)[0]
        fault = owner.fault(path)
        kind, arg = fault if fault is not None else ("", None)
        if kind == "down":
            self.close_connection = True  # no status line: curl sees an empty reply
            return
        if kind == "hang":
            owner.wait_released()
        elif kind == "status":
            self._empty(int(arg))  # type: ignore[call-overload]
            return
        elif kind == "redirect":
            self.send_response(302)
            self.send_header("Location", f"{arg}{path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif kind == "huge":
            self._zeros(owner.huge_bytes)
            return
        serve()

    def _empty(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _zeros(self, nbytes: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(nbytes))
        self.end_headers()
        block = bytes(2**20)
        try:
            for start in range(0, nbytes, len(block)):
                self.wfile.write(block[: min(len(block), nbytes - start)])
        except ConnectionError:  # the client gave up
            pass
