"""Bookkeeping of a fixed pool of GPU texture slots with LRU eviction."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection, Hashable


class SlotPool:
    """Maps keys to ``n_slots`` slots; evicts the least recently used key.

    Keys in ``protected`` (what the current view needs) are never evicted, so
    the pool cannot thrash within one frame.
    """

    def __init__(self, n_slots: int) -> None:
        if n_slots < 1:
            raise ValueError(f"a slot pool needs at least one slot, got {n_slots}")
        self.n_slots = n_slots
        self._free = list(range(n_slots - 1, -1, -1))
        self._slots: OrderedDict[Hashable, int] = OrderedDict()
        self.evictions = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def slot(self, key: Hashable) -> int:
        """The slot holding ``key``."""
        return self._slots[key]

    def keys(self) -> frozenset[Hashable]:
        """Keys resident now."""
        return frozenset(self._slots)

    def touch(self, keys: Collection[Hashable]) -> None:
        """Mark ``keys`` as just used."""
        for k in keys:
            if k in self._slots:
                self._slots.move_to_end(k)

    def acquire(self, key: Hashable, protected: Collection[Hashable]) -> int | None:
        """A slot for ``key`` (evicting if needed), or None when all are protected."""
        if key in self._slots:
            self._slots.move_to_end(key)
            return self._slots[key]
        if not self._free:
            victim = next((k for k in self._slots if k not in protected), None)
            if victim is None:
                return None
            self._free.append(self._slots.pop(victim))
            self.evictions += 1
        slot = self._free.pop()
        self._slots[key] = slot
        return slot

    def release(self, key: Hashable) -> None:
        """Free the slot of ``key`` if it has one."""
        slot = self._slots.pop(key, None)
        if slot is not None:
            self._free.append(slot)
