"""Executors that run chunk jobs off the main thread.

The scheduler needs only ``submit(fn) -> Future``; a ``dask.distributed``
``Client`` has the same shape and plugs in later. A per-chunk dask graph is
deliberately not used on the hot path: building and scheduling one costs about
ten times the read and decode of a chunk.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable


class Executor(Protocol):
    """What the scheduler needs from an executor."""

    def submit(self, fn: Callable[[], Any], /) -> Future[Any]:
        """Run ``fn`` somewhere other than the calling thread."""
        ...


def default_workers() -> int:
    """Worker threads of the shared pool: one per core, at least two."""
    return max(2, os.cpu_count() or 2)


_shared: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def shared_thread_pool() -> ThreadPoolExecutor:
    """The process-wide thread pool that all layers share by default."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ThreadPoolExecutor(
                max_workers=default_workers(), thread_name_prefix="napari-progressive"
            )
        return _shared
