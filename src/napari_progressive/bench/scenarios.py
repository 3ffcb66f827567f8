"""Benchmark scenarios: data, layer settings and a scripted camera path."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.bench import dask_pyramid
from napari_progressive.datasets import mandelbrot
from napari_progressive.datasets import mandelbulb as mandelbulb_source
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.mandelbulb import VIEW_ANGLES
from napari_progressive.sources.rois import Roi

if TYPE_CHECKING:
    from collections.abc import Callable

    from napari_progressive.core.source import MultiscaleSource


@dataclass(frozen=True)
class Step:
    """One camera move: centre and zoom (world units), optional dims step, 3D angles and plane.

    ``plane`` is the slicing plane of plane depiction: a point on it and its
    normal, in level-0 data coordinates (z, y, x). With ``roi`` the ROI
    navigator moves the camera to the scenario's ``roi``-th ROI, as a user
    choosing it from the list: ``center`` is its centre and ``zoom`` 0 (fitted).
    """

    center: tuple[float, ...]
    zoom: float
    dims_step: tuple[int, ...] | None = None
    angles: tuple[float, float, float] | None = None
    plane: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    roi: int | None = None


@dataclass(frozen=True)
class Scenario:
    """Data (one source per layer), display settings, per-chunk latency and the camera path.

    A ``continuous`` path is walked as a drag (one move per display frame,
    no waiting); otherwise each step is a jump measured until full
    resolution. 3D scenarios set ``ndisplay=3`` and the camera's first
    ``angles``. ``read_frames`` reads frames back to measure what the first
    frame after a move shows and when the picture first changes. ``rois``
    gives the ROI tables shown as the ROIs layer (level-0 pixels of the
    first source) that ``roi`` steps go to; after each step the viewer stays
    ``dwell_s`` on the view, as a user looking at it.
    """

    name: str
    description: str
    build: Callable[[bool], list[MultiscaleSource]]
    path: Callable[[MultiscaleSource, bool], list[Step]]
    layer_kwargs: dict[str, Any] = field(default_factory=dict)
    latency: float = 0.0
    layer_styles: tuple[dict[str, Any], ...] = ()
    continuous: bool = False
    ndisplay: int = 2
    modes: tuple[str, ...] = ("napari-sync", "napari-async", "progressive")
    canvas: tuple[int, int] | None = None
    angles: tuple[float, float, float] | None = None
    read_frames: bool = False
    rois: Callable[[MultiscaleSource, bool], dict[str, tuple[Roi, ...]]] | None = None
    dwell_s: float = 0.0

    def canvas_size(self, quick: bool) -> tuple[int, int]:
        """Canvas width and height: the scenario's own, else by run length."""
        if self.canvas is not None:
            return self.canvas
        return (640, 480) if quick else (1280, 800)

    def styles(self, n_layers: int) -> list[dict[str, Any]]:
        """Per-layer keywords (colormaps of channels), cycled over the layers."""
        if not self.layer_styles:
            return [{} for _ in range(n_layers)]
        return [self.layer_styles[i % len(self.layer_styles)] for i in range(n_layers)]


def _zoom_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    src: Any = source
    row, col = src.data_coord_of(complex(-0.743643887, 0.131825904))
    fit = 800 / src.size
    steps = 3 if quick else 10
    return [Step((row, col), fit * 4 ** (i + 1)) for i in range(steps)]


def _dask_size(quick: bool) -> tuple[int, int]:
    """Side and levels of the dask pyramid."""
    return (4096, 5) if quick else (8192, 6)


def _dask_zoom_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Zoom 2x per step from the whole image toward a point of the set's edge."""
    side = source.levels[0].shape[0]
    point = complex(-0.743643887, 0.131825904) - dask_pyramid.ORIGIN
    row, col = (point.imag / dask_pyramid.EXTENT * side, point.real / dask_pyramid.EXTENT * side)
    fit = 480 / side
    return [Step((row, col), fit * 2 ** (i + 1)) for i in range(3 if quick else 6)]


def _dask_scenario(
    name: str, description: str, make: Callable[[int, int], MultiscaleSource]
) -> Scenario:
    """The dask pyramid's zoom path over the source ``make(side, levels)`` builds."""
    return Scenario(
        name,
        description,
        lambda quick: [make(*_dask_size(quick))],
        _dask_zoom_path,
        {"colormap": "twilight_shifted", "contrast_limits": (0, dask_pyramid.ITERATIONS)},
    )


def _zarr_pyramid(quick: bool) -> list[MultiscaleSource]:
    return [_pyramid(2048 if quick else 8192, seed=0)]


def _zarr_channels(quick: bool) -> list[MultiscaleSource]:
    """Four channels, each its own zarr pyramid (as separate layers with additive blending)."""
    return [_pyramid(1024 if quick else 4096, seed=i) for i in range(4)]


def _pyramid(size: int, seed: int) -> MultiscaleSource:
    """A (size, size) uint16 zarr pyramid with 256x256 chunks and 5 levels."""
    import zarr

    root = Path(tempfile.mkdtemp(prefix="np-bench-")) / "pyramid.zarr"
    group = zarr.open_group(root, mode="w")
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 4096, (size, size), dtype=np.uint16)
    arrays = []
    for i in range(5):
        arr = group.create_array(str(i), shape=level.shape, chunks=(256, 256), dtype=np.uint16)
        arr[...] = level
        arrays.append(arr)
        h, w = level.shape
        level = level[: h - h % 2, : w - w % 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        level = level.astype(np.uint16)
    return ArrayPyramidSource(arrays, name="zarr-pyramid")


def _zarr_volume(quick: bool) -> list[MultiscaleSource]:
    """A (z, y, x) uint16 zarr volume with 3 levels downsampled on every axis."""
    depth, side = (16, 1024) if quick else (32, 2048)
    volume = np.random.default_rng(1).integers(0, 4096, (depth, side, side), dtype=np.uint16)
    return [_stored_levels("zarr-volume", volume, (8, 256, 256), (2, 2, 2))]


def _zarr_stack(quick: bool) -> list[MultiscaleSource]:
    """A (z, y, x) uint16 zarr z-stack, one plane per chunk, 3 levels downsampled in y and x."""
    depth, side = (32, 1024) if quick else (64, 2048)
    stack = np.random.default_rng(2).integers(0, 4096, (depth, side, side), dtype=np.uint16)
    return [_stored_levels("zarr-stack", stack, (1, 256, 256), (1, 2, 2))]


def _stored_levels(
    name: str, level: np.ndarray, chunks: tuple[int, int, int], factor: tuple[int, int, int]
) -> MultiscaleSource:
    """``level`` and two coarser levels (means over ``factor`` blocks) in a local zarr group."""
    import zarr

    group = zarr.open_group(Path(tempfile.mkdtemp(prefix="np-bench-")) / f"{name}.zarr", mode="w")
    arrays = []
    for i in range(3):
        arr = group.create_array(str(i), shape=level.shape, chunks=chunks, dtype=level.dtype)
        arr[...] = level
        arrays.append(arr)
        blocks = [(n // f, f) for n, f in zip(level.shape, factor, strict=True)]
        shape = [v for pair in blocks for v in pair]
        level = level.reshape(shape).mean(axis=(1, 3, 5)).astype(level.dtype)
    return ArrayPyramidSource(arrays, name=name)


def _stack_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Step the z slider three planes at a time from plane 5, at half resolution."""
    side = source.levels[0].shape[1]
    return [
        Step((side / 2, side / 2), 0.5, dims_step=(5 + 3 * i, 0, 0))
        for i in range(4 if quick else 10)
    ]


def _scrub_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Scrub the z slider one plane per move through the stack, at half resolution."""
    depth, side = source.levels[0].shape[:2]
    planes = range(2, min(depth, 32 if quick else 62))
    return [Step((side / 2, side / 2), 0.5, dims_step=(z, 0, 0)) for z in planes]


def _z_scroll_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    depth, side = source.levels[0].shape[0], source.levels[0].shape[1]
    steps = 3 if quick else 10
    return [
        Step((side / 2, side / 2), 0.5, dims_step=(z, 0, 0))
        for z in np.linspace(1, depth - 2, steps).astype(int).tolist()
    ]


def _pan_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    size = source.levels[0].shape[0]
    steps = 3 if quick else 10
    xs = np.linspace(0.2, 0.8, steps) * size
    return [Step((float(size / 2), float(x)), 0.5 if i % 2 else 1.0) for i, x in enumerate(xs)]


def _drag_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """A steady horizontal drag at full resolution: 20 screen px per move."""
    size = source.levels[0].shape[0]
    moves = 30 if quick else 90
    start = size * 0.3
    return [Step((size / 2, start + 20.0 * i), 1.0) for i in range(moves)]


#: The ROI grid's side (FOVs per row and column) and the FOVs visited, by run length.
FOV_GRID, FOV_VISITS = 4, {True: 4, False: 8}


def _fov_table(source: MultiscaleSource, quick: bool) -> dict[str, tuple[Roi, ...]]:
    """A fractal-style ``FOV_ROI_table``: the image cut into a grid of equal fields of view."""
    rows, cols = source.levels[0].shape[-2:]
    h, w = rows / FOV_GRID, cols / FOV_GRID
    fovs = tuple(
        Roi("FOV_ROI_table", f"FOV_{i * FOV_GRID + j + 1}", (0.0, i * h, j * w), (1.0, h, w), False)
        for i in range(FOV_GRID)
        for j in range(FOV_GRID)
    )
    return {"FOV_ROI_table": fovs}


def _fov_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Choose the fields of view one after another from the ROI list (row by row)."""
    steps = []
    for i, roi in enumerate(_fov_table(source, quick)["FOV_ROI_table"][: FOV_VISITS[quick]]):
        centre = (roi.start[1] + roi.size[1] / 2, roi.start[2] + roi.size[2] / 2)
        steps.append(Step(centre, 0.0, roi=i))
    return steps


def _whole_bulb(bulb: Any) -> tuple[tuple[float, float, float], float]:
    """The camera centre and zoom at which the bulb fills most of a 600 px canvas."""
    return (bulb.size / 2,) * 3, 0.8 * 600 / bulb.size


def _mandelbulb_zoom_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Orbit the whole bulb, then zoom 2x per step toward a point of its surface."""
    bulb: Any = source
    centre, whole = _whole_bulb(bulb)
    a, b, c = VIEW_ANGLES
    orbit = [
        Step(centre, whole, angles=(a, b + 40.0 * (i + 1), c)) for i in range(1 if quick else 2)
    ]
    turned = orbit[-1].angles
    surface = bulb.surface_along_x()
    zooms = [Step(surface, whole * 2 ** (i + 1), angles=turned) for i in range(3 if quick else 6)]
    return orbit + zooms


def _orbit_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Orbit the volume 30 degrees per step, zooming in a little every other step."""
    centre = tuple(n / 2 for n in source.levels[0].shape)
    steps = 3 if quick else 8
    return [
        Step(centre, 1.0 + 0.5 * (i % 2), angles=(0.0, 30.0 * (i + 1), 90.0)) for i in range(steps)
    ]


def _plane_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Tilt and move an oblique plane through the bulb, the camera fitting the whole bulb."""
    bulb: Any = source
    centre, whole = _whole_bulb(bulb)
    moves = [
        (0.0, (1.0, 0.3, 0.2)),  # tilt
        (0.08, (1.0, 0.3, 0.2)),  # move along the normal
        (0.08, (0.7, 0.7, 0.3)),  # tilt about the moved point
        (-0.06, (0.7, 0.7, 0.3)),
        (-0.06, (0.4, 0.3, 1.0)),
        (0.1, (0.4, 0.3, 1.0)),
    ]
    steps = []
    for offset, normal in moves[: 3 if quick else 6]:
        unit = np.asarray(normal) / np.linalg.norm(normal)
        point = np.asarray(centre) + offset * bulb.size * unit
        plane = (tuple(point.tolist()), tuple(unit.tolist()))
        steps.append(Step(centre, whole, angles=VIEW_ANGLES, plane=plane))
    return steps


def _time_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    """Step the time slider one point at a time, then jump a few, the camera still."""
    centre, whole = _whole_bulb(source)
    times = [1, 2, 5] if quick else [1, 2, 3, 4, 8, 9]
    return [Step(centre, whole, dims_step=(t, 0, 0, 0), angles=VIEW_ANGLES) for t in times]


def axial_plane(size: int) -> dict[str, Any]:
    """The first slicing plane of the plane scenario: axial, through the centre."""
    return {"position": (size / 2,) * 3, "normal": (1.0, 0.0, 0.0), "thickness": 1.0}


#: Storage latency of the scenarios over slow (remote) storage: seconds per chunk.
SLOW_STORAGE = 0.02

#: Channel colours of the multi-layer scenario.
CHANNELS = tuple(
    {"colormap": c, "blending": "additive"} for c in ("red", "green", "blue", "magenta")
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "mandelbrot-zoom",
            "zoom 4x per step into the 18-level Mandelbrot (computed tiles)",
            lambda quick: [mandelbrot()],
            _zoom_path,
            {"colormap": "twilight_shifted", "contrast_limits": (0, 255)},
        ),
        _dask_scenario(
            "dask-computed",
            "zoom 2x per step into a lazily computed dask pyramid (da.map_blocks over a numpy "
            "Mandelbrot kernel, tens of ms per 256^2 chunk, holding the GIL between numpy steps)",
            dask_pyramid.computed,
        ),
        _dask_scenario(
            "dask-stored",
            "the dask-computed path over the same pyramid computed ahead into a local zarr store",
            dask_pyramid.stored_copy,
        ),
        Scenario(
            "zarr-latency",
            "pan and zoom over a local zarr pyramid with 20 ms added per chunk",
            _zarr_pyramid,
            _pan_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
        ),
        Scenario(
            "zarr-z-scroll",
            "2D view of a 3D zarr volume (8x256x256 chunks) while scrolling z, 20 ms per chunk",
            _zarr_volume,
            _z_scroll_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
        ),
        Scenario(
            "zarr-z-stack",
            "2D view of a zarr z-stack with one plane per chunk (1x256x256) while stepping z "
            "three planes at a time, 20 ms per chunk",
            _zarr_stack,
            _stack_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
        ),
        Scenario(
            "zarr-z-scrub",
            "scrub the z slider of the zarr z-stack (one plane per chunk) at 30 planes a "
            "second, every frame read back: how many frames show nothing, 20 ms per chunk",
            _zarr_stack,
            _scrub_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
            continuous=True,
            read_frames=True,
        ),
        Scenario(
            "multi-layer",
            "four channels as four layers (zarr pyramids, additive), pan and zoom, 20 ms per chunk",
            _zarr_channels,
            _pan_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
            layer_styles=CHANNELS,
        ),
        Scenario(
            "zarr-pan",
            "continuous drag at full resolution over the zarr pyramid, 20 ms per chunk",
            _zarr_pyramid,
            _drag_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
            continuous=True,
        ),
        Scenario(
            "roi-jump",
            "choose fields of view one after another from the ROI list over the zarr pyramid "
            "(a 4x4 FOV_ROI_table, 20 ms per chunk, 1 s on each view)",
            _zarr_pyramid,
            _fov_path,
            {"contrast_limits": (0, 4095)},
            latency=SLOW_STORAGE,
            rois=_fov_table,
            dwell_s=1.0,
        ),
        Scenario(
            "volume-orbit",
            "3D view of the zarr volume orbiting and zooming at 640x480 (napari: its coarsest "
            "level; progressive: a level per brick)",
            _zarr_volume,
            _orbit_path,
            {"contrast_limits": (0, 4095)},
            ndisplay=3,
            canvas=(640, 480),
        ),
        Scenario(
            "mandelbulb-zoom",
            "3D view of the 1M^3 Mandelbulb (computed bricks) at 600x600: open, orbit, then "
            "zoom 2x per step toward its surface (attenuated MIP)",
            lambda quick: [mandelbulb_source()],
            _mandelbulb_zoom_path,
            {
                "colormap": "magma",
                "contrast_limits": (0, 255),
                "rendering": "attenuated_mip",
                "attenuation": 0.5,
            },
            ndisplay=3,
            canvas=(600, 600),
            angles=VIEW_ANGLES,
        ),
        Scenario(
            "plane-tilt",
            "plane depiction of a 4096^3 Mandelbulb (7 levels, 20 ms per chunk) at 600x600: "
            "tilt and move an oblique plane (napari: its coarsest level)",
            lambda quick: [mandelbulb_source(levels=7)],
            _plane_path,
            {
                "colormap": "magma",
                "contrast_limits": (0, 255),
                "rendering": "mip",
                "depiction": "plane",
                "plane": axial_plane(32 * 2**7),
            },
            latency=SLOW_STORAGE,
            ndisplay=3,
            canvas=(600, 600),
            angles=VIEW_ANGLES,
            read_frames=True,
        ),
        Scenario(
            "time-step",
            "3D time-lapse Mandelbulb (24 time points of 1024^3, 20 ms per chunk) at 600x600: "
            "step the time slider, then jump (attenuated MIP)",
            lambda quick: [mandelbulb_source(levels=5, times=24)],
            _time_path,
            {
                "colormap": "magma",
                "contrast_limits": (0, 255),
                "rendering": "attenuated_mip",
                "attenuation": 0.5,
            },
            latency=SLOW_STORAGE,
            ndisplay=3,
            canvas=(600, 600),
            angles=VIEW_ANGLES,
            read_frames=True,
        ),
    )
}
