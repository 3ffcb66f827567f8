"""The page table a 3D ray march reads: for every brick cell, the finest resident brick.

One small box of cells per planned level (the bounding box of that level's
planned bricks, at most ``MAX_CELLS`` a side around the focus) is stacked
along depth in one RGBA8 3D texture. A cell holds the atlas slot of the
brick at that place and level, or, when that brick is not on the GPU, of
its nearest resident coarser ancestor: the fallback is baked here, so the
shader reads one cell per brick segment and never finds a hole where any
coarser level is resident.

A cell is flagged as failed (``FAILED_FLAG`` added to ``a``) where a planned
brick that failed to load lies there, finer than the brick the cell names
(or where nothing is resident): the shader hatches that region, over
whatever coarser brick shows there, as the 2D visual hatches a failed tile.

Cell texel (RGBA8): ``r + 256 g`` the slot on its page, ``b`` the page,
``a`` the row of the brick's level in ``rows`` plus one (0: nothing resident),
plus ``FAILED_FLAG`` where the cell is flagged.
``rows[k]`` (float32, 4 x 4) describes the k-th level, finest first: its
box's first corner (local x, y, z; w: first texel along depth), a brick's
extent (x, y, z; w: the level), the box size in cells (x, y, z), and the
level's overlay colour (r, g, b). Positions are level-0 data coordinates
relative to ``origin`` (displayed order reversed: x is the last displayed axis).

``ranges`` holds, per cell, the lowest and highest value (data units, border
included) of the brick the cell names: the ray march skips a brick that
cannot change its result (a MIP's brick below the best so far, an isosurface
above every value), so empty space costs one lookup per brick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.bricks import BRICK

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from napari_progressive.core.bricks import BrickKey
    from napari_progressive.core.geometry import LevelMapping
    from napari_progressive.core.volume_planner import VolumePlan

#: Cells of one level's box along each axis, at most.
MAX_CELLS = 32
#: Atlas slots one page may hold (the cell stores 16 bits of slot).
MAX_SLOTS_PER_PAGE = 2**16
#: Added to a cell's ``a`` where a failed brick lies (rows plus one stay below it).
FAILED_FLAG = 128
#: The value range of a brick whose range is unknown: it is never skipped.
UNKNOWN_RANGE = (-3e38, 3e38)


def value_range(brick: np.ndarray) -> tuple[float, float]:
    """The lowest and highest value of ``brick`` (texture values are data values).

    With a NaN or an infinity inside: ``UNKNOWN_RANGE`` (never skipped).
    Workers compute it with the brick's texture, off the main thread.
    """
    low, high = float(brick.min()), float(brick.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        return UNKNOWN_RANGE
    return low, high


@dataclass(frozen=True)
class PageTable:
    """The baked table (``cells``: depth, rows, columns, RGBA), its ``ranges`` and ``rows``."""

    cells: np.ndarray
    ranges: np.ndarray
    rows: np.ndarray
    levels: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Cells along depth, rows and columns of the whole texture."""
        d, r, c, _ = self.cells.shape
        return d, r, c


def bake_page_table(
    plan: VolumePlan,
    mappings: Sequence[LevelMapping],
    slots: Mapping[BrickKey, tuple[int, int]],
    origin: np.ndarray,
    colour_of: Callable[[int], tuple[float, float, float]],
    failed: Collection[BrickKey] = (),
    ranges: Mapping[BrickKey, tuple[float, float]] | None = None,
) -> PageTable:
    """The table for ``plan`` given the resident bricks' ``(page, slot)``; see the module doc.

    ``origin`` is the local origin in level-0 data coordinates along the
    displayed axes (displayed order); ``failed`` the planned bricks that
    failed to load (others are ignored); ``ranges`` the resident bricks'
    value ranges (a brick missing there is never skipped).
    """
    by_level: dict[int, list[BrickKey]] = {}
    for b in plan.bricks:
        by_level.setdefault(b.key.level, []).append(b.key)
    levels = tuple(sorted(by_level))
    if not levels:
        return PageTable(
            np.zeros((1, 1, 1, 4), np.uint8),
            np.zeros((1, 1, 1, 2), np.float32),
            np.zeros((0, 4, 4), np.float32),
            (),
        )
    template = plan.bricks[0].key
    displayed, plane = template.displayed, template.plane
    axes = list(displayed)
    centre = np.asarray(plan.view.centre, dtype=float)
    grids = {lv: _BrickGrid(mappings[lv], axes) for lv in levels}
    boxes = {lv: _box(by_level[lv], grids[lv], centre) for lv in levels}
    resident = _resident_codes(slots, ranges or {}, displayed, lambda p: p == plane)
    stale = _resident_codes(slots, ranges or {}, displayed, lambda p: p != plane)
    planned = plan.keys
    failures = _failed_codes(k for k in failed if k in planned)
    row_of = {lv: k for k, lv in enumerate(levels)}
    depth = sum(int(hi[0] - lo[0]) for lo, hi in boxes.values())
    side_r = max(int(hi[1] - lo[1]) for lo, hi in boxes.values())
    side_c = max(int(hi[2] - lo[2]) for lo, hi in boxes.values())
    cells = np.zeros((depth, side_r, side_c, 4), np.uint8)
    cell_ranges = np.zeros((depth, side_r, side_c, 2), np.float32)
    rows = np.zeros((len(levels), 4, 4), np.float32)
    z = 0
    for k, lv in enumerate(levels):
        lo, hi = boxes[lv]
        grid = grids[lv]
        shape = tuple(int(n) for n in hi - lo)
        index = np.stack(
            np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi, strict=True)), indexing="ij"),
            axis=-1,
        ).reshape(-1, 3)
        centres = grid.corner + (index + 0.5) * grid.extent
        out, out_ranges = _texels(centres, levels[k:], grids, resident, failures, row_of, stale)
        cells[z : z + shape[0], : shape[1], : shape[2]] = out.reshape(*shape, 4)
        cell_ranges[z : z + shape[0], : shape[1], : shape[2]] = out_ranges.reshape(*shape, 2)
        first = grid.corner + lo * grid.extent - origin
        rows[k, 0] = (*first[::-1], z)
        rows[k, 1] = (*grid.extent[::-1], lv)
        rows[k, 2] = (*np.asarray(shape[::-1], float), 0.0)
        rows[k, 3] = (*colour_of(lv), 1.0)
        z += shape[0]
    return PageTable(cells, cell_ranges, rows, levels)


def _texels(
    centres: np.ndarray,
    levels: Sequence[int],
    grids: Mapping[int, _BrickGrid],
    resident: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
    failures: Mapping[int, np.ndarray],
    row_of: Mapping[int, int],
    stale: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """The texels and value ranges of the cells at ``centres``: the finest resident brick.

    ``levels`` go finest first; a texel is flagged where a failed brick finer
    than the one it names lies (or any failed brick, where none is resident).
    Where nothing of this slice is resident, a ``stale`` brick (another
    slice's, e.g. the previous time point's) is shown until this slice's land.
    """
    found = np.zeros(len(centres), dtype=bool)
    flagged = np.zeros(len(centres), dtype=bool)
    out = np.zeros((len(centres), 4), np.uint8)
    out_ranges = np.zeros((len(centres), 2), np.float32)
    for lv in levels:
        codes = resident.get(lv)
        if codes is None and lv not in failures:
            continue
        at = _encode(grids[lv].brick_of(centres))
        if codes is not None:
            hit, pos = _lookup(codes[0], at)
            hit &= ~found
            page, slot = codes[1][pos[hit], 0], codes[1][pos[hit], 1]
            out[hit] = np.stack(
                [slot & 255, slot >> 8, page, np.full_like(slot, row_of[lv] + 1)], axis=1
            )
            out_ranges[hit] = codes[2][pos[hit]]
            found |= hit
        if lv in failures:
            flagged |= ~found & _lookup(failures[lv], at)[0]
    for lv in levels:
        codes = stale.get(lv)
        if codes is None or found.all():
            continue
        hit, pos = _lookup(codes[0], _encode(grids[lv].brick_of(centres)))
        hit &= ~found
        page, slot = codes[1][pos[hit], 0], codes[1][pos[hit], 1]
        out[hit] = np.stack([slot & 255, slot >> 8, page, np.full_like(slot, row_of[lv] + 1)], 1)
        out_ranges[hit] = codes[2][pos[hit]]
        found |= hit
    out[flagged, 3] += FAILED_FLAG
    return out, out_ranges


class _BrickGrid:
    """Where a level's bricks lie in level-0 coordinates along the displayed axes."""

    def __init__(self, mapping: LevelMapping, axes: list[int]) -> None:
        factor = np.asarray(mapping.factor, dtype=float)[axes]
        self.corner = np.asarray(mapping.offset, dtype=float)[axes] - 0.5 * factor
        self.extent = BRICK * factor

    def brick_of(self, points: np.ndarray) -> np.ndarray:
        """Brick index holding each point."""
        return np.floor((points - self.corner) / self.extent).astype(np.int64)


def _box(
    keys: list[BrickKey], grid: _BrickGrid, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``[lo, hi)`` bounding ``keys``, at most ``MAX_CELLS`` a side around the focus."""
    index = np.array([k.brick for k in keys], dtype=np.int64)
    lo, hi = index.min(axis=0), index.max(axis=0) + 1
    focus = grid.brick_of(centre[None])[0]
    start = np.clip(focus - MAX_CELLS // 2, lo, np.maximum(lo, hi - MAX_CELLS))
    return start, np.minimum(hi, start + MAX_CELLS)


def _encode(index: np.ndarray) -> np.ndarray:
    """One sortable integer per brick index (21 bits per axis, offset for negatives)."""
    shifted = index + 2**20
    return (shifted[:, 0] << 42) | (shifted[:, 1] << 21) | shifted[:, 2]


def _lookup(codes: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``at`` are among the sorted ``codes``, and where they are (or would be)."""
    pos = np.minimum(np.searchsorted(codes, at), len(codes) - 1)
    return codes[pos] == at, pos


def _failed_codes(failed: Iterable[BrickKey]) -> dict[int, np.ndarray]:
    """Per level, the sorted codes of the ``failed`` bricks."""
    per_level: dict[int, list[tuple[int, int, int]]] = {}
    for key in failed:
        per_level.setdefault(key.level, []).append(key.brick)
    return {lv: np.sort(_encode(np.array(b, dtype=np.int64))) for lv, b in per_level.items()}


def _resident_codes(
    slots: Mapping[BrickKey, tuple[int, int]],
    ranges: Mapping[BrickKey, tuple[float, float]],
    displayed: tuple[int, int, int],
    at_slice: Callable[[tuple[tuple[int, int], ...]], bool],
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per level, the sorted codes of its resident bricks at the slices ``at_slice`` keeps.

    Each with its (page, slot) and its value range.
    """
    per_level: dict[int, list[BrickKey]] = {}
    for key in slots:
        if key.displayed == displayed and at_slice(key.plane):
            per_level.setdefault(key.level, []).append(key)
    out = {}
    for lv, keys in per_level.items():
        codes = _encode(np.array([k.brick for k in keys], dtype=np.int64))
        order = np.argsort(codes)
        where = np.array([slots[k] for k in keys], dtype=np.int64)[order]
        value_ranges = np.array([ranges.get(k, UNKNOWN_RANGE) for k in keys], np.float32)[order]
        out[lv] = (codes[order], where, value_ranges)
    return out
