"""The baked page table: every cell names the finest resident brick there, never a hole,
and flags where a failed brick lies."""

from __future__ import annotations

import numpy as np

from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.page_table import FAILED_FLAG, UNKNOWN_RANGE, bake_page_table
from napari_progressive.core.volume_planner import plan_volume
from tests.core.test_volume_planner import ortho, pyramid

UNKNOWN_RANGE_F32 = tuple(float(np.float32(v)) for v in UNKNOWN_RANGE)


def decode(table, row, cell):
    """(level, page, slot) a cell of ``row``'s box names (whether flagged or not), or None."""
    z = int(table.rows[row, 0, 3])
    texel = table.cells[z + cell[0], cell[1], cell[2]].copy()
    texel[3] &= ~np.uint8(FAILED_FLAG)
    if texel[3] == 0:
        return None
    return table.levels[texel[3] - 1], int(texel[2]), int(texel[0]) + 256 * int(texel[1])


def test_a_missing_brick_points_at_its_nearest_resident_ancestor():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    finest = min(b.key.level for b in plan.bricks)
    # every brick resident except the finest level's and the one just above it
    slots = {b.key: (0, i) for i, b in enumerate(plan.bricks) if b.key.level > finest + 1}
    table = bake_page_table(plan, maps, slots, np.zeros(3), lambda lv: (1.0, 0.0, 0.0))
    row = table.levels.index(finest)
    d, r, c = (int(n) for n in table.rows[row, 2, :3][::-1])
    for cell in [(0, 0, 0), (d - 1, r - 1, c - 1), (d // 2, r // 2, c // 2)]:
        level, page, slot = decode(table, row, cell)
        assert level == finest + 2
        key = next(k for k, v in slots.items() if v == (page, slot))
        assert key.level == finest + 2
        # that brick holds the cell
        extent = table.rows[row, 1, :3][::-1]
        corner = table.rows[row, 0, :3][::-1]
        centre = corner + (np.array(cell) + 0.5) * extent
        b = next(b for b in plan.bricks if b.key == key)
        assert np.all(np.array(b.lo) <= centre) and np.all(centre < np.array(b.hi))


def test_resident_bricks_are_used_at_their_own_level_and_nothing_resident_is_empty():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    slots = {b.key: (1, i) for i, b in enumerate(plan.bricks)}
    table = bake_page_table(plan, maps, slots, np.zeros(3), lambda lv: (0.0, 1.0, 0.0))
    finest = min(table.levels)
    for b in plan.bricks:
        if b.key.level != finest:
            continue
        row = table.levels.index(finest)
        box_lo = np.floor(
            (
                table.rows[row, 0, :3][::-1]
                - (np.array(maps[finest].offset) - 0.5 * maps[finest].factor)
            )
            / table.rows[row, 1, :3][::-1]
            + 0.5
        ).astype(int)
        cell = tuple(np.array(b.key.brick) - box_lo)
        if all(0 <= x < int(n) for x, n in zip(cell, table.rows[row, 2, :3][::-1], strict=True)):
            assert decode(table, row, cell) == (finest, 1, slots[b.key][1])
    empty = bake_page_table(plan, maps, {}, np.zeros(3), lambda lv: (0.0, 1.0, 0.0))
    assert not empty.cells[..., 3].any()


def _cells_of(table, row, key, maps):
    """The cells of ``row``'s box that lie inside brick ``key`` (as (d, r, c) indices)."""
    lv = table.levels[row]
    extent = table.rows[row, 1, :3][::-1]
    corner = table.rows[row, 0, :3][::-1]
    shape = tuple(int(n) for n in table.rows[row, 2, :3][::-1])
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), -1).reshape(-1, 3)
    centres = corner + (index + 0.5) * extent
    factor = np.asarray(maps[key.level].factor, dtype=float)
    lo = np.asarray(maps[key.level].offset) - 0.5 * factor + np.array(key.brick) * 32 * factor
    inside = np.all((centres >= lo) & (centres < lo + 32 * factor), axis=1)
    assert lv <= key.level
    return [tuple(i) for i in index[inside]]


def _flagged(table, row, cell):
    z = int(table.rows[row, 0, 3])
    return bool(table.cells[z + cell[0], cell[1], cell[2], 3] & FAILED_FLAG)


def test_failed_bricks_flag_their_cells_over_the_coarser_brick_they_show():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    finest = min(b.key.level for b in plan.bricks)
    fine = [b.key for b in plan.bricks if b.key.level == finest]
    failed, shown = fine[0], fine[1]
    # everything resident but the failed brick (and a resident brick also listed as failed)
    slots = {b.key: (0, i) for i, b in enumerate(plan.bricks) if b.key != failed}
    table = bake_page_table(plan, maps, slots, np.zeros(3), lambda lv: (1.0, 0.0, 0.0))
    assert not (table.cells[..., 3] & FAILED_FLAG).any()  # nothing failed: no flags
    flagged = bake_page_table(
        plan, maps, slots, np.zeros(3), lambda lv: (1.0, 0.0, 0.0), failed=[failed, shown]
    )
    row = table.levels.index(finest)
    cells = _cells_of(table, row, failed, maps)
    assert cells
    for cell in cells:
        assert _flagged(flagged, row, cell)
        level, _, _ = decode(flagged, row, cell)
        assert level > finest  # the coarser brick still shows there
    for cell in _cells_of(table, row, shown, maps):
        assert not _flagged(flagged, row, cell)
    # only the failed brick's cells are flagged, and the rest of the table is unchanged
    assert (flagged.cells[..., 3] & FAILED_FLAG).astype(bool).sum() == len(cells)
    assert np.array_equal(flagged.cells[..., 3] & ~np.uint8(FAILED_FLAG), table.cells[..., 3])


def test_a_failed_brick_with_nothing_resident_is_still_flagged():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    coarsest = max(b.key.level for b in plan.bricks)
    failed = next(b.key for b in plan.bricks if b.key.level == coarsest)
    table = bake_page_table(plan, maps, {}, np.zeros(3), lambda lv: (1.0, 0.0, 0.0), [failed])
    row = table.levels.index(coarsest)
    (cell,) = _cells_of(table, row, failed, maps)
    assert decode(table, row, cell) is None and _flagged(table, row, cell)
    # and so are the finer levels' cells inside it, which nothing else covers
    finest = table.levels.index(min(table.levels))
    assert all(_flagged(table, finest, c) for c in _cells_of(table, finest, failed, maps))


def test_a_cell_carries_the_value_range_of_the_brick_it_names():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    finest = min(b.key.level for b in plan.bricks)
    slots = {b.key: (0, i) for i, b in enumerate(plan.bricks) if b.key.level > finest}
    ranges = {key: (float(slot), float(slot) + 0.5) for key, (_, slot) in slots.items()}
    unknown = next(iter(slots))
    del ranges[unknown]  # a brick whose range is unknown is never skipped
    table = bake_page_table(
        plan, maps, slots, np.zeros(3), lambda lv: (0.0, 0.0, 1.0), ranges=ranges
    )
    assert table.ranges.shape == (*table.shape, 2)
    seen_unknown = False
    for z, r, c in np.ndindex(*table.shape):
        texel = table.cells[z, r, c]
        low, high = table.ranges[z, r, c]
        if texel[3] == 0:
            continue
        slot = int(texel[0]) + 256 * int(texel[1])
        key = next(k for k, v in slots.items() if v == (0, slot))
        if key == unknown:
            seen_unknown = True
            assert (low, high) == UNKNOWN_RANGE_F32
        else:  # the brick's own range, also in the cells of missing finer bricks
            assert (low, high) == (slot, slot + 0.5)
    assert seen_unknown


def test_another_slices_bricks_show_where_this_slice_has_none_resident():
    import dataclasses

    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    coarsest = max(b.key.level for b in plan.bricks)
    # only the previous time point's coarsest bricks are on the GPU
    previous = {
        dataclasses.replace(b.key, plane=((3, 0),)): (0, i)
        for i, b in enumerate(plan.bricks)
        if b.key.level == coarsest
    }
    table = bake_page_table(plan, maps, previous, np.zeros(3), lambda lv: (1.0, 1.0, 1.0))
    named = table.cells[..., 3] > 0
    assert named.any()
    assert {table.levels[a - 1] for a in table.cells[..., 3][named]} == {coarsest}
    # once this slice's own brick is resident, it wins over the stale one
    own = {b.key: (0, 10_000 + i) for i, b in enumerate(plan.bricks) if b.key.level == coarsest}
    table = bake_page_table(plan, maps, {**previous, **own}, np.zeros(3), lambda lv: (1, 1, 1))
    slots = table.cells[..., 0].astype(int) + 256 * table.cells[..., 1].astype(int)
    assert np.all(slots[table.cells[..., 3] > 0] >= 10_000)
