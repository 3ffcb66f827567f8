"""Loading progress and failures show where napari users look: the layer list and notifications."""

from napari.utils.notifications import notification_manager

import napari_progressive as npg
from napari_progressive.integration.loading_status import SHOW_LOADING_AFTER_MS, cause_key
from tests.pyramids import InstrumentedSource, encoded_pyramid


def test_the_layer_list_shows_loading_until_the_view_is_complete(viewer, shot, qtbot):
    slow = InstrumentedSource(encoded_pyramid(), delay=1.0, delay_levels={0})
    layer = npg.add_progressive_image(viewer, slow, contrast_limits=(0, 255))
    viewer.scene.camera.zoom = 3.0
    qtbot.wait(2 * SHOW_LOADING_AFTER_MS)
    assert not layer.loaded  # napari's layer list animates rows of layers not loaded
    model = viewer.window._qt_viewer.layers.model()
    tooltip = model.data(model.index(0, 0), 3)  # Qt.ToolTipRole
    assert "(loading)" in tooltip
    shot(viewer)
    qtbot.waitUntil(lambda: layer.loaded, timeout=10_000)


def test_each_cause_of_failed_tiles_is_notified_once(viewer, shot, qtbot):
    failing = {(0, (i, j)) for i in range(6) for j in range(5)}
    src = InstrumentedSource(encoded_pyramid(), fail=failing)
    seen = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        layer = npg.add_progressive_image(viewer, src, contrast_limits=(0, 255))
        viewer.scene.camera.zoom = 2.0
        shot(viewer)
        viewer.scene.camera.center = (500, 300)
        shot(viewer)
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    warnings = [n.message for n in seen if "failed to load" in n.message]
    assert len(warnings) == 1, warnings
    assert layer.name in warnings[0] and "injected failure" in warnings[0]
    assert npg.stats(layer).failed > 1


def test_causes_differ_by_more_than_their_chunk():
    assert cause_key("HTTP 404 for '0/1.2'") == cause_key("HTTP 404 for '0/3.4'")
    assert cause_key("timed out") != cause_key("connection refused")
