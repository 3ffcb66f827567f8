"""npe2 entry points: the reader behind File > Open and the sample data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari_progressive.core.errors import SourceError
from napari_progressive.datasets import mandelbrot
from napari_progressive.integration.api import register_vispy_layers
from napari_progressive.integration.layer import ProgressiveImage

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEME = "mandelbrot://"


def parse_mandelbrot_uri(uri: str) -> dict[str, int]:
    """Options of ``mandelbrot://levels=18,tile=512`` (all optional)."""
    if not uri.startswith(SCHEME):
        raise SourceError(f"not a mandelbrot URI: {uri!r}")
    options: dict[str, int] = {}
    for part in filter(None, uri[len(SCHEME) :].split(",")):
        name, _, value = part.partition("=")
        if name not in ("levels", "tile", "max_iter") or not value.isdigit():
            raise SourceError(f"{uri!r}: expected levels=N, tile=N or max_iter=N, got {part!r}")
        options[name] = int(value)
    return options


def get_reader(path: str | list[str]) -> Callable[[Any], list[Any]] | None:
    """npe2 reader hook: a reader function for paths this plugin opens."""
    p = path[0] if isinstance(path, list) else path
    if not isinstance(p, str) or not p.startswith(SCHEME):
        return None
    return _read


def _read(path: str | list[str]) -> list[Any]:
    paths = path if isinstance(path, list) else [path]
    register_vispy_layers()
    return [mandelbrot_layer(**parse_mandelbrot_uri(p)) for p in paths]


def mandelbrot_display(levels: int) -> dict[str, Any]:
    """Layer keywords of the Mandelbrot demo."""
    return {
        "name": f"Mandelbrot ({levels} levels)",
        "colormap": "twilight_shifted",
        "contrast_limits": (0, 255),
    }


def mandelbrot_layer(levels: int = 18, tile: int = 512, max_iter: int = 500) -> ProgressiveImage:
    """The Mandelbrot demo layer."""
    return ProgressiveImage(mandelbrot(levels, tile, max_iter), **mandelbrot_display(levels))
