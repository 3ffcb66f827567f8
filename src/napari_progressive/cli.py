"""Command line: ``napari-progressive demo | view URI | info URI | bench``.

Exit codes (``EXIT_STATUS``, also in ``--help``): 0 done; 1 the dataset
cannot be opened, or tiles failed to load; 2 a usage error; 3 a screenshot
that did not reach full resolution in time; 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from napari_progressive import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: The exit status of each way a window session ends (``cli_window.Outcome``).
EXIT_STATUS_OF = {
    "done": EXIT_OK,
    "failed": EXIT_FAILED,
    "partial": EXIT_PARTIAL,
    "interrupted": EXIT_INTERRUPTED,
}


@dataclass(frozen=True)
class Demo:
    """A synthetic dataset of ``demo``: its title and URI, with its default size."""

    title: str
    uri: str  #: formatted with ``levels`` and ``tile``
    levels: int
    tile: int


DEMOS = {
    "mandelbrot": Demo("Mandelbrot", "mandelbrot://levels={levels},tile={tile}", 18, 512),
    "mandelbulb": Demo("Mandelbulb", "mandelbulb://levels={levels},chunk={tile}", 15, 32),
    "mandelbulb-timelapse": Demo(
        "Mandelbulb time-lapse", "mandelbulb://levels={levels},chunk={tile},times=24", 12, 32
    ),
}
EXIT_STATUS = """exit status:
  0    done
  1    the dataset cannot be opened, or tiles failed to load (the screenshot is
       still saved; the causes are printed)
  2    usage error (bad arguments)
  3    --screenshot: not at full resolution within --timeout (a partial
       screenshot is saved)
  130  interrupted (Ctrl-C)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``napari-progressive`` command."""
    parser = argparse.ArgumentParser(
        prog="napari-progressive",
        description="Browse images far larger than memory in napari.",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = _command(sub, "demo", "open a synthetic dataset that needs no files")
    demo.add_argument(
        "dataset",
        choices=list(DEMOS),
        help="mandelbrot (2D), mandelbulb (3D) or mandelbulb-timelapse (3D over time)",
    )
    demo.add_argument(
        "--levels",
        type=int,
        help="pyramid levels (default 18 for mandelbrot, 15 for mandelbulb, 12 for its time-lapse)",
    )
    demo.add_argument(
        "--tile", type=int, help="tile side in px, brick side in voxels (default 512 or 32)"
    )
    _add_view_options(demo)
    view = _command(sub, "view", "open a path or URL progressively in napari")
    view.add_argument("uri", help="zarr/OME-Zarr path or URL, precomputed://URL, tensorstore JSON")
    _add_read_timeout(view, 60.0)
    _add_view_options(view)
    info = _command(sub, "info", "print levels, chunks, codecs, sizes and ROI tables")
    info.add_argument("uri", help="zarr/OME-Zarr path or URL, precomputed://URL, tensorstore JSON")
    _add_read_timeout(info, 30.0)
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


def _command(subparsers: Any, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with the exit codes."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=text, epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def _add_read_timeout(parser: argparse.ArgumentParser, default: float) -> None:
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=default,
        metavar="S",
        help=f"seconds each metadata file or chunk read may take (default {default:g})",
    )


def _add_view_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--screenshot", metavar="FILE", help="render, wait until idle, save the canvas, exit"
    )
    demo.add_argument(
        "--center",
        type=float,
        nargs=2,
        metavar=("ROW", "COL"),
        help="camera centre in level-0 pixels of the first layer",
    )
    demo.add_argument(
        "--center-complex",
        type=float,
        nargs=2,
        metavar=("RE", "IM"),
        help="camera centre as a point of the complex plane",
    )
    demo.add_argument(
        "--zoom", type=float, help="screen pixels per level-0 pixel of the first layer"
    )
    demo.add_argument("--overlay", action="store_true", help="show the scale-debug overlay")
    demo.add_argument(
        "--3d", dest="view_3d", action="store_true", help="show the data in 3D (a volume)"
    )
    demo.add_argument(
        "--angles",
        type=float,
        nargs=3,
        metavar=("A", "B", "C"),
        help="3D camera angles (napari's Euler angles, degrees); implies --3d",
    )
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
    """Entry point of the ``napari-progressive`` console script (returns the exit status)."""
    args = build_parser().parse_args(argv)
    commands = {"demo": _demo, "view": _view, "info": _info, "bench": _bench}
    try:
        with ExitStack() as cleanup:  # a cluster started here is closed before returning
            return commands[args.command](args, cleanup)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _failed(error: BaseException) -> int:
    """Print why the dataset cannot be opened, in one line."""
    from napari_progressive.sources.redact import redact_text

    print(f"napari-progressive: {redact_text(str(error))}", file=sys.stderr)
    return EXIT_FAILED


def _use_disk_cache(args: argparse.Namespace) -> None:
    if args.disk_cache:
        from napari_progressive import set_disk_cache

        set_disk_cache(args.disk_cache, int(args.disk_cache_gb * 2**30))


def _demo(args: argparse.Namespace, cleanup: ExitStack) -> int:
    demo = DEMOS[args.dataset]
    levels = demo.levels if args.levels is None else args.levels
    uri = demo.uri.format(levels=levels, tile=demo.tile if args.tile is None else args.tile)
    return _open_and_show(uri, demo.title, args, cleanup)


def _view(args: argparse.Namespace, cleanup: ExitStack) -> int:
    from napari_progressive.sources.redact import redact_text

    return _open_and_show(args.uri, redact_text(args.uri), args, cleanup, timeout=args.read_timeout)


def _open_and_show(
    uri: str, title: str, args: argparse.Namespace, cleanup: ExitStack, **options: Any
) -> int:
    """Open ``uri``, then show it in a window (a dataset that cannot be opened: exit 1)."""
    from napari_progressive.core.errors import ProgressiveError
    from napari_progressive.integration.layer_factory import dataset_layers, open_dataset

    _use_disk_cache(args)
    try:
        opened = open_dataset(uri, **options)
    except ProgressiveError as e:
        return _failed(e)
    import napari

    from napari_progressive.cli_window import add_dock_widget
    from napari_progressive.integration.registration import register_with_napari
    from napari_progressive.integration.view_3d import show_in_3d

    layers = dataset_layers(opened, _executor(args, cleanup))
    viewer = napari.Viewer(title=f"napari-progressive: {title}", show=True)
    add_dock_widget(viewer)
    register_with_napari()
    for layer in layers:
        viewer.add_layer(layer)
    angles = args.angles if args.angles is not None else opened.view_3d
    if angles is not None:
        show_in_3d(viewer, angles)
    elif args.view_3d:
        viewer.dims.ndisplay = 3
    if args.center_complex is not None:
        data_coord_of = getattr(opened.specs[0].source, "data_coord_of", None)
        if data_coord_of is None:
            print("--center-complex applies to the Mandelbrot only", file=sys.stderr)
        else:
            args.center = data_coord_of(complex(*args.center_complex))
    return _show(viewer, args)


def _executor(args: argparse.Namespace, cleanup: ExitStack) -> Any:
    """A dask.distributed Client for ``--scheduler`` (None: the local thread pool).

    The client, and a cluster started for ``local``, are closed by ``cleanup``
    when the command returns, client first: left to interpreter exit, their
    connections were torn down in any order and printed ``CommClosedError``.
    """
    if not args.scheduler:
        return None
    import logging

    from distributed import Client, LocalCluster

    if args.scheduler != "local":
        return cleanup.enter_context(Client(args.scheduler, set_as_default=False))
    cluster = cleanup.enter_context(
        LocalCluster(processes=True, dashboard_address=None, silence_logs=logging.ERROR)
    )
    print(f"started a LocalCluster at {cluster.scheduler_address}")
    return cleanup.enter_context(Client(cluster, set_as_default=False))


def _show(viewer: Any, args: argparse.Namespace) -> int:
    """Run napari on ``viewer`` (or take ``--screenshot``) and return the exit status."""
    from napari_progressive.cli_window import show

    return EXIT_STATUS_OF[show(viewer, args)]


def _info(args: argparse.Namespace, cleanup: ExitStack) -> int:
    from napari_progressive.core.errors import ProgressiveError
    from napari_progressive.sources.describe import describe
    from napari_progressive.sources.open import open_layers

    try:
        print(describe(open_layers(args.uri, timeout=args.read_timeout), args.uri))
    except ProgressiveError as e:
        return _failed(e)
    return EXIT_OK


def _bench(args: argparse.Namespace, cleanup: ExitStack) -> int:
    from qtpy.QtWidgets import QApplication

    from napari_progressive.bench.report import run_bench, write

    app = QApplication.instance() or QApplication([])  # noqa: F841 - napari reuses it
    results = run_bench(args.scenarios, args.quick)
    print(write(results, args.json, args.markdown, args.plot))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
