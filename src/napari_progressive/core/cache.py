"""Byte-budgeted host cache of decoded tiles, on cachey.

cachey 0.2.1 has two flaws that a long browsing session hits:

* its recency base grows by ``1 + ln2/halflife`` per touch and overflows to
  ``inf`` after about a million touches; every score is then ``inf`` and a full
  cache refuses each new put silently;
* its scorer keeps a cost and a time entry for every key ever seen.

``_BoundedCache`` renormalises all scores (a common factor, so the order is
unchanged) long before the overflow, and forgets a key's score entries when
the key leaves the cache.
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
    ) -> None:
        super().__init__(available_bytes)
        self._on_store = on_store
        self._on_evict = on_evict

    def put(self, key: Hashable, value: Any, cost: float, nbytes: int | None = None) -> None:
        """Store ``value`` unless its score loses to every resident key."""
        if nbytes is None:
            nbytes = self.get_nbytes(value)
        if cost >= self.limit and nbytes < self.available_bytes:
            score = self.scorer.touch(key, cost)
            if (
                nbytes + self.total_bytes < self.available_bytes
                or not self.heap
                or score > self.heap.peekitem()[1]
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
        """Return the cached value (touching its score) or ``default``."""
        value = super().get(key, default)
        self._maybe_renormalise()
        return value

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


class HostCache:
    """Thread-safe tile cache with one byte budget and hit/miss counters."""

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"host cache budget must be positive, got {budget_bytes}")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._owner_bytes: dict[Hashable, int] = {}
        self._cache = _BoundedCache(
            int(budget_bytes), on_store=self._account, on_evict=self._count_eviction
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

    def put(self, key: Hashable, value: np.ndarray, cost_seconds: float) -> None:
        """Cache ``value``; the more it cost to make, the longer it stays.

        A view into a larger array is copied first so that the cache never
        keeps more bytes alive than it counts.
        """
        if value.base is not None and value.base.nbytes > value.nbytes:
            value = value.copy()
        with self._lock:
            if key in self._cache.data:
                return
            self._cache.put(key, value, cost=max(cost_seconds, 1e-9), nbytes=value.nbytes)

    def score_table_size(self) -> int:
        """Number of keys the scorer remembers (bounded by the cache's keys)."""
        return len(self._cache.scorer.time)

    def _count_eviction(self, key: Hashable, nbytes: int) -> None:
        self.evictions += 1
        self._account(key, -nbytes)

    def _account(self, key: Hashable, nbytes: int) -> None:
        if isinstance(key, tuple) and key:
            owner = key[0]
            left = self._owner_bytes.get(owner, 0) + nbytes
            if left:
                self._owner_bytes[owner] = left
            else:
                self._owner_bytes.pop(owner, None)
