"""Tile shapes for levels read through a chunk cache.

A tile is what one worker reads and the GPU stores. Stores with small
native chunks (64^3 bricks) or huge ones (4096^2) get tiles sized for the
screen instead: one plane deep on every axis but the last two, and on those
the native chunk grown or cut by whole factors to between ``MIN_TILE`` and
``MAX_TILE``. The shared tensorstore cache keeps the decoded native chunk,
so the tiles and planes cut from it are read once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

MIN_TILE = 256
MAX_TILE = 1024
#: Tile side when the data states no chunking (plain numpy arrays).
DEFAULT_TILE = 512


def _fit(native: int | None, size: int) -> int:
    """One in-plane tile side: the native chunk scaled into range, clipped to ``size``."""
    n = native or DEFAULT_TILE
    while n < MIN_TILE:
        n *= 2
    while n > MAX_TILE and n % 2 == 0:
        n //= 2
    return max(1, min(n, size))


def tile_shape(native: Sequence[int | None], shape: Sequence[int]) -> tuple[int, ...]:
    """The tile shape of a level with chunk shape ``native`` and ``shape``."""
    ndim = len(shape)
    return tuple(_fit(native[a], shape[a]) if a >= ndim - 2 else 1 for a in range(ndim))
