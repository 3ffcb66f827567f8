"""Work that leaves the main thread: frozen requests, immutable results.

A request carries everything its worker needs and is a picklable
module-level dataclass, so the same requests run on the shared thread pool
or on ``dask.distributed`` workers (the source travels once, through
``Executor.share``). ``FetchTile`` reads the chunks a tile lacks (through the
disk tier) and cuts the tile; ``CutTile`` only cuts and maps chunks already in
memory (a colormap change, a new plane of cached chunks).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.tiles import cut_tile, tile_chunks

if TYPE_CHECKING:
    from collections.abc import Callable

    from napari_progressive.core.disk_cache import DiskCache
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.tiles import ChunkKey, TileKey


@dataclass(frozen=True)
class DiskTier:
    """A source's place in the persistent cache: the cache and the source's identity."""

    cache: DiskCache
    identity: str


@dataclass(frozen=True)
class TileResult:
    """A worker's answer: the chunks it read (to cache) and the tile's texture."""

    key: TileKey
    read: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture: np.ndarray
    mapping: int
    worker: str


@dataclass(frozen=True)
class FetchTile:
    """Read the chunks of ``key`` not in ``cached``, cut the tile and make its texture.

    Called with the source as its one argument: an executor hands the source
    over as an argument (a cluster resolves its reference to the source there).
    """

    key: TileKey
    cached: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture_of: Callable[[np.ndarray], np.ndarray]
    mapping: int
    disk: DiskTier | None = None

    def __call__(self, source: MultiscaleSource) -> TileResult:
        """Run on a worker."""
        level = source.levels[self.key.level]
        have = dict(self.cached)
        read = tuple(
            (c, read_chunk(source, c.level, c.index, self.disk))
            for c in tile_chunks(level, self.key)
            if c not in have
        )
        texture = self.texture_of(cut_tile(level, self.key, {**have, **dict(read)}))
        return TileResult(self.key, read, texture, self.mapping, threading.current_thread().name)


@dataclass(frozen=True)
class CutTile:
    """Cut a tile from chunks in memory and make its texture (no I/O)."""

    level: Any  # a ``Level``
    key: TileKey
    cached: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture_of: Callable[[np.ndarray], np.ndarray]
    mapping: int

    def __call__(self) -> TileResult:
        """Run on a worker."""
        texture = self.texture_of(cut_tile(self.level, self.key, dict(self.cached)))
        return TileResult(self.key, (), texture, self.mapping, threading.current_thread().name)


def read_chunk(
    source: MultiscaleSource, level: int, index: tuple[int, ...], disk: DiskTier | None = None
) -> np.ndarray:
    """Chunk ``index`` of ``level``, checked against its shape, through the disk tier if any."""
    lv = source.levels[level]
    expected = tuple(s.stop - s.start for s in lv.chunk_slices(index))
    disk_key = None
    if disk is not None:
        disk_key = disk.cache.key(disk.identity, level, lv, index)
        stored = disk.cache.get(disk_key)
        if stored is not None and stored.shape == expected:
            return stored
    try:
        chunk = np.asarray(source.read_chunk(level, index))
    except ChunkReadError:
        raise
    except Exception as e:
        raise ChunkReadError(source.name, level, index, f"{type(e).__name__}: {e}") from e
    if chunk.shape != expected:
        raise ChunkReadError(
            source.name, level, index, f"chunk has shape {chunk.shape}, expected {expected}"
        )
    if disk is not None and disk_key is not None:
        disk.cache.put(disk_key, chunk)
    return chunk
