"""One GPU byte budget over every layer's texture pages (no GL)."""

import gc

import pytest

from napari_progressive.core.residency import GpuBudget, TexturePool

PAGE = 1000  # bytes per page of 2 slots


def _pool(budget, dropped=None, max_pages=8):
    sink = dropped if dropped is not None else []
    return TexturePool(2, PAGE, budget, max_pages, on_page_dropped=sink.append)


def test_a_pool_grows_page_by_page_within_the_budget():
    budget = GpuBudget(2 * PAGE)
    pool = _pool(budget)
    assert pool.nbytes == 0 and pool.n_slots == 0
    slots = [pool.acquire(k) for k in "ab"]
    assert pool.pages == [0] and sorted(slots) == [0, 1]
    pool.acquire("c")
    assert pool.pages == [0, 1] and budget.used_bytes == 2 * PAGE
    pool.acquire("d")
    pool.set_needed("bcde")
    assert pool.acquire("e") is not None  # evicts "a", its least recently used unneeded tile
    assert "a" not in pool and pool.evictions == 1
    assert budget.used_bytes <= budget.budget_bytes


def test_reuse_first_recycles_unneeded_slots_before_taking_a_new_page():
    budget = GpuBudget(4 * PAGE)
    pool = _pool(budget)
    pool.reuse_first = True
    pool.acquire("a"), pool.acquire("b")
    pool.set_needed("b")
    pool.acquire("c")  # "a" is not needed: its slot, no second page
    assert pool.pages == [0] and "a" not in pool and pool.evictions == 1
    pool.set_needed("bc")
    pool.acquire("d")  # every slot is needed: a new page after all
    assert pool.pages == [0, 1] and {"b", "c", "d"} <= pool.keys()


def test_needed_tiles_are_never_evicted():
    pool = _pool(GpuBudget(PAGE))
    pool.acquire("a"), pool.acquire("b")
    pool.set_needed("ab")
    assert pool.acquire("c") is None
    assert set(pool.keys()) == {"a", "b"}


def test_a_layer_in_need_takes_the_least_recently_used_spare_page_of_another():
    budget = GpuBudget(3 * PAGE)
    dropped_a, dropped_b = [], []
    a, b, c = _pool(budget, dropped_a), _pool(budget, dropped_b), _pool(budget)
    for k in "wx":
        a.acquire(k)
    for k in "yz":
        b.acquire(k)
    a.set_needed(())
    b.set_needed(())  # b used more recently than a
    c.acquire("1"), c.acquire("2")
    assert budget.used_bytes == 3 * PAGE
    c.set_needed("12")
    assert c.acquire("3") is not None
    assert dropped_a == [0] and not a.keys() and a.nbytes == 0
    assert set(b.keys()) == {"y", "z"} and not dropped_b
    assert budget.used_bytes == 3 * PAGE


def test_pages_a_view_needs_are_not_taken():
    budget = GpuBudget(2 * PAGE)
    a, b = _pool(budget), _pool(budget)
    a.acquire("x")
    a.set_needed("x")
    b.acquire("1"), b.acquire("2")
    b.set_needed("12")
    assert b.acquire("3") is None
    assert "x" in a and budget.used_bytes == 2 * PAGE


def test_lowering_the_budget_gives_back_spare_pages_and_dead_pools_free_theirs():
    budget = GpuBudget(4 * PAGE)
    a = _pool(budget)
    for k in "abcdefg":
        a.acquire(k)
    assert a.nbytes == 4 * PAGE
    a.set_needed("g")  # on the last page
    budget.budget_bytes = 2 * PAGE
    assert budget.used_bytes == 2 * PAGE and "g" in a
    other = _pool(budget)
    assert other.acquire("q") is not None  # takes a's spare page
    assert budget.used_bytes == 2 * PAGE and "g" in a
    del other
    gc.collect()
    assert budget.used_bytes == PAGE


def test_a_pool_keeps_to_its_own_page_cap_and_clear_gives_all_back():
    budget = GpuBudget(100 * PAGE)
    dropped = []
    pool = _pool(budget, dropped, max_pages=2)
    for k in "abcde":
        pool.acquire(k)
    assert pool.nbytes == 2 * PAGE and len(pool) == 4
    pool.clear()
    assert pool.nbytes == 0 and sorted(dropped) == [0, 1] and budget.used_bytes == 0


def test_a_pool_needs_slots():
    with pytest.raises(ValueError, match="slots"):
        TexturePool(0, PAGE, GpuBudget(PAGE), 1)


def test_pools_that_views_draw_from_share_the_budget_equally():
    budget = GpuBudget(12 * PAGE)
    a, b, c = (_pool(budget, max_pages=12) for _ in range(3))
    assert budget.share_bytes(a) == 12 * PAGE  # alone: the whole budget
    b.set_needed(["x"])
    assert budget.share_bytes(a) == 6 * PAGE and budget.share_bytes(b) == 12 * PAGE
    c.set_needed(["y"])
    a.set_needed(["z"])
    assert {budget.share_bytes(p) for p in (a, b, c)} == {4 * PAGE}
    b.set_needed([])  # its view went away: the others share its part
    assert budget.share_bytes(a) == budget.share_bytes(c) == 6 * PAGE
