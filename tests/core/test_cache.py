import numpy as np
import pytest
from cachey import Cache

from napari_progressive.core.cache import HostCache

TILE = np.zeros(1000, np.uint8)


def test_budget_is_never_exceeded_and_counters_add_up():
    cache = HostCache(10_500)
    for i in range(50):
        cache.put(("a", i), TILE.copy(), 0.01)
        assert cache.nbytes <= cache.budget_bytes
    assert len(cache) == 10
    assert cache.evictions == 40
    assert cache.get(("a", 49)) is not None
    assert cache.get(("a", 0)) is None
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.owner_bytes("a") == cache.nbytes == 10_000


def test_a_view_is_stored_as_its_own_bytes():
    big = np.zeros((1000, 1000), np.uint8)
    cache = HostCache(10**7)
    cache.put(("a", 0), big[:10, :10], 0.01)
    stored = cache.peek(("a", 0))
    assert stored is not None and stored.base is None
    assert cache.nbytes == 100


def test_an_array_owned_by_an_opaque_capsule_is_stored_as_it_is():
    """tensorstore's reads own their memory through a capsule, not a buffer."""
    ts = pytest.importorskip("tensorstore")
    chunk = ts.array(np.arange(100, dtype=np.uint16).reshape(10, 10))[2:5].read().result()
    cache = HostCache(10**7)
    cache.put(("a", 0), chunk, 0.01)
    assert cache.peek(("a", 0)) is chunk
    assert cache.nbytes == 60


def test_plain_cachey_refuses_puts_after_a_million_touches():
    """The upstream flaw this module guards against (cachey 0.2.1)."""
    cache = Cache(10_500)
    for i in range(10):
        cache.put(i, TILE, cost=1.0)
    for n in range(1_100_000):
        cache.get(n % 10)
    assert cache.scorer._base == float("inf")
    cache.put("new", TILE, cost=1.0)
    assert "new" not in cache


@pytest.mark.parametrize("n_touches", [2_100_000])
def test_full_cache_keeps_accepting_puts_past_two_million_touches(n_touches):
    cache = HostCache(10_500)
    for i in range(10):
        cache.put(("a", i), TILE.copy(), 0.01)
    hot = ("a", 0)
    for _ in range(n_touches):
        cache.get(hot)
    assert cache.hits >= n_touches
    cache.put(("a", "after"), TILE.copy(), 0.01)
    assert ("a", "after") in cache  # still admitted: scores did not overflow
    assert hot in cache  # the hot key is still the most valuable
    assert cache.nbytes <= cache.budget_bytes


def test_score_tables_stay_bounded_by_the_keys_held():
    cache = HostCache(10_500)
    for i in range(20_000):
        cache.put(("a", i), TILE.copy(), 0.01)
    assert len(cache) == 10
    assert cache.score_table_size() == 10


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        HostCache(0)


def test_misses_leave_no_score_entries():
    cache = HostCache(10_500)
    for i in range(5_000):
        assert cache.get(("a", i)) is None
    assert cache.score_table_size() == 0 and cache.misses == 5_000


def test_a_layer_below_its_fair_share_keeps_its_tiles():
    cache = HostCache(20_500, pinned_fraction=0.0)
    for i in range(10):
        cache.put(("quiet", i), TILE.copy(), 0.01)
    for i in range(1_000):  # a busy layer keeps putting, more recently and more costly
        cache.put(("busy", i), TILE.copy(), 1.0)
        assert cache.nbytes <= cache.budget_bytes
    assert cache.fair_share() == 10_250
    assert cache.owner_bytes("quiet") == 10_000  # at its share: untouched
    assert cache.owner_bytes("busy") == 10_000  # evicts its own tiles instead
    assert ("busy", 999) in cache


def test_a_layer_over_its_share_gives_way_to_a_new_one():
    cache = HostCache(20_500, pinned_fraction=0.0)
    for i in range(20):
        cache.put(("old", i), TILE.copy(), 1.0)
    for i in range(30):
        cache.put(("new", i), TILE.copy(), 0.01)
    assert cache.owner_bytes("new") == cache.owner_bytes("old") == 10_000


def test_pinned_coarse_tiles_stay_within_their_reserve():
    cache = HostCache(20_500, pinned_fraction=0.2)  # reserve: 4 tiles
    for i in range(4):
        cache.put(("a", "coarse", i), TILE.copy(), 0.001, pinned=True)
    for i in range(500):
        cache.put(("a", "fine", i), TILE.copy(), 1.0)
    assert all(("a", "coarse", i) in cache for i in range(4))
    assert cache.pinned_bytes == 4_000
    for i in range(4, 12):  # more pinned tiles than the reserve holds
        cache.put(("a", "coarse", i), TILE.copy(), 0.001, pinned=True)
        assert cache.nbytes <= cache.budget_bytes
    assert cache.pinned_bytes <= cache.pinned_budget_bytes + TILE.nbytes


def test_an_array_inside_a_larger_buffer_is_stored_as_its_own_bytes():
    """Arrays unpickled from a cluster message share the message's buffer."""
    inner = np.frombuffer(bytes(10_000), np.uint8)[:100]
    cache = HostCache(10**6)
    cache.put(("a", 0), inner, 0.01)
    assert cache.peek(("a", 0)).base is None and cache.nbytes == 100


def test_the_installed_cachey_has_the_internals_the_cache_overrides():
    from importlib.metadata import version

    assert version("cachey") == "0.2.1"  # pinned in pyproject: re-check the overrides on a bump
    cache = Cache(1000)
    cache.put("k", np.zeros(10, np.uint8), cost=1.0)
    scorer = cache.scorer
    assert isinstance(scorer._base, float) and {"k"} <= scorer.cost.keys() <= scorer.time.keys()
    assert cache.heap.peekitem()[0] == "k" and cache.nbytes["k"] == cache.total_bytes == 10
    assert callable(cache.retire) and callable(cache.get_nbytes) and cache.limit == 0
