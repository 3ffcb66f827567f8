"""Which resident tiles to draw: coarse under fine, none that is fully hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Collection

    from napari_progressive.core.planner import Plan, PlannedTile, TileKey


def draw_list(plan: Plan, resident: Collection[TileKey]) -> list[PlannedTile]:
    """Resident tiles of ``plan`` in drawing order (coarse first).

    A tile is dropped when the finer resident tiles drawn over it cover its
    visible part entirely: on a software rasteriser every hidden layer of
    full-screen quads costs a full frame of fill.
    """
    view_lo = np.asarray(plan.view.lo)
    view_hi = np.asarray(plan.view.hi)
    by_level: dict[int, list[PlannedTile]] = {}
    for t in plan.tiles:
        if t.key in resident:
            by_level.setdefault(t.key.level, []).append(t)
    kept: list[PlannedTile] = []
    cover = np.empty((0, 4))
    for level in sorted(by_level):  # fine to coarse
        tiles = by_level[level]
        for t in tiles:
            lo = np.maximum(np.asarray(t.lo), view_lo)
            hi = np.minimum(np.asarray(t.hi), view_hi)
            if np.all(hi > lo) and not _covered(lo, hi, cover):
                kept.append(t)
        rects = np.array([[*t.lo, *t.hi] for t in tiles])
        cover = np.concatenate([cover, rects])
    kept.sort(key=lambda t: -t.key.level)
    return kept


def _covered(lo: np.ndarray, hi: np.ndarray, rects: np.ndarray) -> bool:
    """Whether the union of ``rects`` (rows of lo0, lo1, hi0, hi1) covers [lo, hi)."""
    if len(rects) == 0:
        return False
    hit = (rects[:, 0] < hi[0]) & (rects[:, 2] > lo[0])
    hit &= (rects[:, 1] < hi[1]) & (rects[:, 3] > lo[1])
    r = rects[hit]
    if len(r) == 0:
        return False
    ys = np.unique(np.clip(np.concatenate([r[:, 0], r[:, 2], [lo[0], hi[0]]]), lo[0], hi[0]))
    xs = np.unique(np.clip(np.concatenate([r[:, 1], r[:, 3], [lo[1], hi[1]]]), lo[1], hi[1]))
    cy = (ys[:-1] + ys[1:]) / 2
    cx = (xs[:-1] + xs[1:]) / 2
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    y, x = yy.ravel()[:, None], xx.ravel()[:, None]
    inside = (r[:, 0] <= y) & (y < r[:, 2]) & (r[:, 1] <= x) & (x < r[:, 3])
    return bool(inside.any(axis=1).all())
