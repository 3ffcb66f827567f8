"""Benchmark scenarios: data, layer settings and a scripted camera path."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_progressive.datasets import mandelbrot
from napari_progressive.sources.arrays import ArrayPyramidSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from napari_progressive.sources.protocol import MultiscaleSource


@dataclass(frozen=True)
class Step:
    """One camera move: centre and zoom (world units), optional dims step."""

    center: tuple[float, ...]
    zoom: float
    dims_step: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Scenario:
    """Data, display settings, per-chunk latency and the camera path."""

    name: str
    description: str
    build: Callable[[bool], MultiscaleSource]
    path: Callable[[MultiscaleSource, bool], list[Step]]
    layer_kwargs: dict[str, Any] = field(default_factory=dict)
    latency: float = 0.0


def _zoom_path(source: MultiscaleSource, quick: bool) -> list[Step]:
    src: Any = source
    row, col = src.data_coord_of(complex(-0.743643887, 0.131825904))
    fit = 800 / src.size
    steps = 3 if quick else 10
    return [Step((row, col), fit * 4 ** (i + 1)) for i in range(steps)]


def _zarr_pyramid(quick: bool) -> MultiscaleSource:
    import zarr

    size = 2048 if quick else 8192
    root = Path(tempfile.mkdtemp(prefix="np-bench-")) / "pyramid.zarr"
    group = zarr.open_group(root, mode="w")
    rng = np.random.default_rng(0)
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


def _zarr_volume(quick: bool) -> MultiscaleSource:
    """A (z, y, x) uint16 zarr volume with 3 levels downsampled on every axis."""
    import zarr

    depth, side = (16, 1024) if quick else (32, 2048)
    root = Path(tempfile.mkdtemp(prefix="np-bench-")) / "volume.zarr"
    group = zarr.open_group(root, mode="w")
    rng = np.random.default_rng(1)
    level = rng.integers(0, 4096, (depth, side, side), dtype=np.uint16)
    arrays = []
    for i in range(3):
        arr = group.create_array(str(i), shape=level.shape, chunks=(8, 256, 256), dtype=np.uint16)
        arr[...] = level
        arrays.append(arr)
        d, h, w = level.shape
        level = level.reshape(d // 2, 2, h // 2, 2, w // 2, 2).mean(axis=(1, 3, 5))
        level = level.astype(np.uint16)
    return ArrayPyramidSource(arrays, name="zarr-volume")


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


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "mandelbrot-zoom",
            "zoom 4x per step into the 18-level Mandelbrot (computed tiles)",
            lambda quick: mandelbrot(),
            _zoom_path,
            {"colormap": "twilight_shifted", "contrast_limits": (0, 255)},
        ),
        Scenario(
            "zarr-latency",
            "pan and zoom over a local zarr pyramid with 20 ms added per chunk",
            _zarr_pyramid,
            _pan_path,
            {"contrast_limits": (0, 4095)},
            latency=0.02,
        ),
        Scenario(
            "zarr-z-scroll",
            "2D view of a 3D zarr volume (8x256x256 chunks) while scrolling z, 20 ms per chunk",
            _zarr_volume,
            _z_scroll_path,
            {"contrast_limits": (0, 4095)},
            latency=0.02,
        ),
    )
}
