"""Command line: ``napari-progressive demo | view URI | info URI | bench``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``napari-progressive`` command."""
    parser = argparse.ArgumentParser(
        prog="napari-progressive",
        description="Browse images far larger than memory in napari.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="open a synthetic dataset that needs no files")
    demo.add_argument("dataset", choices=["mandelbrot"])
    demo.add_argument("--levels", type=int, default=18, help="pyramid levels (default 18)")
    demo.add_argument("--tile", type=int, default=512, help="tile size in px (default 512)")
    _add_view_options(demo)
    view = sub.add_parser("view", help="open a path or URL progressively in napari")
    view.add_argument("uri", help="zarr/OME-Zarr path or URL, precomputed://URL, tensorstore JSON")
    view.add_argument("--read-timeout", type=float, default=60.0, help="seconds per chunk read")
    _add_view_options(view)
    info = sub.add_parser("info", help="print levels, chunks, codecs, sizes and ROI tables")
    info.add_argument("uri", help="zarr/OME-Zarr path or URL, precomputed://URL, tensorstore JSON")
    bench = sub.add_parser(
        "bench", help="napari's multiscale vs progressive layers, same data and camera path"
    )
    bench.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    bench.add_argument("--quick", action="store_true", help="short paths, small canvas")
    bench.add_argument("--json", metavar="FILE", help="write all results as JSON")
    bench.add_argument("--markdown", metavar="FILE", help="write the tables as markdown")
    bench.add_argument(
        "--plot", metavar="FILE", help="write a PNG of time to full resolution per step"
    )
    return parser


def _add_view_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--screenshot", metavar="FILE", help="render, wait until idle, save the canvas, exit"
    )
    demo.add_argument(
        "--center",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="camera centre in level-0 pixels",
    )
    demo.add_argument(
        "--center-complex",
        type=float,
        nargs=2,
        metavar=("RE", "IM"),
        help="camera centre as a point of the complex plane",
    )
    demo.add_argument("--zoom", type=float, help="screen pixels per level-0 pixel")
    demo.add_argument("--overlay", action="store_true", help="show the scale-debug overlay")
    demo.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(1024, 768),
        metavar=("W", "H"),
        help="canvas size for screenshots (default 1024 768)",
    )
    demo.add_argument(
        "--full-window",
        action="store_true",
        help="capture the whole window (layer list, widget and legend), not just the canvas",
    )
    demo.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for full resolution before a screenshot",
    )
    demo.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="read/compute chunks on a dask.distributed cluster: a scheduler address "
        "(tcp://host:8786), or 'local' to start a LocalCluster on this machine",
    )
    demo.add_argument(
        "--disk-cache",
        metavar="DIR",
        help="keep fetched chunks in DIR across sessions (persistent disk tier)",
    )
    demo.add_argument(
        "--disk-cache-gb",
        type=float,
        default=8.0,
        help="byte budget of the disk tier in GiB (default 8)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``napari-progressive`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if args.command == "view":
        return _view(args)
    if args.command == "info":
        return _info(args)
    if args.command == "bench":
        return _bench(args)
    return 2  # pragma: no cover - argparse rejects other commands


def _use_disk_cache(args: argparse.Namespace) -> None:
    if args.disk_cache:
        from napari_progressive import set_disk_cache

        set_disk_cache(args.disk_cache, int(args.disk_cache_gb * 2**30))


def _demo(args: argparse.Namespace) -> int:
    import napari

    from napari_progressive import add_progressive_image
    from napari_progressive.datasets import mandelbrot
    from napari_progressive.sources.mandelbrot import mandelbrot_display

    _use_disk_cache(args)
    viewer = napari.Viewer(title="napari-progressive: Mandelbrot", show=True)
    _dock_widget(viewer)
    source = mandelbrot(levels=args.levels, tile=args.tile)
    add_progressive_image(
        viewer, source, executor=_executor(args), **mandelbrot_display(args.levels)
    )
    if args.center_complex is not None:
        row, col = source.data_coord_of(complex(*args.center_complex))
        args.center = (row, col)
    return _show(viewer, args)


def _view(args: argparse.Namespace) -> int:
    import napari

    from napari_progressive import add_progressive_layers
    from napari_progressive.core.errors import ProgressiveError

    _use_disk_cache(args)
    viewer = napari.Viewer(title=f"napari-progressive: {args.uri}", show=True)
    _dock_widget(viewer)
    try:
        add_progressive_layers(
            viewer, args.uri, timeout=args.read_timeout, executor=_executor(args)
        )
    except ProgressiveError as e:
        print(f"napari-progressive: {e}", file=sys.stderr)
        viewer.close()
        return 2
    if args.center_complex is not None:
        print("--center-complex applies to the Mandelbrot demo only", file=sys.stderr)
    return _show(viewer, args)


def _executor(args: argparse.Namespace) -> Any:
    """A dask.distributed Client for ``--scheduler`` (None: the local thread pool)."""
    if not args.scheduler:
        return None
    import atexit

    from distributed import Client, LocalCluster

    if args.scheduler != "local":
        client = Client(args.scheduler, set_as_default=False)
        atexit.register(client.close)
        return client
    cluster = LocalCluster(processes=True, dashboard_address=None)
    print(f"started a LocalCluster at {cluster.scheduler_address}")
    client = Client(cluster, set_as_default=False)
    atexit.register(cluster.close)  # runs last: the client lets go of its data first
    atexit.register(client.close)
    return client


def _show(viewer: Any, args: argparse.Namespace) -> int:
    """Apply camera and overlay options; run napari, or save a screenshot and exit."""
    import napari

    from napari_progressive import set_debug_overlay, wait_until_idle
    from napari_progressive.integration.api import progressive_layers
    from napari_progressive.integration.window import resize_canvas

    if args.center is not None:
        viewer.scene.camera.center = tuple(args.center)
    if args.zoom is not None:
        viewer.scene.camera.zoom = args.zoom
    for layer in progressive_layers(viewer):
        set_debug_overlay(layer, args.overlay)
    if args.screenshot is None:
        napari.run()
        return 0
    resize_canvas(viewer, *args.size)
    idle = wait_until_idle(viewer, timeout=args.timeout)
    if args.full_window:
        _refresh_widgets(viewer)
    viewer.screenshot(args.screenshot, canvas_only=not args.full_window, flash=False)
    print(f"saved {args.screenshot} ({'complete' if idle else 'timed out, partial'})")
    viewer.close()
    return 0 if idle else 1


def _info(args: argparse.Namespace) -> int:
    from napari_progressive.core.errors import ProgressiveError
    from napari_progressive.sources.describe import describe
    from napari_progressive.sources.open import open_layers

    try:
        print(describe(open_layers(args.uri), args.uri))
    except ProgressiveError as e:
        print(f"napari-progressive: {e}", file=sys.stderr)
        return 2
    return 0


def _bench(args: argparse.Namespace) -> int:
    from qtpy.QtWidgets import QApplication

    from napari_progressive.bench.report import run_bench, write

    app = QApplication.instance() or QApplication([])  # noqa: F841 - napari reuses it
    results = run_bench(args.scenarios, args.quick)
    print(write(results, args.json, args.markdown, args.plot))
    return 0


def _dock_widget(viewer: object) -> None:
    from napari_progressive.integration.widget import ProgressiveWidget

    viewer.window.add_dock_widget(  # type: ignore[attr-defined]
        ProgressiveWidget(viewer),
        name="Progressive loading",
        area="right",
    )


def _refresh_widgets(viewer: object) -> None:
    from qtpy.QtWidgets import QApplication

    from napari_progressive.integration.widget import ProgressiveWidget

    for widget in viewer.window._qt_window.findChildren(ProgressiveWidget):  # type: ignore[attr-defined]
        widget._refresh()
    QApplication.processEvents()


if __name__ == "__main__":
    sys.exit(main())
