"""GPU residency bookkeeping: one byte budget, texture pages, tile slots (no GL here).

Every layer's tiles live in slots on pages of texture. Pages are granted by
one ``GpuBudget`` that all layers share, so the sum of every layer's texture
bytes never exceeds it. A layer that needs a slot

1. takes a free slot on its pages,
2. else gets a new page while the budget has room,
3. else evicts its own least recently used tile that no view needs,
4. else takes over the least recently used page of another layer that holds
   no tile any view needs (that layer drops the page's tiles).

Tiles the current view needs are never evicted, so a frame cannot thrash.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable

_clock = itertools.count()


class GpuBudget:
    """One GPU texture byte budget shared by the pools of all layers."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = int(budget_bytes)
        self._pools: weakref.WeakSet[TexturePool] = weakref.WeakSet()

    @property
    def budget_bytes(self) -> int:
        """Texture bytes all pools together may hold."""
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        self._budget = int(value)
        self._reclaim(None, 0)  # pages no view needs go at once; needed ones as views move

    @property
    def used_bytes(self) -> int:
        """Texture bytes granted now, over all pools."""
        return sum(p.nbytes for p in list(self._pools))

    def share_bytes(self, pool: TexturePool) -> int:
        """Bytes ``pool`` may plan for: an equal share among the pools views draw from now."""
        others = sum(1 for p in list(self._pools) if p is not pool and p.in_use)
        return self._budget // (others + 1)

    def join(self, pool: TexturePool) -> None:
        """Account ``pool``'s pages from now on (dropped when the pool dies)."""
        self._pools.add(pool)

    def grant(self, pool: TexturePool, nbytes: int, reclaim: bool) -> bool:
        """Whether ``pool`` may allocate ``nbytes`` more.

        With ``reclaim``, pages of other pools that no view needs are taken
        back, least recently used first, until the bytes fit.
        """
        if not reclaim:
            return self.used_bytes + nbytes <= self._budget
        return self._reclaim(pool, nbytes)

    def _reclaim(self, requester: TexturePool | None, nbytes: int) -> bool:
        while self.used_bytes + nbytes > self._budget:
            candidates = [
                (stamp, i, p)
                for i, p in enumerate(list(self._pools))
                if p is not requester and (stamp := p.reclaimable()) is not None
            ]
            if not candidates:
                return False
            min(candidates)[2].reclaim()
        return True


class TexturePool:
    """Maps tile keys to slots on pages (``slots_per_page`` each) granted by ``budget``.

    ``on_page_dropped(page)`` is called when a page is taken back (its
    texture can go); ``max_pages`` caps this pool. A new key takes a new
    page while the budget has room, else the least recently used slot no
    view needs; with ``reuse_first`` that slot comes first and a new page
    only when every slot is needed (where each page drawn from costs every
    sample: a ray cast on a software rasteriser).
    """

    def __init__(
        self,
        slots_per_page: int,
        page_bytes: int,
        budget: GpuBudget,
        max_pages: int,
        on_page_dropped: Callable[[int], None] = lambda page: None,
    ) -> None:
        if slots_per_page < 1 or max_pages < 1:
            raise ValueError(f"a pool needs slots and pages, got {slots_per_page}, {max_pages}")
        self.slots_per_page = slots_per_page
        self.page_bytes = page_bytes
        self.max_pages = max_pages
        self._budget = budget
        self._on_page_dropped = on_page_dropped
        self._pages: dict[int, int] = {}  # page -> last use (a global clock tick)
        self._slots: OrderedDict[Hashable, int] = OrderedDict()  # least recently used first
        self._free: list[int] = []
        self._needed: frozenset[Hashable] = frozenset()
        self.evictions = 0
        self.reuse_first = False
        budget.join(self)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def nbytes(self) -> int:
        """Bytes of the pages this pool holds."""
        return len(self._pages) * self.page_bytes

    @property
    def pages(self) -> list[int]:
        """Page numbers held now (0 <= page < ``max_pages``)."""
        return sorted(self._pages)

    @property
    def in_use(self) -> bool:
        """Whether a view needs any of this pool's keys now."""
        return bool(self._needed)

    @property
    def has_free_slot(self) -> bool:
        """Whether a new key fits on the pages held now, without evicting or a new page."""
        return bool(self._free)

    @property
    def n_slots(self) -> int:
        """Slots on the pages held now."""
        return len(self._pages) * self.slots_per_page

    def slot(self, key: Hashable) -> int:
        """The slot holding ``key`` (page ``slot // slots_per_page``)."""
        return self._slots[key]

    def keys(self) -> frozenset[Hashable]:
        """Keys resident now."""
        return frozenset(self._slots)

    def set_needed(self, keys: Collection[Hashable]) -> None:
        """What the current view needs: never evicted, and used just now."""
        self._needed = frozenset(keys)
        now = next(_clock)
        for k in keys:
            slot = self._slots.get(k)
            if slot is not None:
                self._slots.move_to_end(k)
                self._pages[slot // self.slots_per_page] = now

    def acquire(self, key: Hashable) -> int | None:
        """A slot for ``key``, or None when the budget has nothing a view can spare."""
        slot = self._slots.get(key)
        if slot is None:
            if not self._free and (self.reuse_first or not self._add_page(reclaim=False)):
                self._evict_own() or self._add_page(reclaim=True)
            if not self._free:
                return None
            slot = self._free.pop()
        self._slots[key] = slot
        self._slots.move_to_end(key)
        self._pages[slot // self.slots_per_page] = next(_clock)
        return slot

    def reclaimable(self) -> int | None:
        """When the least recently used page that no view needs was last used, if any."""
        page = self._spare_page()
        return None if page is None else self._pages[page]

    def reclaim(self) -> None:
        """Give back the least recently used page that no view needs."""
        page = self._spare_page()
        if page is not None:
            self._drop_page(page)

    def clear(self) -> None:
        """Give back every page."""
        for page in list(self._pages):
            self._drop_page(page)

    def _spare_page(self) -> int | None:
        needed_pages = {
            self._slots[k] // self.slots_per_page for k in self._needed & self._slots.keys()
        }
        spare = [p for p in self._pages if p not in needed_pages]
        return min(spare, key=self._pages.__getitem__) if spare else None

    def _add_page(self, reclaim: bool) -> bool:
        if len(self._pages) >= self.max_pages:
            return False
        if not self._budget.grant(self, self.page_bytes, reclaim):
            return False
        page = min(set(range(self.max_pages)) - self._pages.keys())
        self._pages[page] = next(_clock)
        first = page * self.slots_per_page
        self._free.extend(range(first + self.slots_per_page - 1, first - 1, -1))
        return True

    def _evict_own(self) -> bool:
        victim = next((k for k in self._slots if k not in self._needed), None)
        if victim is None:
            return False
        self._free.append(self._slots.pop(victim))
        self.evictions += 1
        return True

    def _drop_page(self, page: int) -> None:
        lo, hi = page * self.slots_per_page, (page + 1) * self.slots_per_page
        gone = [k for k, s in self._slots.items() if lo <= s < hi]
        for k in gone:
            del self._slots[k]
        self.evictions += len(gone)
        self._free = [s for s in self._free if not lo <= s < hi]
        del self._pages[page]
        self._on_page_dropped(page)
