"""The one tensorstore ``Context`` every source shares.

tensorstore caches nothing unless told to; its ``cache_pool`` here is the
tensorstore share of the host budget (``core.budget``), so a decoded chunk
larger than a tile (a 64^3 brick, a 4096^2 chunk) is decoded once and then
cut into tiles and planes from memory.
"""

from __future__ import annotations

import asyncio
import threading

import tensorstore as ts

from napari_progressive.core.budget import default_host_budget, split_host_budget

_lock = threading.Lock()
_context: ts.Context | None = None
_loop: asyncio.AbstractEventLoop | None = None


def context_spec(cache_bytes: int) -> dict[str, object]:
    """The context's JSON spec for a chunk cache of ``cache_bytes``."""
    return {
        "cache_pool": {"total_bytes_limit": int(cache_bytes)},
        "data_copy_concurrency": {"limit": "shared"},
        "file_io_concurrency": {"limit": 32},
    }


def shared_context() -> ts.Context:
    """The shared context (created on first use)."""
    global _context
    with _lock:
        if _context is None:
            _context = ts.Context(context_spec(split_host_budget(default_host_budget())[1]))
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
