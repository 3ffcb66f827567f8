"""Transforms folded in float64 around a local origin, so no large coordinate reaches a shader.

Visuals draw positions relative to a local origin near the view; the
data-to-render transform and the origin are combined on the CPU in float64.
At 2^20 voxels a float32 position resolves only 1/8 voxel: folded, vertices
and rays near the origin stay exact.
"""

from __future__ import annotations

import numpy as np


def folded_matrix(transform: object, origin: np.ndarray) -> np.ndarray:
    """The matrix (vispy's row-vector layout) of ``transform`` for positions relative to ``origin``.

    ``origin`` has 2 or 3 coordinates (x, y[, z]). Exact for any chain of
    matrix transforms, projections included: it is linear in homogeneous
    coordinates.
    """
    o = np.zeros(4)
    o[: len(origin)] = origin
    o[3] = 1.0
    pts = o + np.vstack([np.zeros(4), np.eye(4)[:3]])
    mapped = np.asarray(transform.map(pts), dtype=np.float64)  # type: ignore[attr-defined]
    m = np.empty((4, 4))
    m[3] = mapped[0]
    m[:3] = mapped[1:] - mapped[0]
    return m


def snapped_origin(centre: np.ndarray, data_per_screen_px: float) -> np.ndarray:
    """A local origin near ``centre`` that stays put while the view moves a little.

    Snapped to a grid of about 4096 screen pixels: positions within a few
    thousand screen pixels of it are exact in float32.
    """
    step = 2.0 ** np.ceil(np.log2(max(data_per_screen_px, 1e-12) * 4096))
    return np.floor(np.asarray(centre, dtype=float) / step) * step
