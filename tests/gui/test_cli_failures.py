"""``view --screenshot`` tells failed tiles apart from success; Ctrl-C exits quietly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import napari_progressive.cli as cli
from tests import datasets as ds
from tests.http_server import FlakyServer

PASSWORD, TOKEN = "pa55word", "s3cr3tt0ken"


@pytest.fixture
def server(tmp_path):
    image = np.arange(1024 * 1024, dtype=np.uint32).reshape(1024, 1024).astype(np.uint16)
    ds.write_ts_pyramid(tmp_path / "pyr.zarr", [image, image[::2, ::2]], "zarr", [256, 256])
    with FlakyServer(tmp_path) as srv:
        yield srv


@pytest.mark.usefixtures("make_napari_viewer")
def test_failed_tiles_are_counted_and_exit_1(server, tmp_path, capsys, monkeypatch):
    shown = {}
    real_show = cli._show

    def record(viewer, args):
        shown["title"] = viewer.title
        shown["layers"] = [layer.name for layer in viewer.layers]
        return real_show(viewer, args)

    monkeypatch.setattr(cli, "_show", record)
    server.status(500, "/pyr.zarr/0/[0-9]*", "/pyr.zarr/1/[0-9]*")
    url = f"http://reader:{PASSWORD}@127.0.0.1:{server.port}/pyr.zarr?token={TOKEN}"
    out_png = tmp_path / "shot.png"
    args = ["view", url, "--screenshot", str(out_png), "--size", "300", "200", "--timeout", "20"]
    assert cli.main(args) == cli.EXIT_FAILED
    out = capsys.readouterr().out
    assert re.search(r"\(\d+ tiles failed to load\)", out), out
    assert "x HTTP 500 Internal Server Error (after 3 attempts)" in out
    assert out_png.exists()
    assert shown["title"] == (
        f"napari-progressive: http://reader:***@127.0.0.1:{server.port}/pyr.zarr?token=***"
    )
    assert shown["layers"] == ["pyr.zarr"]
    assert PASSWORD not in out + str(shown) and TOKEN not in out + str(shown)


def test_ctrl_c_exits_quietly_with_130(tmp_path):
    """Ctrl-C while napari runs: no traceback, status 130 (it was ignored until a mouse move)."""
    env = {
        **os.environ,
        "NAPARI_CONFIG": str(tmp_path / "settings.yaml"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_progressive.cli", "demo", "mandelbrot", "--levels", "6"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(12)  # napari's window is up (an earlier Ctrl-C exits 130 as well)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
