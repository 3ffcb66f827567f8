"""The texture atlas: page layout, slots, the per-frame upload cap and the GPU budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_progressive.core.formats import texture_format
from napari_progressive.core.residency import GpuBudget
from napari_progressive.render.atlas import PAGE_SIDE, TextureAtlas, page_grid


@pytest.mark.parametrize(
    ("slot", "max_slots", "max_bytes"),
    [
        ((256, 256), None, None),
        ((512, 256), 5, None),
        ((64, 64, 64), None, None),
        ((32, 64, 64), 3, None),
        ((256, 256), None, 3 * 256 * 256),
        ((64, 64, 64), None, 10 * 2**18),
    ],
)
def test_a_page_holds_what_is_asked_within_the_texture_size(slot, max_slots, max_bytes):
    grid = page_grid(slot, 1, max_slots, max_bytes, max_size=2048)
    side = [g * s for g, s in zip(grid, slot, strict=True)]
    assert max(side) <= max(PAGE_SIDE, 2 * max(slot))
    if max_slots is not None:  # no more slots than needed, but all of them
        assert max_slots <= math.prod(grid) < max_slots + max(grid)
    if max_bytes is not None:
        assert math.prod(grid) * math.prod(slot) <= max_bytes
    if max_slots is None and max_bytes is None:
        assert side == [2048] * len(slot)


def atlas(slot, budget, **kw):
    bound = {}
    fmt = texture_format(np.dtype(np.uint8))
    return TextureAtlas(slot, fmt, budget, bind=bound.__setitem__, **kw), bound


@pytest.mark.parametrize("slot", [(64, 64), (16, 32, 32)])
def test_pieces_get_disjoint_slots_on_bound_pages(slot):
    budget = GpuBudget(2**30)
    a, bound = atlas(slot, budget, max_slots=6)
    keys = [("layer", i) for i in range(6)]
    for i, key in enumerate(keys):
        a.stage(key, np.full(slot, i, np.uint8))
    a.set_needed(keys)
    assert a.upload(keys) and a.pending == 0
    boxes = {tuple((o, o + s) for o, s in zip(a.slot(k).origin, slot, strict=True)) for k in keys}
    assert len(boxes) == 6  # one slot each, all different
    for k in keys:
        where = a.slot(k)
        assert all(o + s <= p for o, s, p in zip(where.origin, slot, a.page_shape, strict=True))
        assert type(bound[where.page]).__name__ == f"Texture{len(slot)}D"
    assert budget.used_bytes == a.pool.nbytes > 0


def test_uploads_stop_at_the_frame_cap_and_resume():
    slot = (128, 128)
    a, _ = atlas(slot, GpuBudget(2**30), upload_bytes_per_frame=2 * 128 * 128)
    keys = [("layer", i) for i in range(5)]
    for key in keys:
        a.stage(key, np.zeros(slot, np.uint8))
    a.set_needed(keys)
    a.upload(keys)
    assert a.pending == 3
    a.upload(keys)
    a.upload(keys)
    assert a.pending == 0 and all(k in a.pool for k in keys)


def test_a_full_budget_keeps_what_the_view_needs():
    slot = (256, 256)
    budget = GpuBudget(2**30)
    first, _ = atlas(slot, budget, max_slots=8)
    second, _ = atlas(slot, budget, max_slots=8)
    page = budget.budget_bytes = first.pool.page_bytes  # room for one page
    kept = [("a", i) for i in range(8)]
    for key in kept:
        first.stage(key, np.zeros(slot, np.uint8))
    first.set_needed(kept)
    first.upload(kept)
    second.stage(("b", 0), np.zeros(slot, np.uint8))
    second.set_needed([("b", 0)])
    assert not second.upload([("b", 0)])  # the only page shows a view
    assert all(k in first.pool for k in kept) and budget.used_bytes <= page
    first.set_needed([])
    second.stage(("b", 0), np.zeros(slot, np.uint8))
    assert second.upload([("b", 0)])  # now the page can change hands
    assert ("b", 0) in second.pool and not any(k in first.pool for k in kept)
