"""The one tensorstore ``Context`` every source shares.

tensorstore caches nothing unless told to; its ``cache_pool`` here is the
tensorstore share of the host budget (``core.budget``), so a decoded chunk
larger than a tile (a 64^3 brick, a 4096^2 chunk) is decoded once and then
cut into tiles and planes from memory.

Remote reads (http(s), s3, gs) fail fast and cannot starve each other: a
request is tried ``REQUEST_RETRIES["max_retries"]`` times about a second in
all (the loader tries a failed tile again later, with its own back-off),
curl gives up a request that receives nothing for ``STALL_SECONDS``, and
``REQUEST_CONCURRENCY`` slots leave room for requests a server never answers.
"""

from __future__ import annotations

import asyncio
import os
import threading

import tensorstore as ts

from napari_progressive.core.budget import default_host_budget, split_host_budget

#: Attempts per request and the back-off between them. tensorstore's default,
#: 32 attempts up to 32 s apart, kept a refused connection silent for minutes.
REQUEST_RETRIES = {"max_retries": 3, "initial_delay": "0.1s", "max_delay": "0.5s"}
#: Requests in flight per remote driver (tensorstore's default is 32). A
#: request the server never answers keeps its slot until curl gives it up,
#: long after the read waiting on it timed out: 32 such chunks stopped every
#: other read of the process. The shared pool's threads bound our own reads
#: in flight; the rest of this limit is room for hung requests.
REQUEST_CONCURRENCY = 256
#: Seconds a request may receive nothing before curl aborts it (tensorstore's
#: default is 120); each attempt counts, so a hung request holds its slot for
#: about 3 x 20 s. tensorstore reads it when its HTTP transport starts, so it
#: is set before the first request; the environment variable, if set, wins.
STALL_SECONDS = 20
STALL_VARIABLE = "TENSORSTORE_CURL_LOW_SPEED_TIME_SECONDS"
REMOTE_DRIVERS = ("http", "s3", "gcs")

_lock = threading.Lock()
_context: ts.Context | None = None
_loop: asyncio.AbstractEventLoop | None = None


def context_spec(cache_bytes: int) -> dict[str, object]:
    """The context's JSON spec for a chunk cache of ``cache_bytes``."""
    spec: dict[str, object] = {
        "cache_pool": {"total_bytes_limit": int(cache_bytes)},
        "data_copy_concurrency": {"limit": "shared"},
        "file_io_concurrency": {"limit": 32},
    }
    for driver in REMOTE_DRIVERS:
        spec[f"{driver}_request_retries"] = dict(REQUEST_RETRIES)
        spec[f"{driver}_request_concurrency"] = {"limit": REQUEST_CONCURRENCY}
    return spec


def shared_context() -> ts.Context:
    """The shared context (created on first use)."""
    global _context
    with _lock:
        if _context is None:
            os.environ.setdefault(STALL_VARIABLE, str(STALL_SECONDS))
            shares = split_host_budget(default_host_budget())
            _context = ts.Context(context_spec(shares.tensorstore))
        return _context


def shared_loop() -> asyncio.AbstractEventLoop:
    """An event loop on its own daemon thread, for async ``virtual_chunked`` reads.

    A read function that waits on another tensorstore read (a shard entry)
    must not block a tensorstore thread: it awaits on this loop instead.
    """
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(
                target=_loop.run_forever, name="tensorstore-reads", daemon=True
            ).start()
        return _loop
