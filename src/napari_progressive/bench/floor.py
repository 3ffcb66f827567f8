"""The fetch floor: what a view needs, read as fast as the storage allows, then uploaded.

For each step the floor reads the chunks of the progressive layers' final
views (2D: the tiles of the target level; 3D: the finest planned bricks, no
coarser ancestors, no prefetch) with every request in flight at once
(tensorstore for zarr levels, a thread per core for computed ones), pays
the injected per-chunk latency once (it overlaps), and uploads the cut
tiles or bricks to one texture with a single finish. "Full resolution"
divided by this is how far a layer is from the best any loader could do.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.core.bricks import BRICK_TEXELS
from napari_progressive.core.executor import cpu_cores
from napari_progressive.core.fetch import cut_piece, piece_chunks
from napari_progressive.core.formats import texture_format, to_texture
from napari_progressive.sources.arrays import ArrayPyramidSource

if TYPE_CHECKING:
    from collections.abc import Sequence

    from napari_progressive.core.bricks import PieceKey
    from napari_progressive.core.source import MultiscaleSource
    from napari_progressive.core.tiles import ChunkKey

#: Side of the texture the floor uploads 2D tiles into (tiles wrap around inside it).
UPLOAD_SIDE = 2048
#: Bricks along each side of the 3D texture the floor uploads bricks into.
UPLOAD_BRICKS = 8


class FetchFloor:
    """Reads and uploads the tiles of a view as directly as possible."""

    def __init__(self, scene_canvas: Any, latency: float) -> None:
        self._canvas = scene_canvas
        self._latency = latency
        self._stores: dict[int, list[Any] | None] = {}
        self._textures: dict[str, Any] = {}

    def measure(self, needs: Sequence[tuple[MultiscaleSource, Sequence[PieceKey]]]) -> dict:
        """Seconds to read and to upload every ``(source, keys)`` pair at once."""
        if not any(keys for _, keys in needs):
            return {"floor_read_s": 0.0, "floor_upload_s": 0.0, "floor_s": 0.0, "floor_chunks": 0}
        wanted = [
            (source, sorted({c for k in keys for c in piece_chunks(source.levels[k.level], k)}))
            for source, keys in needs
        ]
        t0 = time.perf_counter()
        chunks = self._read_all(wanted)
        read = time.perf_counter() - t0 + self._latency
        cuts = []
        for (source, keys), got in zip(needs, chunks, strict=True):
            for key in keys:
                piece = cut_piece(source.levels[key.level], key, got)
                cuts.append(to_texture(piece, texture_format(piece.dtype)))
        upload = self._upload(cuts)
        return {
            "floor_read_s": read,
            "floor_upload_s": upload,
            "floor_s": read + upload,
            "floor_chunks": sum(len(c) for _, c in wanted),
        }

    def _read_all(
        self, needs: Sequence[tuple[MultiscaleSource, Sequence[ChunkKey]]]
    ) -> list[dict[ChunkKey, np.ndarray]]:
        """Every chunk at once: tensorstore reads, or computed chunks on a thread per core."""
        with ThreadPoolExecutor(cpu_cores()) as pool:
            futures: list[list[tuple[ChunkKey, Any]]] = []
            for source, keys in needs:
                stores = self._tensorstores(source)
                mine = []
                for key in keys:
                    if stores is None:
                        mine.append((key, pool.submit(source.read_chunk, key.level, key.index)))
                    else:
                        sl = source.levels[key.level].chunk_slices(key.index)
                        mine.append((key, stores[key.level][sl].read()))
                futures.append(mine)
            return [{k: np.asarray(f.result()) for k, f in mine} for mine in futures]

    def _tensorstores(self, source: MultiscaleSource) -> list[Any] | None:
        """Each level opened with tensorstore (no cache) when it is a zarr array on disk."""
        if id(source) not in self._stores:
            self._stores[id(source)] = _open_zarr_levels(source)
        return self._stores[id(source)]

    def _upload(self, cuts: list[np.ndarray]) -> float:
        from vispy import gloo
        from vispy.gloo import gl

        self._canvas.set_current()
        context = self._canvas.context
        by_format: dict[str, list[np.ndarray]] = {}
        for cut in cuts:
            name = f"{texture_format(cut.dtype).internalformat}/{cut.ndim}"
            by_format.setdefault(name, []).append(cut)
        for name in by_format:
            if name not in self._textures:
                self._textures[name] = _texture(gloo, *name.split("/"))
        context.flush_commands()
        gl.glFinish()
        t0 = time.perf_counter()
        for name, group in by_format.items():
            texture = self._textures[name]
            for i, cut in enumerate(group):
                texture.set_data(cut[..., np.newaxis], offset=_offset(cut, i))
        context.flush_commands()
        gl.glFinish()
        return time.perf_counter() - t0


def _texture(gloo: Any, internalformat: str, ndim: str) -> Any:
    """The floor's upload target: a 2D texture for tiles, a 3D one for bricks."""
    if ndim == "3":
        side = UPLOAD_BRICKS * BRICK_TEXELS
        return gloo.Texture3D(
            shape=(side, side, side, 1), internalformat=internalformat, format="red"
        )
    return gloo.Texture2D(
        shape=(UPLOAD_SIDE, UPLOAD_SIDE, 1), internalformat=internalformat, format="red"
    )


def _offset(cut: np.ndarray, i: int) -> tuple[int, ...]:
    """Where the ``i``-th tile or brick goes (they wrap around inside the texture)."""
    if cut.ndim == 3:
        slot = i % UPLOAD_BRICKS**3
        d, rest = divmod(slot, UPLOAD_BRICKS**2)
        r, c = divmod(rest, UPLOAD_BRICKS)
        return d * BRICK_TEXELS, r * BRICK_TEXELS, c * BRICK_TEXELS
    h, w = cut.shape
    per_row = max(1, UPLOAD_SIDE // max(w, 1))
    slot = i % (per_row * max(1, UPLOAD_SIDE // max(h, 1)))
    return (slot // per_row) * h, (slot % per_row) * w


def _open_zarr_levels(source: MultiscaleSource) -> list[Any] | None:
    import tensorstore as ts

    inner = getattr(source, "inner", source)
    if not isinstance(inner, ArrayPyramidSource):
        return None
    urls = [str(getattr(a, "store_path", "")) for a in inner.arrays]
    if not all(u.startswith("file://") for u in urls):
        return None
    context = ts.Context({"cache_pool": {"total_bytes_limit": 0}})
    specs = [
        {"driver": f"zarr{_zarr_format(a)}", "kvstore": url + "/"}
        for a, url in zip(inner.arrays, urls, strict=True)
    ]
    return [ts.open(spec, context=context).result() for spec in specs]


def _zarr_format(array: Any) -> str:
    return "3" if getattr(array.metadata, "zarr_format", 2) == 3 else ""
