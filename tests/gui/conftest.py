import os

import numpy as np
import pytest

import napari_progressive as npg

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer, qtbot):
    v = make_napari_viewer(show=True)
    v.window._qt_window.resize(900, 700)
    qtbot.wait_exposed(v.window._qt_window)
    qtbot.wait(50)
    return v


@pytest.fixture
def shot(qtbot):
    """Render the canvas and return it as (H, W, 4) uint8.

    With ``idle`` (the default) all tiles have landed first; without, the
    window paints once, as it would on screen, before the capture.
    """

    def take(viewer, idle=True):
        if idle:
            assert npg.wait_until_idle(viewer, timeout=60), "did not become idle"
        else:
            qtbot.wait(30)
        return np.asarray(viewer.screenshot(canvas_only=True, flash=False))

    return take


def pytest_collection_modifyitems(items):
    if not os.environ.get("DISPLAY"):
        skip = pytest.mark.skip(reason="GUI tests need a display: run them under xvfb-run")
        for item in items:
            if "gui" in str(item.fspath):
                item.add_marker(skip)
