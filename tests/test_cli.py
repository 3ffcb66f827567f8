"""The command line without a window: exit codes, messages, ``--version``, the camera, clusters."""

from __future__ import annotations

import re
from contextlib import ExitStack
from types import SimpleNamespace

import numpy as np
import pytest

from napari_progressive import __version__
from napari_progressive.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _executor, main
from napari_progressive.cli_window import place_camera
from tests import datasets as ds
from tests.http_server import FlakyServer

PASSWORD, TOKEN = "pa55word", "s3cr3tt0ken"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    image = np.arange(512 * 512, dtype=np.uint32).reshape(512, 512).astype(np.uint16)
    ds.write_ts_pyramid(root / "pyr.zarr", [image, image[::2, ::2]], "zarr", [256, 256])
    with FlakyServer(root) as srv:
        yield srv


def test_version_and_exit_codes_in_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip().endswith(__version__)
    with pytest.raises(SystemExit):
        main(["view", "--help"])
    help_text = capsys.readouterr().out
    assert all(re.search(rf"^  {code} ", help_text, re.M) for code in (0, 1, 2, 3, 130))


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as done:
        main(["info"])
    assert done.value.code == EXIT_USAGE
    with pytest.raises(SystemExit) as done:
        main(["view", "x.zarr", "--zoom", "much"])
    assert done.value.code == EXIT_USAGE


def test_a_dataset_that_cannot_be_opened_exits_1_in_one_line(capsys, tmp_path):
    assert main(["info", str(tmp_path / "nothing.zarr")]) == EXIT_FAILED
    url = f"http://reader:{PASSWORD}@127.0.0.1:9/image.zarr?token={TOKEN}"
    assert main(["info", url]) == EXIT_FAILED
    assert main(["view", url]) == EXIT_FAILED  # before any window opens
    lines = capsys.readouterr().err.splitlines()
    assert "no such file or directory" in lines[0]
    assert lines[1] == lines[2] and len(lines) == 3
    assert "cannot connect (connection refused" in lines[1]
    assert PASSWORD not in lines[1] and TOKEN not in lines[1]


def test_demo_sizes_are_checked_before_any_window(capsys):
    assert main(["demo", "mandelbulb", "--levels", "16"]) == EXIT_FAILED
    assert main(["demo", "mandelbrot", "--tile", "0"]) == EXIT_FAILED
    lines = capsys.readouterr().err.splitlines()
    assert "over 1048576" in lines[0] and "tile must be 1 to 4096" in lines[1]


def test_info_describes_the_mandelbulb(capsys):
    assert main(["info", "mandelbulb://levels=3,chunk=8"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "'Mandelbulb (3 levels)'" in out and "shape (16, 16, 16) tile (8, 8, 8) uint8" in out


def test_info_reads_through_the_query_string(served, capsys):
    url = f"{served.url}/pyr.zarr?token={TOKEN}"
    served.requests.clear()
    assert main(["info", url]) == EXIT_OK
    out = capsys.readouterr().out
    assert "level 1: shape (256, 256)" in out and TOKEN not in out
    assert {r.query for r in served.requests} == {f"token={TOKEN}"}


def test_the_read_timeout_applies_to_metadata(served, capsys):
    served.hang("/slow.zarr/*")
    try:
        assert main(["info", f"{served.url}/slow.zarr", "--read-timeout", "0.5"]) == EXIT_FAILED
    finally:
        served.release()
    assert "no answer within 0.5 s" in capsys.readouterr().err


def test_center_and_zoom_are_level_0_pixels():
    camera = SimpleNamespace(center=None, zoom=None)
    viewer = SimpleNamespace(scene=SimpleNamespace(camera=camera))
    layer = SimpleNamespace(scale=(1.0, 0.325, 0.325), translate=(0.0, 10.0, 20.0))
    place_camera(viewer, layer, (100, 200), 1.0)
    assert camera.center == pytest.approx((100 * 0.325 + 10, 200 * 0.325 + 20))
    assert camera.zoom == pytest.approx(1 / 0.325)  # one screen pixel per level-0 pixel


def test_a_local_cluster_is_closed_when_the_command_returns():
    pytest.importorskip("distributed")
    with ExitStack() as cleanup:
        client = _executor(SimpleNamespace(scheduler="local"), cleanup)
        cluster = client.cluster
        assert client.status == "running"
    assert client.status == "closed" and cluster.status.name == "closed"
