"""Broken inputs: each gets a clear, typed error naming the file and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_progressive import open_source
from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.precomputed import parse_info
from tests import datasets as ds


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.zarr"
    ds.write_omezarr(path, ds.smooth_image((300, 200)), "0.4", "yx", (64, 64))
    return path


def _edit_attrs(path, edit):
    attrs = json.loads((path / ".zattrs").read_text())
    edit(attrs["multiscales"][0])
    (path / ".zattrs").write_text(json.dumps(attrs))


BROKEN = {
    "missing axes": (lambda ms: ms.pop("axes"), "multiscales.0.axes"),
    "missing datasets": (lambda ms: ms.pop("datasets"), "multiscales.0.datasets"),
    "unknown axis type": (
        lambda ms: ms["axes"][0].update(type="space", name="x"),
        "multiscales.0.axes",
    ),
    "scale of wrong length": (
        lambda ms: ms["datasets"][0]["coordinateTransformations"][0].update(scale=[1.0]),
        "multiscales.0",
    ),
    "negative scale": (
        lambda ms: ms["datasets"][1]["coordinateTransformations"][0].update(scale=[-2.0, 2.0]),
        "multiscales.0.datasets",
    ),
    "translation before scale": (
        lambda ms: ms["datasets"][0].update(
            coordinateTransformations=[
                {"type": "translation", "translation": [0, 0]},
                {"type": "scale", "scale": [1, 1]},
            ]
        ),
        "multiscales.0.datasets.0",
    ),
    "level shapes and scales disagree": (
        lambda ms: ms["datasets"][1]["coordinateTransformations"][0].update(scale=[2.0, 3.0]),
        "multiscales.0.datasets.1",
    ),
    "dataset path that is not there": (
        lambda ms: ms["datasets"][1].update(path="nowhere"),
        "multiscales.0.datasets.1.path",
    ),
    "wrong number of axes": (
        lambda ms: ms["axes"].insert(0, {"name": "z", "type": "space"}),
        "multiscales.0",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_ome_metadata_names_file_and_field(image, case):
    edit, field = BROKEN[case]
    _edit_attrs(image, edit)
    with pytest.raises(MetadataError) as err:
        open_source(str(image))
    message = str(err.value)
    assert str(image / ".zattrs") in message
    assert field in message


def test_not_json_is_reported(image):
    (image / ".zattrs").write_text("{not json")
    with pytest.raises(MetadataError, match="not valid JSON"):
        open_source(str(image))


def test_unsupported_ngff_version_says_so(image):
    attrs = json.loads((image / ".zattrs").read_text())
    attrs["multiscales"][0]["version"] = "0.3"
    (image / ".zattrs").write_text(json.dumps(attrs))
    with pytest.raises(MetadataError, match=r"0\.3 is not supported"):
        open_source(str(image))


def test_path_that_does_not_exist(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        open_source(str(tmp_path / "missing.zarr"))


def test_folder_without_metadata(tmp_path):
    with pytest.raises(SourceError, match=r"zarr\.json, \.zarray"):
        open_source(str(tmp_path))


def test_unknown_input_type():
    with pytest.raises(SourceError, match="cannot open dict"):
        open_source({"not": "a spec"})


INFO = {
    "type": "image",
    "data_type": "uint8",
    "num_channels": 1,
    "scales": [
        {
            "key": "s0",
            "size": [10, 10, 10],
            "chunk_sizes": [[8, 8, 8]],
            "resolution": [4, 4, 40],
            "encoding": "raw",
        }
    ],
}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda i: i.update(type="mesh"), "type"),
        (lambda i: i.update(data_type="complex64"), "data_type"),
        (lambda i: i.update(num_channels=0), "num_channels"),
        (lambda i: i.update(scales=[]), "scales"),
        (lambda i: i["scales"][0].update(encoding="zstd"), "scales.0.encoding"),
        (lambda i: i["scales"][0].update(size=[10, 10]), "scales.0.size"),
        (lambda i: i["scales"][0].pop("chunk_sizes"), "scales.0.chunk_sizes"),
        (lambda i: i["scales"][0].update(resolution=[4, 0, 40]), "scales.0"),
    ],
)
def test_broken_precomputed_info_names_the_field(edit, field):
    info = json.loads(json.dumps(INFO))
    edit(info)
    with pytest.raises(MetadataError, match=f"info: {field}"):
        parse_info(info, "vol/info")


def test_precomputed_folder_with_broken_info(tmp_path):
    (tmp_path / "info").write_text(json.dumps({**INFO, "data_type": "bogus"}))
    with pytest.raises(MetadataError, match="data_type"):
        open_source(f"precomputed://file://{tmp_path}")


def test_read_timeout_becomes_a_failed_chunk(tmp_path):
    """A server that never answers a chunk: the read gives up, it does not hang."""
    import http.server
    import threading
    import time

    from napari_progressive.core.errors import ChunkReadError

    ds.write_omezarr(tmp_path / "v.zarr", np.zeros((64, 64), np.uint8), "0.5", "yx", (32, 32))
    root = tmp_path

    class Slow(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def do_GET(self):
            if "/c/" in self.path:
                time.sleep(3)
            super().do_GET()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = open_source(f"http://127.0.0.1:{server.server_port}/v.zarr", timeout=0.3)
        with pytest.raises(ChunkReadError, match="no answer within"):
            src.read_chunk(0, (0, 0))
    finally:
        server.shutdown()
        server.server_close()
