"""Which resident tiles to draw: coarse under fine, none that is fully hidden."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Container, Hashable, Sequence

    from napari_progressive.core.planner import Plan, PlannedTile


def draw_list(
    plan: Plan, resident: Container[Hashable], underlay: Sequence[PlannedTile] = ()
) -> list[PlannedTile]:
    """Resident tiles of ``plan`` in drawing order (coarse first).

    ``underlay`` tiles (what an earlier view drew, e.g. the previous plane
    of a slider) go beneath all of the plan's, so that a view whose own
    tiles have not landed yet is never blank.

    A tile is dropped when the finer resident tiles drawn over it cover its
    visible part entirely: on a software rasteriser every hidden layer of
    full-screen quads costs a full frame of fill. Coverage is exact: it is
    tracked on the grid of all tile edges inside the view.
    """
    view_lo = np.asarray(plan.view.lo)
    view_hi = np.asarray(plan.view.hi)
    own = [t for t in plan.tiles if t.key in resident]
    keys = plan.keys
    below = [t for t in underlay if t.key in resident and t.key not in keys]
    tiles = own + below
    if not tiles:
        return []
    lo = np.clip(np.array([t.lo for t in tiles]), view_lo, view_hi)
    hi = np.clip(np.array([t.hi for t in tiles]), view_lo, view_hi)
    visible = np.all(hi > lo, axis=1)
    ys = np.unique(np.concatenate([lo[:, 0], hi[:, 0]]))
    xs = np.unique(np.concatenate([lo[:, 1], hi[:, 1]]))
    r0, r1 = np.searchsorted(ys, lo[:, 0]), np.searchsorted(ys, hi[:, 0])
    c0, c1 = np.searchsorted(xs, lo[:, 1]), np.searchsorted(xs, hi[:, 1])
    covered = np.zeros((len(ys), len(xs)), dtype=bool)
    # Drawing rank: the plan's levels, then the underlay beneath them all.
    ranks = np.array([t.key.level for t in own] + [np.iinfo(np.int64).max] * len(below))
    kept: list[tuple[int, PlannedTile]] = []
    for rank in np.unique(ranks):  # fine to coarse, underlay last
        members = np.flatnonzero((ranks == rank) & visible)
        for i in members:
            if not covered[r0[i] : r1[i], c0[i] : c1[i]].all():
                kept.append((int(ranks[i]), tiles[i]))
        for i in members:
            covered[r0[i] : r1[i], c0[i] : c1[i]] = True
    kept.sort(key=lambda rt: -rt[0])
    return [t for _, t in kept]
