"""Byte-budgeted host cache of decoded tiles, on cachey.

cachey 0.2.1 has two flaws that a long browsing session hits:

* its recency base grows by ``1 + ln2/halflife`` per touch and overflows to
  ``inf`` after about a million touches; every score is then ``inf`` and a full
  cache refuses each new put silently;
* its scorer keeps a cost and a time entry for every key ever seen.

``_BoundedCache`` renormalises all scores (a common factor, so the order is
unchanged) long before the overflow, forgets a key's score entries when the
key leaves the cache, and does not record misses at all.

Eviction order is cachey's (least valuable first: cost to make, recency,
frequency), with two protections on top, which ``HostCache`` decides:

* **fair share**: while some owner (a layer) holds more than its share of the
  budget (budget / owners holding bytes), owners at or below their share
  lose nothing;
* **coarse retention**: keys put with ``pinned=True`` (a layer's coarsest
  levels, which every view falls back on) are kept while all pinned bytes
  fit in a reserved fraction of the budget.

When everything left is protected, the budget still wins.

The overrides read cachey's internals (its heap, score tables and recency
base), so the project pins ``cachey==0.2.1``; a test checks those internals.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from cachey import Cache

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    import numpy as np

# Renormalise when the base passes this: far below float64's 1.8e308 limit.
_RENORMALISE_AT = 1e100


class _BoundedCache(Cache):
    """cachey.Cache with overflow-free scores and bounded score tables."""

    def __init__(
        self,
        available_bytes: int,
        on_store: Callable[[Hashable, int], None],
        on_evict: Callable[[Hashable, int], None],
        protected: Callable[[Hashable], bool],
        deserves_room: Callable[[Hashable], bool],
    ) -> None:
        super().__init__(available_bytes)
        self._on_store = on_store
        self._on_evict = on_evict
        self._protected = protected
        self._deserves_room = deserves_room

    def put(self, key: Hashable, value: Any, cost: float, nbytes: int | None = None) -> None:
        """Store ``value`` unless its score loses to every resident key.

        A key whose owner is below its fair share is stored whatever its score.
        """
        if nbytes is None:
            nbytes = self.get_nbytes(value)
        if cost >= self.limit and nbytes < self.available_bytes:
            score = self.scorer.touch(key, cost)
            if (
                nbytes + self.total_bytes < self.available_bytes
                or not self.heap
                or score > self.heap.peekitem()[1]
                or self._deserves_room(key)
            ):
                self.data[key] = value
                self.heap[key] = score
                self.nbytes[key] = nbytes
                self.total_bytes += nbytes
                self._on_store(key, nbytes)
                self.shrink()
        if key not in self.data:  # refused or evicted at once: forget its score
            self._forget(key)
        self._maybe_renormalise()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """Return the cached value (touching its score) or ``default``.

        A miss leaves no score entry behind (cachey's own ``get`` records one).
        """
        if key not in self.data:
            return default
        value = super().get(key, default)
        self._maybe_renormalise()
        return value

    def shrink(self) -> None:
        """Evict the least valuable unprotected keys until the budget holds."""
        skipped = []
        while self.total_bytes > self.available_bytes and self.heap:
            key, score = self.heap.popitem()
            if self._protected(key):
                skipped.append((key, score))
            else:
                self.retire(key)
        for key, score in skipped:
            self.heap[key] = score
        while self.total_bytes > self.available_bytes and self.heap:
            key, _ = self.heap.popitem()  # all protected: the budget still wins
            self.retire(key)

    def retire(self, key: Hashable) -> None:
        """Remove ``key`` and forget its score entries."""
        nbytes = self.nbytes.get(key, 0)
        super().retire(key)
        self._forget(key)
        self._on_evict(key, nbytes)

    def _forget(self, key: Hashable) -> None:
        self.scorer.cost.pop(key, None)
        self.scorer.time.pop(key, None)

    def _maybe_renormalise(self) -> None:
        scorer = self.scorer
        base = scorer._base
        if base < _RENORMALISE_AT:
            return
        for k in list(scorer.time):
            scorer.time[k] /= base
        for k in list(self.heap):
            self.heap[k] /= base
        scorer._base = 1.0


#: Fraction of the budget reserved for pinned (coarsest-level) keys.
DEFAULT_PINNED_FRACTION = 0.1


class HostCache:
    """Thread-safe tile cache with one byte budget, fair shares and hit/miss counters.

    Keys are tuples whose first item is the owner (one per layer).
    """

    def __init__(self, budget_bytes: int, pinned_fraction: float = DEFAULT_PINNED_FRACTION) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"host cache budget must be positive, got {budget_bytes}")
        if not 0.0 <= pinned_fraction < 1.0:
            raise ValueError(f"pinned_fraction must be in [0, 1), got {pinned_fraction}")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._owner_bytes: dict[Hashable, int] = {}
        self._pinned: dict[Hashable, int] = {}
        self.pinned_bytes = 0
        self.pinned_budget_bytes = int(budget_bytes * pinned_fraction)
        self._cache = _BoundedCache(
            int(budget_bytes),
            on_store=self._account,
            on_evict=self._count_eviction,
            protected=self._is_protected,
            deserves_room=self._below_share,
        )

    @property
    def budget_bytes(self) -> int:
        """The byte budget."""
        return int(self._cache.available_bytes)

    @property
    def nbytes(self) -> int:
        """Bytes held now (never above the budget)."""
        return int(self._cache.total_bytes)

    def __len__(self) -> int:
        return len(self._cache.data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._cache.data

    def owner_bytes(self, owner: Hashable) -> int:
        """Bytes held for keys ``(owner, ...)``."""
        return self._owner_bytes.get(owner, 0)

    def fair_share(self) -> int:
        """Bytes each owner may keep under pressure: the budget over the owners holding bytes."""
        return self.budget_bytes // max(1, len(self._owner_bytes))

    def peek(self, key: Hashable) -> np.ndarray | None:
        """The cached array for ``key`` without touching its score or counters."""
        with self._lock:
            return self._cache.data.get(key)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached array for ``key``, or None."""
        with self._lock:
            value = self._cache.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(
        self, key: Hashable, value: np.ndarray, cost_seconds: float, pinned: bool = False
    ) -> None:
        """Cache ``value``; the more it cost to make, the longer it stays.

        ``pinned`` keys (coarsest levels) are kept within the pinned reserve.
        A view into a larger array is copied first so that the cache never
        keeps more bytes alive than it counts.
        """
        if _owned_bytes(value) > value.nbytes:
            value = value.copy()
        with self._lock:
            if key in self._cache.data:
                return
            if pinned:
                self._pinned[key] = value.nbytes
                self.pinned_bytes += value.nbytes
            self._cache.put(key, value, cost=max(cost_seconds, 1e-9), nbytes=value.nbytes)
            if pinned and key not in self._cache.data:
                self.pinned_bytes -= self._pinned.pop(key, 0)

    def drop_owner(self, owner: Hashable) -> int:
        """Forget every key of ``owner`` (a layer that is gone); returns the bytes freed."""
        with self._lock:
            before = self.nbytes
            for key in [k for k in self._cache.data if _owner(k) == owner]:
                self._cache.retire(key)
            return before - self.nbytes

    def score_table_size(self) -> int:
        """Number of keys the scorer remembers (bounded by the cache's keys)."""
        return len(self._cache.scorer.time)

    def _count_eviction(self, key: Hashable, nbytes: int) -> None:
        self.evictions += 1
        self._account(key, -nbytes)
        self.pinned_bytes -= self._pinned.pop(key, 0)

    def _below_share(self, key: Hashable) -> bool:
        owner = _owner(key)
        owners = len(self._owner_bytes) + (owner not in self._owner_bytes)
        return self._owner_bytes.get(owner, 0) < self.budget_bytes // owners

    def _is_protected(self, key: Hashable) -> bool:
        if key in self._pinned and self.pinned_bytes <= self.pinned_budget_bytes:
            return True
        share = self.fair_share()
        mine = self._owner_bytes.get(_owner(key), 0)
        return mine <= share and any(b > share for b in self._owner_bytes.values())

    def _account(self, key: Hashable, nbytes: int) -> None:
        owner = _owner(key)
        left = self._owner_bytes.get(owner, 0) + nbytes
        if left:
            self._owner_bytes[owner] = left
        else:
            self._owner_bytes.pop(owner, None)


def _owned_bytes(value: np.ndarray) -> int:
    """Bytes ``value`` keeps alive: its base's (an array, or a buffer it arrived in)."""
    base = value.base
    if base is None:
        return int(value.nbytes)
    nbytes = getattr(base, "nbytes", None)
    if nbytes is not None:
        return int(nbytes)
    try:
        return memoryview(base).nbytes
    except TypeError:  # an opaque owner (tensorstore hands out a capsule): its own array
        return int(value.nbytes)


def _owner(key: Hashable) -> Hashable:
    return key[0] if isinstance(key, tuple) and key else None
