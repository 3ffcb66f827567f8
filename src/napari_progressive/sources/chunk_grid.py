"""The chunk grid a source states for a level: the store's own, bounded.

The unit of reading and caching is the level's chunk (``core.tiles.ChunkKey``);
the display tiles are cut from chunks in core (``core.tiles.tile_shape``). A
level's chunk is its store's native chunk, with three exceptions:

* axes the store does not chunk take ``DEFAULT_CHUNK`` on the last two and
  one plane elsewhere (``default_chunks``);
* a side longer than the level is clipped to it;
* a chunk of more than ``MAX_READ_BYTES`` is read in whole fractions of it:
  its longest even side is halved until the box fits, so every box lies
  inside one store chunk and the store's chunk cache (tensorstore's) decodes
  that chunk once for all of its boxes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Chunk side on the last two axes of data that states no chunking.
DEFAULT_CHUNK = 512
#: The most bytes one read of a store-backed level holds (1024^2 float64).
MAX_READ_BYTES = 8 * 2**20


def default_chunks(shape: Sequence[int]) -> tuple[int, ...]:
    """The grid of data that states none: ``DEFAULT_CHUNK`` in the plane, one plane deep."""
    n = len(shape)
    return tuple(min(DEFAULT_CHUNK, s) if a >= n - 2 else 1 for a, s in enumerate(shape))


def read_chunks(
    native: Sequence[int | None], shape: Sequence[int], dtype: np.dtype
) -> tuple[int, ...]:
    """The chunk read of a level with store chunk ``native`` (None: not stated) and ``shape``."""
    chunks = [min(c or d, s) for c, d, s in zip(native, default_chunks(shape), shape, strict=True)]
    itemsize = np.dtype(dtype).itemsize
    while math.prod(chunks) * itemsize > MAX_READ_BYTES:
        even = [a for a, c in enumerate(chunks) if c % 2 == 0]
        if not even:
            break
        chunks[max(even, key=chunks.__getitem__)] //= 2
    return tuple(chunks)
