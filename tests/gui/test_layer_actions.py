"""Layer-list actions on progressive layers: Duplicate, Save and Export."""

import numpy as np
import pytest
from napari.layers._layer_actions import _duplicate_layer

import napari_progressive as npg
from napari_progressive.integration.export_action import BackgroundExport
from napari_progressive.integration.labels_layer import ProgressiveLabels
from napari_progressive.integration.layer import ProgressiveImage
from napari_progressive.integration.lazy_array import LazyLevelArray
from tests.pyramids import encoded_pyramid


def test_duplicate_gives_another_progressive_layer_over_the_same_source(viewer, shot):
    image = npg.add_progressive_image(
        viewer, encoded_pyramid(), colormap="magma", contrast_limits=(10, 200), lod_bias=1.0
    )
    labels = npg.add_progressive_labels(
        viewer, [np.arange(64 * 64, dtype=np.uint32).reshape(64, 64)]
    )
    viewer.layers.selection = {image, labels}
    _duplicate_layer(viewer.layers)
    names = [lyr.name for lyr in viewer.layers]
    assert names == ["encoded", "encoded copy", "arrays", "arrays copy"]
    copy, labels_copy = viewer.layers[1], viewer.layers[3]
    assert isinstance(copy, ProgressiveImage) and isinstance(labels_copy, ProgressiveLabels)
    assert copy.loader.source is image.loader.source
    assert copy.contrast_limits == [10, 200] and copy.colormap.name == "magma"
    assert copy.loader.lod_bias == 1.0
    image.visible = labels.visible = labels_copy.visible = False
    assert shot(viewer)[..., :3].std() > 10  # the copy draws


def test_save_writes_ome_zarr_and_says_what_it_can_do(viewer, shot, tmp_path):
    layer = npg.add_progressive_image(viewer, encoded_pyramid())
    with pytest.raises(ValueError, match="saved as OME-Zarr"):
        layer.save(str(tmp_path / "out.tif"))
    assert layer.save(str(tmp_path / "out.ome.zarr")) == [str(tmp_path / "out.ome.zarr")]
    again = npg.open_source(str(tmp_path / "out.ome.zarr"))
    np.testing.assert_array_equal(
        LazyLevelArray(again, 0).read(), LazyLevelArray(layer.loader.source, 0).read()
    )


def test_export_runs_in_the_background_and_can_be_cancelled(viewer, qtbot, tmp_path):
    layer = npg.add_progressive_image(viewer, encoded_pyramid())
    job = BackgroundExport(layer, tmp_path / "coarse.ome.zarr", first_level=2)
    qtbot.waitUntil(job.done.is_set, timeout=20_000)
    assert job.completed and job.error is None
    assert len(npg.open_source(str(tmp_path / "coarse.ome.zarr")).levels) == 2
    cancelled = BackgroundExport(layer, tmp_path / "all.ome.zarr")
    cancelled.progress.cancel()
    qtbot.waitUntil(cancelled.done.is_set, timeout=20_000)
    assert not cancelled.completed


def test_export_is_in_the_file_and_layers_menus(viewer):
    from napari._app_model import get_app_model

    app = get_app_model()
    for menu in ("napari/file/io_utilities", "napari/layers/data"):
        titles = [getattr(item, "command", None) for item in app.menus.get_menu(menu)]
        ids = {c.id for c in titles if c is not None}
        assert "napari-progressive.export_layer" in ids, menu
