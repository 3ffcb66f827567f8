"""Synthetic Mandelbulb volume computed per brick on demand.

The power-8 Mandelbulb of White and Nylander: ``v -> v**8 + c`` in spherical
coordinates (radius to the 8th power, both angles times 8), the polar angle
measured from the z axis. The kernel computes it without trigonometry: with
``rho = |(x, y)|``, ``A = ((x + iy) / rho)**8`` and ``B = (z + i rho)**8``
(three complex squarings each), ``v**8 = (Re A Im B, Im A Im B, Re B)``.
(``B = (rho + iz)**8`` with ``(Re A Re B, Im A Re B, Im B)``, the latitude
form, is another bulb: it differs on about 40% of the inside.)

Array axes are (z, y, x) over the cube ``[-1.2, 1.2]**3``, which holds the
bulb. Every level samples the same function at its own voxel centres (the
pixel convention of ``napari_progressive.core.geometry``), so levels line up
exactly. Values are uint8: 0 outside the bulb (the orbit leaves radius 2
within ``max_iter`` steps), 1..255 inside, shaded by an orbit trap (the
smallest radius the orbit comes to), so a projection shows structure inside
the silhouette.

Time per 32**3 brick on one core (a 2-core Xeon VM, max_iter 24): 4.9 ms
all inside (the worst case: every voxel runs max_iter steps), 4.1 ms for a
level-10 brick across the surface, 0.2-0.5 ms all outside; a brick of the
coarsest level (64**3, eight bricks, each across the surface) 1.6 ms, the
whole level 13 ms. The trig form takes 47 ms for the inside brick.

A 2D view reads the bricks that cross its plane: it computes 32 planes of
voxels for each plane it shows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from napari_progressive.core.errors import SourceError
from napari_progressive.core.geometry import Level, block_pyramid
from napari_progressive.sources.uri_options import parse_uri_options

#: The cube sampled at full extent: its lowest corner (on every axis) and its side.
CUBE_MIN, CUBE_SIDE = -1.2, 2.4
#: Orbit trap radius shown as the brightest inside value.
TRAP_RADIUS = 0.72
#: The time-lapse's turn about the z axis over the whole movie (radians): one
#: period of the bulb's eightfold symmetry, so the last frame leads to the first.
TURN = math.pi / 4
#: Camera angles of the 3D view (napari's Euler angles, degrees): z upright, from above.
VIEW_ANGLES = (10.0, -30.0, 110.0)


@njit(nogil=True, cache=True, fastmath=True)
def _bulb_box(
    x0: float,
    y0: float,
    z0: float,
    step: float,
    out: np.ndarray,
    max_iter: int,
    cos_turn: float = 1.0,
    sin_turn: float = 0.0,
) -> None:  # pragma: no cover - compiled
    """Voxel (k, j, i) of ``out`` samples c = (x0, y0, z0) + ((i, j, k) + 0.5) * step.

    ``c`` is turned about the z axis by the angle of ``cos_turn`` and
    ``sin_turn`` first (the time-lapse). A row of voxels iterates in lockstep
    (lanes), escaped ones frozen, until all have escaped or ``max_iter``: the
    lanes' independent chains keep the vector units busy, about 3x the speed
    of one voxel at a time.
    """
    nz, ny, nx = out.shape
    xs_row = x0 + (np.arange(nx) + 0.5) * step
    cxs, cys = np.empty(nx), np.empty(nx)
    xs, ys, zs = np.empty(nx), np.empty(nx), np.empty(nx)
    r2s, traps = np.empty(nx), np.empty(nx)
    for k in range(nz):
        cz = z0 + (k + 0.5) * step
        for j in range(ny):
            y_row = y0 + (j + 0.5) * step
            for i in range(nx):  # the first step from 0 lands on c
                cxs[i] = cos_turn * xs_row[i] - sin_turn * y_row
                cys[i] = sin_turn * xs_row[i] + cos_turn * y_row
                xs[i], ys[i], zs[i] = cxs[i], cys[i], cz
                r2s[i] = traps[i] = cxs[i] ** 2 + cys[i] ** 2 + cz * cz
            for _ in range(1, max_iter):
                alive = 0
                for i in range(nx):
                    x, y, z = xs[i], ys[i], zs[i]
                    rho = math.sqrt(x * x + y * y) + 1e-300  # on the z axis, A is 0
                    u, v = x / rho, y / rho
                    a, b = z, rho
                    for _ in range(3):
                        u, v = u * u - v * v, 2.0 * u * v
                        a, b = a * a - b * b, 2.0 * a * b
                    x, y, z = u * b + cxs[i], v * b + cys[i], a + cz
                    r2 = x * x + y * y + z * z
                    live = r2s[i] <= 4.0
                    if live:
                        xs[i], ys[i], zs[i], r2s[i] = x, y, z, r2
                        traps[i] = min(traps[i], r2)
                    alive += live
                if alive == 0:
                    break
            for i in range(nx):
                if r2s[i] > 4.0:
                    out[k, j, i] = 0
                else:
                    out[k, j, i] = 1 + int(254.0 * min(1.0, math.sqrt(traps[i]) / TRAP_RADIUS))


class MandelbulbSource:
    """A ``levels``-level, uint8 Mandelbulb pyramid of cubic ``chunk`` bricks.

    Level 0 is ``chunk * 2**levels`` voxels on a side, so the coarsest level
    is two bricks across (15 levels of 32**3 bricks: 1,048,576**3 voxels
    down to 64**3). With ``times`` > 0 it is a time-lapse (t, z, y, x): the
    bulb turns about its z axis by ``TURN / times`` per time point, one
    period of its eightfold symmetry over the movie, so the movie loops.
    """

    def __init__(
        self, levels: int = 15, chunk: int = 32, max_iter: int = 24, times: int = 0
    ) -> None:
        if levels < 1 or chunk < 1 or max_iter < 1 or times < 0:
            raise ValueError(
                f"levels, chunk and max_iter must be >= 1 and times >= 0, "
                f"got {levels}, {chunk}, {max_iter}, {times}"
            )
        self.size = chunk * 2**levels
        self.max_iter = max_iter
        self.times = times
        if times:
            self._levels: tuple[Level, ...] = block_pyramid(
                (times, *(self.size,) * 3), (1, *(chunk,) * 3), np.uint8, levels, (1, 2, 2, 2)
            )
        else:
            self._levels = block_pyramid((self.size,) * 3, (chunk,) * 3, np.uint8, levels)

    @property
    def name(self) -> str:
        """Short human-readable identity."""
        movie = f"x{self.times}t" if self.times else ""
        return f"mandelbulb-{len(self._levels)}x{self._levels[0].chunks[-1]}{movie}"

    @property
    def levels(self) -> tuple[Level, ...]:
        """Levels from finest to coarsest."""
        return self._levels

    #: Bricks are computed on the CPU, not read.
    compute_bound = True

    @property
    def identity(self) -> str:
        """The generator and its parameters (bricks are the same in every run)."""
        chunk = self._levels[0].chunks[-1]
        params = f"levels={len(self._levels)},chunk={chunk},max_iter={self.max_iter}"
        return f"mandelbulb:{params},times={self.times}" if self.times else f"mandelbulb:{params}"

    def point_at(self, z: float, y: float, x: float) -> tuple[float, float, float]:
        """The point (z, y, x) of the bulb's space at level-0 data coordinate (z, y, x)."""
        step = CUBE_SIDE / self.size
        return (
            CUBE_MIN + (z + 0.5) * step,
            CUBE_MIN + (y + 0.5) * step,
            CUBE_MIN + (x + 0.5) * step,
        )

    def surface_along_x(self, samples: int = 4096) -> tuple[float, float, float]:
        """Level-0 data coordinate (z, y, x) where the bulb ends along +x from its centre."""
        line = np.empty((1, 1, samples), np.uint8)
        half = self.size / 2
        step = -CUBE_MIN / samples
        _bulb_box(0.0, 0.0, 0.0, step, line, self.max_iter)
        inside = np.flatnonzero(line[0, 0])
        x = (inside[-1] + 1) * step if inside.size else 0.0  # the last inside sample's far edge
        return half, half, float(half + x / CUBE_SIDE * self.size)

    def read_chunk(self, level: int, index: tuple[int, ...]) -> np.ndarray:
        """Compute one brick (edge bricks clipped to the level)."""
        lv = self._levels[level]
        box = lv.chunk_slices(index)
        step = CUBE_SIDE / self.size * lv.scale[-1]
        turn = TURN * box[0].start / self.times if self.times else 0.0
        zs, ys, xs = box[-3:]
        out = np.empty(tuple(s.stop - s.start for s in (zs, ys, xs)), np.uint8)
        _bulb_box(
            CUBE_MIN + xs.start * step,
            CUBE_MIN + ys.start * step,
            CUBE_MIN + zs.start * step,
            step,
            out,
            self.max_iter,
            math.cos(turn),
            math.sin(turn),
        )
        return out[np.newaxis] if self.times else out


MANDELBULB_SCHEME = "mandelbulb://"

#: Allowed range of each URI option: a brick within 16 MiB, its compute bounded.
MANDELBULB_LIMITS = {
    "levels": (1, 20),
    "chunk": (1, 256),
    "max_iter": (1, 10_000),
    "times": (0, 10_000),
}
#: Level 0's longest side: its voxel count (side**3) stays well within int64.
MAX_MANDELBULB_SIDE = 2**20


def parse_mandelbulb_uri(uri: str) -> dict[str, int]:
    """Options of ``mandelbulb://levels=15,chunk=32,max_iter=24`` (all optional, in range)."""
    options = parse_uri_options(uri, MANDELBULB_SCHEME, MANDELBULB_LIMITS)
    side = options.get("chunk", 32) * 2 ** options.get("levels", 15)
    if side > MAX_MANDELBULB_SIDE:
        raise SourceError(
            f"{uri!r}: chunk * 2**levels is {side} voxels, over {MAX_MANDELBULB_SIDE} (2**20)"
        )
    return options


def mandelbulb_display(levels: int, times: int = 0) -> dict[str, Any]:
    """Display defaults of the Mandelbulb demo (layer name, colormap, contrast, rendering)."""
    movie = {"axis_labels": ("t", "z", "y", "x")} if times else {}
    return {
        "name": f"Mandelbulb ({levels} levels, {times} time points)"
        if times
        else f"Mandelbulb ({levels} levels)",
        **movie,
        "colormap": "magma",
        "contrast_limits": (0, 255),
        "rendering": "attenuated_mip",
        "attenuation": 0.5,
        "view_3d": VIEW_ANGLES,
    }
