"""Host and GPU memory budgets shared by every progressive layer."""

from __future__ import annotations

import os
from typing import NamedTuple

#: Share of the host budget given to the tensorstore chunk cache (decoded
#: chunks larger than a tile, reused by neighbouring tiles and planes).
TENSORSTORE_SHARE = 1 / 8
#: Share given to the chunks of computed pyramid levels (a single array's
#: coarse levels, each computed from the next finer one).
COMPUTED_SHARE = 1 / 16


class HostShares(NamedTuple):
    """The host budget split between the caches that hold decoded data."""

    tiles: int
    tensorstore: int
    computed: int


def default_host_budget() -> int:
    """A quarter of physical memory, at most 8 GiB (2 GiB when unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 2**30
    return int(min(total / 4, 8 * 2**30))


def split_host_budget(total: int) -> HostShares:
    """The tile cache's, tensorstore's and computed levels' bytes, adding up to ``total``."""
    store, computed = int(total * TENSORSTORE_SHARE), int(total * COMPUTED_SHARE)
    return HostShares(total - store - computed, store, computed)


#: Texture memory all progressive layers share unless configured otherwise.
DEFAULT_GPU_BUDGET = 512 * 2**20
#: Environment variable that sets the GPU budget in MiB.
GPU_BUDGET_ENV = "NAPARI_PROGRESSIVE_GPU_BUDGET_MB"


def default_gpu_budget() -> int:
    """``$NAPARI_PROGRESSIVE_GPU_BUDGET_MB`` MiB, else ``DEFAULT_GPU_BUDGET``."""
    mb = os.environ.get(GPU_BUDGET_ENV)
    return int(float(mb) * 2**20) if mb else DEFAULT_GPU_BUDGET
