import numpy as np
import pytest

import napari_progressive as npg


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
