"""Test pyramids whose pixel values say which level and position they come from."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from napari_progressive.core.geometry import block_pyramid
from napari_progressive.sources.arrays import ArrayPyramidSource


def encoded_level(level: int, shape: tuple[int, int]) -> np.ndarray:
    """uint8 values from level and pixel index; neighbours differ by >= 7."""
    i, j = np.indices(shape)
    return ((i * 7 + j * 13 + level * 101) % 251 + 3).astype(np.uint8)


def encoded_pyramid(shape=(700, 520), chunks=(128, 128), n_levels=4) -> ArrayPyramidSource:
    levels = block_pyramid(shape, chunks, np.uint8, n_levels)
    arrays = [encoded_level(i, lv.shape) for i, lv in enumerate(levels)]
    return ArrayPyramidSource(arrays, name="encoded", chunks=chunks)


class InstrumentedSource:
    """Wraps a source: records reading threads, adds latency, fails chosen chunks."""

    def __init__(self, inner, delay=0.0, delay_levels=None, fail=()):
        self.inner = inner
        self.delay = delay
        self.delay_levels = delay_levels
        self.fail = set(fail)
        self.reads: list[tuple[int, tuple[int, ...], str]] = []
        self._lock = threading.Lock()

    @property
    def name(self):
        return "instrumented-" + self.inner.name

    @property
    def levels(self):
        return self.inner.levels

    def read_chunk(self, level, index):
        with self._lock:
            self.reads.append((level, tuple(index), threading.current_thread().name))
        if self.delay and (self.delay_levels is None or level in self.delay_levels):
            time.sleep(self.delay)
        if (level, tuple(index)) in self.fail:
            raise OSError(f"injected failure at level {level} chunk {index}")
        return self.inner.read_chunk(level, index)

    def main_thread_reads(self):
        main = threading.main_thread().name
        return [r for r in self.reads if r[2] == main]


def expected_image(source, level, centre, zoom, canvas_hw, tol=0.02):
    """What a nearest-sampled screenshot must show, and where it is well-defined.

    Returns (values, mask): ``values`` the level's value at each screen pixel
    centre (0 outside the data) and ``mask`` True where the pixel centre is not
    within ``tol`` of a level-pixel edge.
    """
    h, w = canvas_hw
    rows = centre[0] + (np.arange(h) + 0.5 - h / 2) / zoom
    cols = centre[1] + (np.arange(w) + 0.5 - w / 2) / zoom
    f = 2**level
    lv = source.levels[level]
    data = encoded_level(level, lv.shape)

    def index(coord, n):
        u = (coord + 0.5) / f
        idx = np.floor(u).astype(np.int64)
        frac = u - idx
        ok = (frac > tol) & (frac < 1 - tol)
        inside = (idx >= 0) & (idx < n)
        return idx, ok, inside

    ri, rok, rin = index(rows, lv.shape[0])
    ci, cok, cin = index(cols, lv.shape[1])
    inside = rin[:, None] & cin[None, :]
    values = np.zeros((h, w), np.uint8)
    values[inside] = data[
        np.clip(ri, 0, lv.shape[0] - 1)[:, None], np.clip(ci, 0, lv.shape[1] - 1)[None, :]
    ][inside]
    mask = rok[:, None] & cok[None, :]
    # the outer edge of the data also counts as an edge
    return values, mask


def expected_level(n_levels: int, zoom: float) -> int:
    """Coarsest level whose pixels are at most one screen pixel (level-0 scale 1)."""
    data_per_px = 1 / zoom
    return (
        max(0, min(n_levels - 1, math.floor(math.log2(data_per_px + 1e-12))))
        if data_per_px >= 1
        else 0
    )
