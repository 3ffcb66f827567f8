"""A lazily computed dask pyramid: the common napari case of ``da.map_blocks`` over a kernel.

Each chunk runs a numpy Mandelbrot kernel (tens of ms per 256² chunk, in
Python-driven numpy steps that hold the GIL between them), so worker threads
compete with the UI thread for the interpreter. ``stored_copy`` writes the
same pyramid to a zarr store once, for the same path over stored data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from napari_progressive.sources.arrays import ArrayPyramidSource

#: Chunk side of every level.
CHUNK = 256
#: Escape-time iterations of the kernel (about 40 ms per chunk on this machine's cores).
ITERATIONS = 48
#: The complex plane the level-0 pixels span: real from -2, imaginary from -1.5, 3 wide.
ORIGIN = complex(-2.0, -1.5)
EXTENT = 3.0


def escape_times(rows: np.ndarray, cols: np.ndarray, pixel: float) -> np.ndarray:
    """uint8 escape times of the pixels at ``rows`` x ``cols`` (``pixel``: their size)."""
    c = (ORIGIN.real + (cols[None, :] + 0.5) * pixel) + 1j * (
        ORIGIN.imag + (rows[:, None] + 0.5) * pixel
    )
    z = np.zeros_like(c)
    out = np.zeros(c.shape, np.uint8)
    for i in range(ITERATIONS):
        z = z * z + c
        escaped = np.abs(z) > 2.0
        out[escaped & (out == 0)] = i + 1
        z[escaped] = 2.0
    return out


def dask_pyramid(side: int, levels: int) -> list[Any]:
    """``levels`` dask arrays, finest first, each chunk computed by ``escape_times``."""
    import dask.array as da

    out = []
    for lv in range(levels):
        n = side >> lv
        pixel = EXTENT / side * 2**lv

        def block(_: np.ndarray, block_info: Any = None, pixel: float = pixel) -> np.ndarray:
            (r0, r1), (c0, c1) = block_info[None]["array-location"]
            return escape_times(np.arange(r0, r1), np.arange(c0, c1), pixel)

        blank = da.zeros((n, n), dtype=np.uint8, chunks=min(CHUNK, n))
        out.append(blank.map_blocks(block, dtype=np.uint8))
    return out


def computed(side: int, levels: int) -> ArrayPyramidSource:
    """The pyramid as a source whose every read computes its chunk."""
    return ArrayPyramidSource(dask_pyramid(side, levels), name="dask-computed")


def stored_copy(side: int, levels: int) -> ArrayPyramidSource:
    """The same pyramid computed once into a local zarr store (chunks of ``CHUNK``)."""
    import zarr

    root = Path(tempfile.mkdtemp(prefix="np-bench-")) / "dask-stored.zarr"
    group = zarr.open_group(root, mode="w")
    arrays = []
    for lv, level in enumerate(dask_pyramid(side, levels)):
        n = level.shape[0]
        arr = group.create_array(
            str(lv), shape=level.shape, chunks=(min(CHUNK, n),) * 2, dtype=np.uint8
        )
        arr[...] = level.compute()
        arrays.append(arr)
    return ArrayPyramidSource(arrays, name="dask-stored")
