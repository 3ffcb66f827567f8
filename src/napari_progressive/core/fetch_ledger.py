"""Which fetched tiles a view ever showed: the wasted-fetch count."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

#: Fetched tiles remembered while unshown; beyond this the oldest count as wasted.
MAX_UNSHOWN = 65536


class FetchLedger:
    """Counts tiles read from the source and those a view went on to show.

    A fetch is *wasted* when its tile was never shown: read again before it
    was shown (evicted in between), or still unshown now (a prefetch the
    camera never reached, or work for a view it has left).
    """

    def __init__(self) -> None:
        self.fetched = 0
        self._wasted = 0
        self._unshown: dict[Hashable, int] = {}  # key -> fetches since it was last shown

    def reset(self) -> None:
        """Count from now on only (tiles fetched earlier are neither fetched nor wasted)."""
        self.fetched = self._wasted = 0
        self._unshown.clear()

    def on_fetched(self, key: Hashable) -> None:
        """``key`` was read from the source."""
        self.fetched += 1
        self._unshown[key] = self._unshown.get(key, 0) + 1
        if len(self._unshown) > MAX_UNSHOWN:
            oldest = next(iter(self._unshown))
            self._wasted += self._unshown.pop(oldest)

    def on_shown(self, key: Hashable) -> None:
        """``key`` went to the GPU because a view needed it."""
        count = self._unshown.pop(key, 0)
        if count > 1:
            self._wasted += count - 1

    @property
    def wasted(self) -> int:
        """Fetches whose tile has not been shown since (or was read again first)."""
        return self._wasted + sum(self._unshown.values())
