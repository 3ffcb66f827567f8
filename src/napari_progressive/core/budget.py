"""Host and GPU memory budgets shared by every progressive layer."""

from __future__ import annotations

import os

#: Share of the host budget given to the tensorstore chunk cache (decoded
#: chunks larger than a tile, reused by neighbouring tiles and planes).
TENSORSTORE_SHARE = 1 / 8


def default_host_budget() -> int:
    """A quarter of physical memory, at most 8 GiB (2 GiB when unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 2**30
    return int(min(total / 4, 8 * 2**30))


def split_host_budget(total: int) -> tuple[int, int]:
    """``(tile_cache_bytes, tensorstore_cache_bytes)`` that add up to ``total``."""
    store = int(total * TENSORSTORE_SHARE)
    return total - store, store


#: Texture memory all progressive layers share unless configured otherwise.
DEFAULT_GPU_BUDGET = 512 * 2**20
#: Environment variable that sets the GPU budget in MiB.
GPU_BUDGET_ENV = "NAPARI_PROGRESSIVE_GPU_BUDGET_MB"


def default_gpu_budget() -> int:
    """``$NAPARI_PROGRESSIVE_GPU_BUDGET_MB`` MiB, else ``DEFAULT_GPU_BUDGET``."""
    mb = os.environ.get(GPU_BUDGET_ENV)
    return int(float(mb) * 2**20) if mb else DEFAULT_GPU_BUDGET
