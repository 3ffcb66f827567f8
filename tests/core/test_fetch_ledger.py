from napari_progressive.core import fetch_ledger
from napari_progressive.core.fetch_ledger import FetchLedger


def test_a_tile_shown_after_its_fetch_is_not_wasted():
    ledger = FetchLedger()
    ledger.on_fetched("a")
    ledger.on_fetched("b")
    ledger.on_shown("a")
    ledger.on_shown("c")  # shown from the cache, never fetched here
    assert (ledger.fetched, ledger.wasted) == (2, 1)  # "b" is still unshown
    ledger.on_shown("b")  # the camera reached the prefetched tile
    assert ledger.wasted == 0


def test_a_tile_fetched_again_before_it_was_shown_wasted_the_first_fetch():
    ledger = FetchLedger()
    for _ in range(3):
        ledger.on_fetched("a")  # evicted and read again twice
    ledger.on_shown("a")
    ledger.on_shown("a")
    assert (ledger.fetched, ledger.wasted) == (3, 2)
    ledger.on_fetched("a")
    ledger.on_shown("a")
    assert (ledger.fetched, ledger.wasted) == (4, 2)


def test_the_unshown_table_is_bounded(monkeypatch):
    monkeypatch.setattr(fetch_ledger, "MAX_UNSHOWN", 4)
    ledger = FetchLedger()
    for key in range(10):
        ledger.on_fetched(key)
    for key in range(10):
        ledger.on_shown(key)  # only the newest four are remembered: the others stay wasted
    assert (ledger.fetched, ledger.wasted) == (10, 6)


def test_reset_counts_from_now_on():
    ledger = FetchLedger()
    ledger.on_fetched("before")
    ledger.reset()
    ledger.on_fetched("after")
    ledger.on_shown("before")  # fetched before the reset: not counted either way
    assert (ledger.fetched, ledger.wasted) == (1, 1)
