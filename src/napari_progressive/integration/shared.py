"""Process-wide defaults shared by every progressive layer.

Each is created on first use; ``reset`` drops them all (tests start from it).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
import weakref

from napari_progressive.core.budget import (
    default_gpu_budget,
    default_host_budget,
    split_host_budget,
)
from napari_progressive.core.cache import HostCache
from napari_progressive.core.disk_cache import DEFAULT_DISK_BUDGET, DiskCache
from napari_progressive.core.errors import DiskCacheWarning
from napari_progressive.core.executor import Executor, compute_slots, executor_slots
from napari_progressive.core.residency import GpuBudget
from napari_progressive.core.scheduler import Scheduler
from napari_progressive.core.source import MultiscaleSource, is_compute_bound

_lock = threading.Lock()
_host_cache: HostCache | None = None
_gpu_budget: GpuBudget | None = None
_schedulers: weakref.WeakKeyDictionary[Executor, Scheduler] = weakref.WeakKeyDictionary()


def shared_host_cache() -> HostCache:
    """The tile cache all layers share (created on first use).

    It gets the host budget less the tensorstore chunk cache's share
    (``napari_progressive.sources.ts_context``) and the computed levels'
    (``napari_progressive.sources.lazy_pyramid``), so all stay inside one budget.
    """
    global _host_cache
    with _lock:
        if _host_cache is None:
            _host_cache = HostCache(split_host_budget(default_host_budget()).tiles)
        return _host_cache


def shared_scheduler(executor: Executor) -> Scheduler:
    """The one queue in front of ``executor``: every layer using it submits here.

    At most two jobs per executor thread are in flight, so the queue (not
    the executor) decides what runs next.
    """
    with _lock:
        scheduler = _schedulers.get(executor)
        if scheduler is None:
            scheduler = _schedulers[executor] = Scheduler(executor, 2 * executor_slots(executor))
        return scheduler


def default_in_flight(source: MultiscaleSource, executor: Executor) -> int:
    """A layer's bound on work in flight: the queue's, or one job per core for computed data."""
    bound = shared_scheduler(executor).max_in_flight
    return min(bound, compute_slots(executor)) if is_compute_bound(source) else bound


def shared_gpu_budget() -> GpuBudget:
    """The texture budget all layers of all viewers share (created on first use)."""
    global _gpu_budget
    with _lock:
        if _gpu_budget is None:
            _gpu_budget = GpuBudget(default_gpu_budget())
        return _gpu_budget


def set_gpu_budget(budget_bytes: int) -> None:
    """Texture bytes all progressive layers together may hold.

    Lowering it gives back at once the pages no view needs; pages a view
    shows go as the views move on.
    """
    shared_gpu_budget().budget_bytes = budget_bytes


#: Environment variables that switch the persistent disk tier on for every session.
DISK_CACHE_ENV = "NAPARI_PROGRESSIVE_DISK_CACHE"
DISK_CACHE_GB_ENV = "NAPARI_PROGRESSIVE_DISK_CACHE_GB"
_disk_cache: DiskCache | None = None
_disk_configured = False


def set_disk_cache(
    directory: str | os.PathLike[str] | None, budget_bytes: int = DEFAULT_DISK_BUDGET
) -> DiskCache | None:
    """Keep chunks under ``directory`` across sessions (None: no disk tier).

    Applies to layers created from now on; sources without a stable identity
    (in-memory arrays) never use it. Returns the cache, or None when the
    folder cannot be created (a ``DiskCacheWarning`` says why).
    """
    cache = DiskCache(directory, budget_bytes) if directory is not None else None
    return install_disk_cache(cache if cache is not None and cache.readable else None)


def install_disk_cache(cache: DiskCache | None) -> DiskCache | None:
    """Make ``cache`` the persistent tier of layers created from now on."""
    global _disk_cache, _disk_configured
    with _lock:
        _disk_cache = cache
        _disk_configured = True
        return cache


def shared_disk_cache() -> DiskCache | None:
    """The persistent tier (``set_disk_cache``, else ``$NAPARI_PROGRESSIVE_DISK_CACHE``).

    A folder or a size in the environment that cannot be used gives a
    ``DiskCacheWarning`` (no tier, or the default size), never an error.
    """
    if not _disk_configured:
        set_disk_cache(os.environ.get(DISK_CACHE_ENV) or None, _budget_from_environment())
    return _disk_cache


def reset() -> None:
    """Drop every process-wide default: the next use creates it anew.

    The host cache, the GPU budget, the queue in front of each executor and
    the disk tier (read from the environment again on next use). Layers that
    exist keep the ones they were created with.
    """
    global _host_cache, _gpu_budget, _disk_cache, _disk_configured
    with _lock:
        _host_cache = _gpu_budget = _disk_cache = None
        _disk_configured = False
        _schedulers.clear()


def _budget_from_environment() -> int:
    gb = os.environ.get(DISK_CACHE_GB_ENV)
    if not gb:
        return DEFAULT_DISK_BUDGET
    with contextlib.suppress(ValueError, OverflowError):
        if (budget := int(float(gb) * 2**30)) > 0:
            return budget
    warnings.warn(
        f"{DISK_CACHE_GB_ENV}={gb!r} is not a positive number of GiB: "
        f"the disk tier keeps {DEFAULT_DISK_BUDGET / 2**30:g} GiB",
        DiskCacheWarning,
        stacklevel=3,
    )
    return DEFAULT_DISK_BUDGET
