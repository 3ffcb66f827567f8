"""Channels of an OME-Zarr without omero colours get napari's channel-axis colormaps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_progressive.sources.open import open_layers
from tests import datasets as ds


@pytest.mark.parametrize(
    ("n_channels", "expected"),
    [(2, ["magenta", "green"]), (3, ["cyan", "magenta", "yellow"])],
)
def test_channels_without_colours_get_naparis_channel_colormaps(tmp_path, n_channels, expected):
    path = tmp_path / "plain.zarr"
    ds.write_omezarr(path, ds.smooth_image((n_channels, 64, 64)), "0.4", "cyx", (1, 32, 32))
    attrs = json.loads((path / ".zattrs").read_text())
    del attrs["omero"]  # written by a tool that records no channel colours
    (path / ".zattrs").write_text(json.dumps(attrs))

    specs = open_layers(str(path))

    assert [s.display.get("colormap") for s in specs] == expected
    assert all(s.display["blending"] == "additive" for s in specs)


def test_omero_colours_still_win(tmp_path):
    path = tmp_path / "coloured.zarr"
    ds.write_omezarr(path, ds.smooth_image((2, 64, 64)), "0.4", "cyx", (1, 32, 32))
    specs = open_layers(str(path))
    assert [s.display.get("color") for s in specs] == ["#ff0000", "#00ff00"]
    assert all("colormap" not in s.display for s in specs)
    assert np.all([s.kind == "image" for s in specs])
