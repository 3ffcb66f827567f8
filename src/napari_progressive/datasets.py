"""Synthetic datasets that need no files."""

from __future__ import annotations

from napari_progressive.sources.mandelbrot import MandelbrotSource
from napari_progressive.sources.mandelbulb import MandelbulbSource


def mandelbrot(levels: int = 18, tile: int = 512, max_iter: int = 500) -> MandelbrotSource:
    """The Mandelbrot set as a ``levels``-level pyramid of ``tile``-px tiles.

    The default is 18 levels, 134,217,728 px on a side.
    """
    return MandelbrotSource(levels=levels, tile=tile, max_iter=max_iter)


def mandelbulb(
    levels: int = 15, chunk: int = 32, max_iter: int = 24, times: int = 0
) -> MandelbulbSource:
    """The power-8 Mandelbulb as a ``levels``-level pyramid of ``chunk``-voxel bricks.

    The default is 15 levels, 1,048,576 voxels on a side (down to 64**3);
    ``times`` > 0 makes it a time-lapse (t, z, y, x) of the bulb turning.
    """
    return MandelbulbSource(levels=levels, chunk=chunk, max_iter=max_iter, times=times)
