import numpy as np
import pytest

from napari_progressive.core.errors import SourceError
from napari_progressive.integration.lazy_array import LazyLevelArray
from napari_progressive.sources.export import export_bytes, export_omezarr
from napari_progressive.sources.open import open_source
from tests.pyramids import encoded_pyramid


@pytest.mark.parametrize("first_level", [0, 2])
def test_exported_levels_open_again_with_the_same_pixels_and_placement(tmp_path, first_level):
    source = encoded_pyramid()
    seen = []
    done = export_omezarr(
        source, tmp_path / "out.ome.zarr", first_level=first_level, on_progress=seen.append
    )
    assert done and seen[-1].written == seen[-1].total == len(seen)
    again = open_source(str(tmp_path / "out.ome.zarr"))
    assert len(again.levels) == len(source.levels) - first_level
    for i, lv in enumerate(again.levels):
        original = source.levels[first_level + i]
        assert lv.shape == original.shape and lv.dtype == original.dtype
        np.testing.assert_allclose(lv.scale, original.scale)
        np.testing.assert_allclose(lv.translate, original.translate)
        np.testing.assert_array_equal(
            LazyLevelArray(again, i).read(), LazyLevelArray(source, first_level + i).read()
        )


def test_a_cancelled_export_stops_between_chunks(tmp_path):
    seen = []
    done = export_omezarr(
        encoded_pyramid(),
        tmp_path / "out.ome.zarr",
        on_progress=seen.append,
        cancelled=lambda: len(seen) >= 3,
    )
    assert not done and len(seen) == 3


def test_export_refuses_to_overwrite_and_counts_its_bytes(tmp_path):
    source = encoded_pyramid()
    export_omezarr(source, tmp_path / "out.ome.zarr", first_level=3)
    with pytest.raises(SourceError, match="exists already"):
        export_omezarr(source, tmp_path / "out.ome.zarr", first_level=3)
    with pytest.raises(SourceError, match="no level 9"):
        export_omezarr(source, tmp_path / "other.ome.zarr", first_level=9)
    assert export_bytes(source, 3) == int(np.prod(source.levels[3].shape))
