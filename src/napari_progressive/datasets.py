"""Synthetic datasets that need no files."""

from __future__ import annotations

from napari_progressive.sources.mandelbrot import MandelbrotSource


def mandelbrot(levels: int = 18, tile: int = 512, max_iter: int = 500) -> MandelbrotSource:
    """The Mandelbrot set as a ``levels``-level pyramid of ``tile``-px tiles.

    The default is 18 levels, 134,217,728 px on a side.
    """
    return MandelbrotSource(levels=levels, tile=tile, max_iter=max_iter)
