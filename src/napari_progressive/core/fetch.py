"""Work that leaves the main thread: frozen requests, immutable results.

A request carries everything its worker needs and is a picklable
module-level dataclass, so the same requests run on the shared thread pool
or on ``dask.distributed`` workers (the source travels once, through
``Executor.share``). A piece is a 2D tile (``TileKey``) or a 3D brick
(``BrickKey``). ``FetchPiece`` reads the chunks a piece lacks (through the
disk tier) and cuts the piece; ``CutPiece`` only cuts and maps chunks already
in memory (a colormap change, a new plane of cached chunks, a brick's border).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.bricks import BrickKey, brick_chunks, cut_brick
from napari_progressive.core.errors import ChunkReadError
from napari_progressive.core.page_table import value_range
from napari_progressive.core.tiles import cut_tile, tile_chunks

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from napari_progressive.core.bricks import PieceKey
    from napari_progressive.core.disk_cache import DiskCache
    from napari_progressive.core.geometry import Level
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.tiles import ChunkKey


@dataclass(frozen=True)
class DiskTier:
    """A source's place in the persistent cache: the cache and the source's identity."""

    cache: DiskCache
    identity: str


@dataclass(frozen=True)
class PieceResult:
    """A worker's answer: the chunks it read (to cache) and the piece's texture."""

    key: PieceKey
    read: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture: np.ndarray
    mapping: int
    worker: str
    #: A brick's lowest and highest texture value (``page_table.value_range``); None for tiles.
    values: tuple[float, float] | None = None


@dataclass(frozen=True)
class FetchPiece:
    """Read the chunks of ``key`` not in ``cached``, cut the piece and make its texture.

    Called with the source as its one argument: an executor hands the source
    over as an argument (a cluster resolves its reference to the source there).
    """

    key: PieceKey
    cached: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture_of: Callable[[np.ndarray], np.ndarray]
    mapping: int
    disk: DiskTier | None = None

    def __call__(self, source: MultiscaleSource) -> PieceResult:
        """Run on a worker."""
        level = source.levels[self.key.level]
        have = dict(self.cached)
        read = tuple(
            (c, read_chunk(source, c.level, c.index, self.disk))
            for c in piece_chunks(level, self.key)
            if c not in have
        )
        texture = self.texture_of(cut_piece(level, self.key, {**have, **dict(read)}))
        return _result(self.key, read, texture, self.mapping)


@dataclass(frozen=True)
class CutPiece:
    """Cut a piece from chunks in memory and make its texture (no I/O)."""

    level: Any  # a ``Level``
    key: PieceKey
    cached: tuple[tuple[ChunkKey, np.ndarray], ...]
    texture_of: Callable[[np.ndarray], np.ndarray]
    mapping: int

    def __call__(self) -> PieceResult:
        """Run on a worker."""
        texture = self.texture_of(cut_piece(self.level, self.key, dict(self.cached)))
        return _result(self.key, (), texture, self.mapping)


def _result(
    key: PieceKey,
    read: tuple[tuple[ChunkKey, np.ndarray], ...],
    texture: np.ndarray,
    mapping: int,
) -> PieceResult:
    """A worker's answer; a brick's value range is computed here, off the main thread."""
    values = value_range(texture) if isinstance(key, BrickKey) else None
    return PieceResult(key, read, texture, mapping, threading.current_thread().name, values)


def piece_chunks(level: Level, key: PieceKey) -> tuple[ChunkKey, ...]:
    """The chunks a tile or a brick is cut from."""
    return brick_chunks(level, key) if isinstance(key, BrickKey) else tile_chunks(level, key)


def cut_piece(level: Level, key: PieceKey, chunks: Mapping[ChunkKey, np.ndarray]) -> np.ndarray:
    """A tile's or a brick's values, cut from its chunks."""
    return (
        cut_brick(level, key, chunks) if isinstance(key, BrickKey) else cut_tile(level, key, chunks)
    )


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
