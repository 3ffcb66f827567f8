"""Process-wide defaults shared by every progressive layer."""

from __future__ import annotations

import os
import threading

from napari_progressive.core.cache import HostCache

_lock = threading.Lock()
_host_cache: HostCache | None = None


def default_host_budget() -> int:
    """A quarter of physical memory, at most 8 GiB (2 GiB when unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 2**30
    return int(min(total / 4, 8 * 2**30))


def shared_host_cache() -> HostCache:
    """The host cache all layers share (created on first use)."""
    global _host_cache
    with _lock:
        if _host_cache is None:
            _host_cache = HostCache(default_host_budget())
        return _host_cache
