"""Process-wide defaults shared by every progressive layer."""

from __future__ import annotations

import threading

from napari_progressive.core.budget import default_host_budget, split_host_budget
from napari_progressive.core.cache import HostCache

_lock = threading.Lock()
_host_cache: HostCache | None = None


def shared_host_cache() -> HostCache:
    """The tile cache all layers share (created on first use).

    It gets the host budget less the tensorstore chunk cache's share
    (``napari_progressive.sources.ts_context``), so both stay inside one budget.
    """
    global _host_cache
    with _lock:
        if _host_cache is None:
            _host_cache = HostCache(split_host_budget(default_host_budget())[0])
        return _host_cache
