"""The frozen description of what one canvas shows of one layer."""

from __future__ import annotations

from dataclasses import dataclass


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
