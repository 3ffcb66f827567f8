"""The baked page table: every cell names the finest resident brick there, never a hole."""

from __future__ import annotations

import numpy as np

from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.page_table import UNKNOWN_RANGE, bake_page_table
from napari_progressive.core.volume_planner import plan_volume
from tests.core.test_volume_planner import ortho, pyramid

UNKNOWN_RANGE_F32 = tuple(float(np.float32(v)) for v in UNKNOWN_RANGE)


def decode(table, row, cell):
    """(level, page, slot) a cell of ``row``'s box names, or None."""
    z = int(table.rows[row, 0, 3])
    texel = table.cells[z + cell[0], cell[1], cell[2]]
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


def test_a_cell_carries_the_value_range_of_the_brick_it_names():
    levels = pyramid()
    maps = level_mappings(levels)
    plan = plan_volume(levels, ortho((512.0, 512.0, 512.0), 300), slots=4096)
    finest = min(b.key.level for b in plan.bricks)
    slots = {b.key: (0, i) for i, b in enumerate(plan.bricks) if b.key.level > finest}
    ranges = {key: (float(slot), float(slot) + 0.5) for key, (_, slot) in slots.items()}
    unknown = next(iter(slots))
    del ranges[unknown]  # a brick whose range is unknown is never skipped
    table = bake_page_table(plan, maps, slots, np.zeros(3), lambda lv: (0.0, 0.0, 1.0), ranges)
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
