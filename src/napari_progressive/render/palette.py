"""One distinct colour per pyramid level, for the scale-debug overlay."""

from __future__ import annotations

import numpy as np

# Distinct, saturated colours (RGB 0..1); level l uses entry l modulo the length.
_LEVEL_COLOURS = np.array(
    [
        (0.90, 0.10, 0.29),
        (0.24, 0.71, 0.29),
        (1.00, 0.88, 0.10),
        (0.00, 0.51, 0.78),
        (0.96, 0.51, 0.19),
        (0.57, 0.12, 0.71),
        (0.27, 0.94, 0.94),
        (0.94, 0.20, 0.90),
        (0.82, 0.96, 0.24),
        (0.98, 0.75, 0.83),
        (0.00, 0.50, 0.50),
        (0.86, 0.75, 1.00),
        (0.67, 0.43, 0.16),
        (1.00, 0.98, 0.78),
        (0.50, 0.00, 0.00),
        (0.67, 1.00, 0.76),
        (0.50, 0.50, 0.00),
        (1.00, 0.84, 0.71),
        (0.00, 0.00, 0.50),
        (0.50, 0.50, 0.50),
    ],
    dtype=np.float32,
)

#: Colour of the hatch drawn over a tile whose chunk failed to load.
FAILED_COLOUR = (1.0, 0.0, 0.0)


def level_colour(level: int) -> tuple[float, float, float]:
    """RGB (0..1) of ``level`` in the overlay."""
    r, g, b = _LEVEL_COLOURS[level % len(_LEVEL_COLOURS)]
    return float(r), float(g), float(b)


def level_colour_hex(level: int) -> str:
    """``#rrggbb`` of ``level``, for legends."""
    return "#" + "".join(f"{round(c * 255):02x}" for c in level_colour(level))
