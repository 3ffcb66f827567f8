"""The coarsest level as one volume: what a 3D view shows until bricks land.

napari draws a multiscale image in 3D from its coarsest level. A progressive
layer does the same, without reading on the main thread: ``volume_box`` finds
the box of the coarsest level that a 3D view shows (the displayed axes whole,
the other axes at the view's point) and a worker runs ``ReadVolume``, which
reads the box's chunks (through the disk tier) and assembles them.

The volume is assembled in the texture's dtype, so the main thread only
uploads it. A box larger than a 3D texture allows (or than ``MAX_VOLUME_BYTES``) is kept
every ``stride``-th voxel while it is assembled, so memory stays bounded by
one chunk plus the strided volume; its chunks are then not cached.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.fetch import read_chunk
from napari_progressive.core.tiles import ChunkKey

if TYPE_CHECKING:
    from napari_progressive.core.fetch import DiskTier
    from napari_progressive.core.geometry import Level, LevelMapping
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.view import VolumeView

#: The most bytes the coarse volume may take in host memory (and as a texture).
MAX_VOLUME_BYTES = 256 * 2**20
#: The longest side of the coarse volume (the smallest 3D texture limit in use).
MAX_VOLUME_SIDE = 2048


@dataclass(frozen=True)
class VolumeBox:
    """The part of one level that a 3D view shows, and how it is strided."""

    level: int
    displayed: tuple[int, ...]
    box: tuple[slice, ...]
    stride: int
    dtype: np.dtype

    def chunks(self, level: Level) -> tuple[ChunkKey, ...]:
        """The chunks of ``level`` the box crosses, in C order."""
        ranges = [
            range(s.start // c, -(-s.stop // c))
            for s, c in zip(self.box, level.chunks, strict=True)
        ]
        return tuple(ChunkKey(self.level, tuple(index)) for index in product(*ranges))


@dataclass(frozen=True)
class CoarseVolume:
    """An assembled volume: the box it shows and its values (displayed axes order)."""

    box: VolumeBox
    values: np.ndarray


@dataclass(frozen=True)
class VolumeResult:
    """A worker's answer: the chunks it read (to cache, unless strided) and the volume."""

    volume: CoarseVolume
    read: tuple[tuple[ChunkKey, np.ndarray], ...]
    worker: str


def volume_box(
    levels: tuple[Level, ...],
    mappings: tuple[LevelMapping, ...],
    view: VolumeView,
    dtype: np.dtype | None = None,
    *,
    max_bytes: int = MAX_VOLUME_BYTES,
    max_side: int = MAX_VOLUME_SIDE,
) -> VolumeBox:
    """The coarsest level's box for ``view``: displayed axes whole, others at the point.

    ``dtype`` is what the volume is assembled in (default: the level's).
    """
    last = len(levels) - 1
    level = levels[last]
    dt = np.dtype(dtype if dtype is not None else level.dtype)
    pixel = mappings[last].pixel_of(np.asarray(view.point, dtype=float))
    box = tuple(
        slice(0, n) if a in view.displayed else slice(p, p + 1)
        for a, (n, p) in enumerate(
            zip(level.shape, np.clip(pixel, 0, np.asarray(level.shape) - 1), strict=True)
        )
    )
    sides = [level.shape[a] for a in view.displayed]
    stride = max(1, math.ceil(max(sides) / max_side))
    voxels = math.prod(-(-s // stride) for s in sides)
    while voxels * dt.itemsize > max_bytes:
        stride += 1
        voxels = math.prod(-(-s // stride) for s in sides)
    box = tuple(slice(int(s.start), int(s.stop)) for s in box)
    return VolumeBox(last, view.displayed, box, stride, dt)


@dataclass(frozen=True)
class ReadVolume:
    """Read the chunks of ``box`` not in ``cached`` and assemble the volume.

    Called with the source as its one argument, like ``FetchPiece``.
    """

    box: VolumeBox
    cached: tuple[tuple[ChunkKey, np.ndarray], ...]
    disk: DiskTier | None = None

    def __call__(self, source: MultiscaleSource) -> VolumeResult:
        """Run on a worker."""
        level = source.levels[self.box.level]
        have = dict(self.cached)
        keep = self.box.stride == 1  # strided boxes are too big to cache
        data_axes = sorted(self.box.displayed)
        sides = [
            -(-(self.box.box[a].stop - self.box.box[a].start) // self.box.stride) for a in data_axes
        ]
        out = np.empty(sides, dtype=self.box.dtype)  # displayed axes in data order
        read = []
        for c in self.box.chunks(level):
            values = have.get(c)
            if values is None:
                values = read_chunk(source, c.level, c.index, self.disk)
                if keep:
                    read.append((c, values))
            _paste(out, values, level.chunk_slices(c.index), self.box)
        out = np.ascontiguousarray(out.transpose([data_axes.index(a) for a in self.box.displayed]))
        volume = CoarseVolume(self.box, out)
        return VolumeResult(volume, tuple(read), threading.current_thread().name)


def _paste(out: np.ndarray, chunk: np.ndarray, where: tuple[slice, ...], box: VolumeBox) -> None:
    """Copy the strided part of ``chunk`` (at ``where`` in the level) into ``out``.

    ``out`` holds the box's displayed axes in data order.
    """
    s = box.stride
    src: list[slice | int] = []
    dst: list[slice] = []
    for a, (w, b) in enumerate(zip(where, box.box, strict=True)):
        if a not in box.displayed:
            src.append(b.start - w.start)
            continue
        lo, hi = max(w.start, b.start), min(w.stop, b.stop)
        first = lo + (b.start - lo) % s  # the first kept voxel at or after lo
        if first >= hi:
            return
        start = (first - b.start) // s
        src.append(slice(first - w.start, hi - w.start, s))
        dst.append(slice(start, start + -(-(hi - first) // s)))
    out[tuple(dst)] = chunk[tuple(src)]
