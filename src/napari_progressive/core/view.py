"""The frozen description of what one canvas shows of one layer: a 2D slice or a 3D view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SliceView:
    """What a 2D canvas shows, in the layer's level-0 data coordinates.

    Attributes
    ----------
    displayed
        Data axes shown as (rows, columns) of the canvas.
    lo, hi
        Axis-aligned bounds of the visible region along ``displayed``.
    data_per_screen_px
        How many level-0 pixels one screen pixel spans (the finest displayed
        axis); this picks the level whose pixels match screen pixels.
    point
        Level-0 data coordinate of the slice, one value per axis; only the
        axes that are not displayed are used.
    canvas
        Canvas size in screen pixels (height, width).
    """

    displayed: tuple[int, int]
    lo: tuple[float, float]
    hi: tuple[float, float]
    data_per_screen_px: float
    point: tuple[float, ...]
    canvas: tuple[int, int]

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the visible region."""
        return (
            (self.lo[0] + self.hi[0]) / 2,
            (self.lo[1] + self.hi[1]) / 2,
        )


Matrix4 = tuple[tuple[float, float, float, float], ...]


@dataclass(frozen=True)
class VolumeView:
    """What a 3D canvas shows, in the layer's level-0 data coordinates.

    Matrices act on column vectors of level-0 data coordinates along
    ``displayed``, in that order: ``clip = projection @ view @ (p, 1)``.

    Attributes
    ----------
    displayed
        Data axes shown in 3D, in napari's order (depth, rows, columns); a 2D
        layer on a 3D canvas shows two (rows, columns) as one plane, and the
        matrices then act on (0, rows, columns).
    point
        Level-0 data coordinate of the slice, one value per axis; only the
        axes that are not displayed are used.
    view
        Level-0 data -> eye coordinates (float64).
    projection
        Eye -> clip coordinates (orthographic or perspective, float64).
    canvas
        Canvas size in screen pixels (height, width).
    centre
        The camera's centre of rotation along ``displayed``.
    data_per_screen_px
        Level-0 pixels one screen pixel spans at ``centre``.
    """

    displayed: tuple[int, ...]
    point: tuple[float, ...]
    view: Matrix4
    projection: Matrix4
    canvas: tuple[int, int]
    centre: tuple[float, float, float]
    data_per_screen_px: float

    @property
    def to_clip(self) -> np.ndarray:
        """Level-0 data -> clip coordinates, one 4x4 float64 matrix."""
        return np.asarray(self.projection, dtype=float) @ np.asarray(self.view, dtype=float)
