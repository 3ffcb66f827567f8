"""Synthetic Mandelbrot pyramid computed per tile on demand.

Every level samples the same function at its own pixel centres (the pixel
convention of ``napari_progressive.core.geometry``), so levels line up
exactly. Values are uint8: 0 inside the set, 1..255 a smooth escape count
wrapped so that structure stays visible at any depth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from napari_progressive.core.errors import SourceError
from napari_progressive.core.geometry import Level, block_pyramid
from napari_progressive.sources.uri_options import parse_uri_options

#: Region of the complex plane shown at full extent: real, imaginary origin and size.
REAL_MIN, IMAG_MIN, EXTENT = -2.6, -2.0, 4.0


@njit(nogil=True, cache=True, fastmath=True)
def _escape_tile(
    x0: float, y0: float, step: float, out: np.ndarray, max_iter: int
) -> None:  # pragma: no cover - compiled
    h, w = out.shape
    for r in range(h):
        ci = y0 + (r + 0.5) * step
        for c in range(w):
            cr = x0 + (c + 0.5) * step
            xq = cr - 0.25
            q = xq * xq + ci * ci
            if q * (q + xq) <= 0.25 * ci * ci or (cr + 1.0) ** 2 + ci * ci <= 0.0625:
                out[r, c] = 0  # main cardioid or period-2 bulb
                continue
            zr = 0.0
            zi = 0.0
            n = 0
            zr2 = 0.0
            zi2 = 0.0
            while n < max_iter and zr2 + zi2 <= 256.0:
                zi = 2.0 * zr * zi + ci
                zr = zr2 - zi2 + cr
                zr2 = zr * zr
                zi2 = zi * zi
                n += 1
            if n >= max_iter:
                out[r, c] = 0
            else:
                smooth = n + 1.0 - math.log(math.log(zr2 + zi2) * 0.5) / math.log(2.0)
                out[r, c] = 1 + int(math.sqrt(max(smooth, 0.0)) * 24.0) % 255


class MandelbrotSource:
    """A ``levels``-level, uint8 Mandelbrot pyramid with square ``tile`` chunks.

    Level 0 is ``tile * 2**levels`` pixels on a side, so the coarsest level is
    two tiles across (18 levels of 512 px tiles: 134,217,728 px).
    """

    def __init__(self, levels: int = 18, tile: int = 512, max_iter: int = 500) -> None:
        if levels < 1 or tile < 1:
            raise ValueError(f"levels and tile must be >= 1, got {levels}, {tile}")
        self.size = tile * 2**levels
        self.max_iter = max_iter
        self._levels: tuple[Level, ...] = block_pyramid(
            (self.size, self.size), (tile, tile), np.uint8, levels
        )

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        return f"mandelbrot-{len(self._levels)}x{self._levels[0].chunks[0]}"

    @property
    def levels(self) -> tuple[Level, ...]:
        """Levels from finest to coarsest."""
        return self._levels

    #: Tiles are computed on the CPU, not read.
    compute_bound = True

    @property
    def identity(self) -> str:
        """The generator and its parameters (tiles are the same in every run)."""
        tile = self._levels[0].chunks[0]
        return f"mandelbrot:levels={len(self._levels)},tile={tile},max_iter={self.max_iter}"

    def complex_at(self, row: float, col: float) -> complex:
        """The complex number at level-0 data coordinate (row, col)."""
        step = EXTENT / self.size
        return complex(REAL_MIN + (col + 0.5) * step, IMAG_MIN + (row + 0.5) * step)

    def data_coord_of(self, z: complex) -> tuple[float, float]:
        """Level-0 data coordinate (row, col) of complex number ``z``."""
        step = EXTENT / self.size
        return ((z.imag - IMAG_MIN) / step - 0.5, (z.real - REAL_MIN) / step - 0.5)

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Compute one tile (about 20-40 ms for 512 px on one core)."""
        lv = self._levels[level]
        rows, cols = lv.chunk_slices(index)
        step = EXTENT / self.size * lv.scale[0]
        out = np.empty((rows.stop - rows.start, cols.stop - cols.start), np.uint8)
        _escape_tile(
            REAL_MIN + cols.start * step,
            IMAG_MIN + rows.start * step,
            step,
            out,
            self.max_iter,
        )
        return out


MANDELBROT_SCHEME = "mandelbrot://"


#: Allowed range of each URI option: level 0 stays within 2**31 px a side (int64
#: pixel counts, float64 coordinates), a tile within 16 MiB, a tile's compute bounded.
MANDELBROT_LIMITS = {"levels": (1, 31), "tile": (1, 4096), "max_iter": (1, 100_000)}
MAX_MANDELBROT_SIDE = 2**31


def parse_mandelbrot_uri(uri: str) -> dict[str, int]:
    """Options of ``mandelbrot://levels=18,tile=512`` (all optional, each in range)."""
    options = parse_uri_options(uri, MANDELBROT_SCHEME, MANDELBROT_LIMITS)
    side = options.get("tile", 512) * 2 ** options.get("levels", 18)
    if side > MAX_MANDELBROT_SIDE:
        raise SourceError(
            f"{uri!r}: tile * 2**levels is {side} px, over {MAX_MANDELBROT_SIDE} (2**31)"
        )
    return options


def mandelbrot_display(levels: int) -> dict[str, Any]:
    """Display defaults of the Mandelbrot demo (layer name, colormap, contrast)."""
    return {
        "name": f"Mandelbrot ({levels} levels)",
        "colormap": "twilight_shifted",
        "contrast_limits": (0, 255),
    }
