"""Label images shown through a 256-colour categorical palette.

A worker maps every label value to a colour index before upload: 0 stays
0 (transparent background), values with a colour of their own (OME-Zarr
``image-label`` ``colors``) take indices ``1..k``, and every other value
cycles through the remaining indices. Indices are uint8, so labels of any
width (uint64 included) upload as one byte per pixel, and nearest-neighbour
display keeps edges sharp.
"""

from __future__ import annotations

import colorsys
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.geometry import Level

if TYPE_CHECKING:
    from collections.abc import Mapping

    from napari_progressive.sources.protocol import MultiscaleSource

PALETTE_SIZE = 256
#: Explicit colours beyond this many share the cycling indices.
MAX_EXPLICIT = 64

RGBA = tuple[float, float, float, float]


class LabelColorSource:
    """A label source read as uint8 colour indices (see the module docstring)."""

    def __init__(self, source: MultiscaleSource, colors: Mapping[int, RGBA] | None = None) -> None:
        self._source = source
        explicit = sorted((colors or {}).items())[:MAX_EXPLICIT]
        self.explicit_values = np.array([v for v, _ in explicit if v != 0], dtype=np.int64)
        self.explicit_colors = [c for v, c in explicit if v != 0]
        self._levels = tuple(
            Level(lv.shape, lv.chunks, np.dtype(np.uint8), lv.scale, lv.translate)
            for lv in source.levels
        )

    @property
    def name(self) -> str:
        """The wrapped source's name."""
        return self._source.name

    @property
    def levels(self) -> tuple[Level, ...]:
        """The wrapped levels, as uint8."""
        return self._levels

    @property
    def labels(self) -> MultiscaleSource:
        """The source of the label values themselves."""
        return self._source

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Read label values and map them to colour indices."""
        return self.color_index(np.asarray(self._source.read_chunk(level, index)))

    def color_index(self, values: np.ndarray) -> np.ndarray:
        """Colour indices of label ``values``."""
        k = len(self.explicit_values)
        cycle = PALETTE_SIZE - 1 - k
        v = values.astype(np.int64, copy=False) if values.dtype != np.uint64 else values
        out = (np.mod(v - 1, cycle) + 1 + k).astype(np.uint8)
        out[values == 0] = 0
        if k:
            explicit = self.explicit_values.astype(v.dtype)
            pos_clipped = np.minimum(np.searchsorted(explicit, v), k - 1)
            hit = explicit[pos_clipped] == v
            out[hit] = (pos_clipped[hit] + 1).astype(np.uint8)
        return out

    def palette(self, seed: int = 0) -> np.ndarray:
        """RGBA colours (256 x 4, in 0..1) of the indices."""
        hues = np.random.default_rng(seed).random(PALETTE_SIZE)
        colors = np.array([(*colorsys.hsv_to_rgb(h, 0.75, 0.95), 1.0) for h in hues])
        colors[0] = 0.0
        for i, c in enumerate(self.explicit_colors, start=1):
            colors[i] = c
        return colors
