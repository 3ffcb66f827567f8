"""The states of a layer's pieces, its stats and what a loader draws into.

Plain records shared by the loader (``core.loader``), the visual that
implements ``DrawTarget`` (``render``) and the napari layer and widget that
read ``LoaderStats`` and ``BrickStats``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection, Hashable, Mapping, Sequence

    import numpy as np

    from napari_progressive.core.bricks import PieceKey
    from napari_progressive.core.formats import TextureFormat
    from napari_progressive.core.planner import Plan, PlannedTile
    from napari_progressive.core.volume_planner import PlannedBrick, VolumePlan


class DrawTarget(Protocol):
    """What a loader draws into: the 2D tile visual, or the 3D brick volume."""

    @property
    def residency(self) -> Collection[Hashable]:
        """Keys of the tiles on the GPU now."""
        ...

    def set_plan(self, plan: Plan | VolumePlan, failed: Collection[PieceKey]) -> None:
        """What the view needs (a ``Plan`` or a ``VolumePlan``), and which pieces failed."""
        ...

    def clear_plan(self) -> None:
        """Draw nothing."""
        ...

    def stage(self, key: PieceKey, texture: np.ndarray, values: tuple[float, float] | None) -> None:
        """Upload ``texture`` for the tile or brick ``key`` at a coming draw.

        ``values``: a brick's value range (``PieceResult.values``), None for tiles.
        """
        ...

    def forget_tiles(self, fmt: TextureFormat) -> None:
        """Drop every tile (texture values changed); hold ``fmt`` now."""
        ...

    @property
    def pending_uploads(self) -> int:
        """Staged tiles not yet uploaded."""
        ...

    @property
    def needs_redraw(self) -> bool:
        """Whether what it drew lags behind the plan or the uploads."""
        ...

    def drawn(self) -> Sequence[PlannedTile | PlannedBrick]:
        """Tiles or bricks drawn by the latest frame (``PlannedTile`` / ``PlannedBrick``)."""
        ...

    def gpu_stats(self) -> Mapping[str, int]:
        """GPU bytes, slots, evictions and the shared budget."""
        ...


class PieceState(enum.Enum):
    """Where a planned tile is."""

    WAITING = "waiting for a chunk another tile reads"
    QUEUED = "queued"
    LOADING = "loading"
    HOST = "in host memory"
    STAGED = "staged for upload"
    GPU = "on the GPU"
    FAILED = "failed"


@dataclass(frozen=True)
class LoaderStats:
    """What a layer needs, has and draws (``napari_progressive.stats``)."""

    needed: int
    prefetch: int
    available: int
    queued: int
    in_flight: int
    failed: int
    host_bytes: int
    host_share_bytes: int
    host_budget_bytes: int
    host_pinned_bytes: int
    cache_hits: int
    cache_misses: int
    cache_evictions: int
    gpu_bytes: int
    gpu_slots: int
    gpu_evictions: int
    gpu_budget_bytes: int
    gpu_used_bytes: int
    levels: tuple[int, ...]
    target_level: int | None
    n_levels: int
    tiles_fetched: int
    tiles_wasted: int
    submitted: int
    cancelled: int
    deduplicated: int
    disk: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LevelBricks:
    """One level's bricks in a 3D plan: planned, on the GPU, being read and failed."""

    level: int
    planned: int
    resident: int
    in_flight: int
    failed: int


@dataclass(frozen=True)
class BrickStats:
    """A 3D brick plan per level (finest first) and the brick atlas's use.

    ``resident`` counts every brick in the atlas (planned or not), ``slots``
    the slots of the pages it holds and ``capacity`` the bricks it may hold
    at most (what the plan was made for).
    """

    levels: tuple[LevelBricks, ...]
    resident: int
    slots: int
    capacity: int
    gpu_bytes: int


@dataclass(frozen=True)
class Drained:
    """What one ``drain`` brought: the levels of the tiles and bricks that landed."""

    levels: frozenset[int] = frozenset()
