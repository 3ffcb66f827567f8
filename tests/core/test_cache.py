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
    assert np.isfinite(cache._cache.scorer._base)
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
