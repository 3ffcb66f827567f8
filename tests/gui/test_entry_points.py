"""The plugin menu (sample data), the widget and the command line."""

import pytest

import napari_progressive as npg
from napari_progressive.cli import main
from napari_progressive.integration.layer import ProgressiveImage
from napari_progressive.integration.widget import ProgressiveWidget
from napari_progressive.sources.mandelbrot import parse_mandelbrot_uri


def test_sample_data_opens_a_progressive_mandelbrot(viewer, shot):
    layers = viewer.open_sample("napari-progressive", "mandelbrot")
    assert len(layers) == 1 and isinstance(layers[0], ProgressiveImage)
    layer = layers[0]
    assert len(layer.loader.levels) == 18
    assert layer.data.shape == (134_217_728, 134_217_728)
    img = shot(viewer)
    assert img[..., :3].std() > 10
    assert npg.stats(layer).levels == (17,)


def test_mandelbrot_uri_options_are_checked():
    assert parse_mandelbrot_uri("mandelbrot://levels=6,tile=128") == {"levels": 6, "tile": 128}
    with pytest.raises(ValueError, match="expected levels"):
        parse_mandelbrot_uri("mandelbrot://depth=3")


def test_widget_shows_stats_and_toggles_the_overlay(viewer, shot, qtbot):
    layer = npg.add_progressive_image(viewer, npg.datasets.mandelbrot(levels=5, tile=128))
    widget = ProgressiveWidget(viewer)
    qtbot.addWidget(widget)
    shot(viewer)
    s = npg.stats(layer)
    assert s.available == s.needed > 0
    shown = f"{s.needed}/{s.needed} shown"  # the widget follows the tiles as they land
    qtbot.waitUntil(lambda: shown in widget.stats_label.text(), timeout=3000)
    assert "levels drawn" in widget.legend.text()
    widget.overlay_box.setChecked(True)
    assert layer.debug_overlay
    widget.close()


# napari-owned viewers need the plugin registry isolation that this fixture sets up
@pytest.mark.usefixtures("make_napari_viewer")
def test_cli_screenshot_renders_and_exits(tmp_path, qtbot):
    out = tmp_path / "demo.png"
    code = main(
        [
            "demo",
            "mandelbrot",
            "--levels",
            "6",
            "--tile",
            "128",
            "--screenshot",
            str(out),
            "--size",
            "400",
            "300",
            "--center-complex",
            "-0.75",
            "0.1",
            "--zoom",
            "2",
            "--overlay",
        ]
    )
    assert code == 0
    import imageio.v3 as iio

    img = iio.imread(out)
    assert img.shape[0] > 100 and img[..., :3].std() > 10
