"""Hours of browsing in minutes: layers added and removed, the camera moved, nothing grows.

The default run is short; ``pytest -m long tests/gui/test_soak.py`` runs the
full lengths (50 layers, 10,000 camera moves).
"""

from __future__ import annotations

import resource
import threading

import numpy as np
import pytest

import napari_progressive as npg
from napari_progressive.core.executor import default_workers
from napari_progressive.integration.shared import shared_gpu_budget, shared_host_cache
from tests.pyramids import encoded_pyramid


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _threads() -> tuple[int, int]:
    """Threads of the shared chunk pool, and all others."""
    names = [t.name for t in threading.enumerate()]
    pool = sum(name.startswith("napari-progressive") for name in names)
    return pool, len(names) - pool


def _layers_come_and_go(viewer, shot, n: int) -> None:
    gpu = shared_gpu_budget()
    rng = np.random.default_rng(0)
    rss, threads = [], []
    for _ in range(n):
        level0 = rng.integers(1, 255, (1024, 768), dtype=np.uint8)
        layer = npg.add_progressive_image(viewer, [level0, level0[::2, ::2].copy()])
        viewer.reset_view()
        shot(viewer)
        assert npg.stats(layer).host_bytes > 0
        viewer.layers.remove(layer)
        assert npg.stats(layer).host_bytes == 0  # a removed layer frees its share
        del layer
        rss.append(_rss_mib())
        threads.append(_threads())
    assert gpu.used_bytes == 0, "every texture page went back to the budget"
    assert threads[-1][0] <= default_workers(), "the shared pool stays within its size"
    assert threads[-1][1] <= threads[min(4, n - 1)][1], "no other thread is left behind"
    warm = rss[min(4, n - 1)]
    assert rss[-1] - warm < 64, f"RSS grew from {warm:.0f} to {rss[-1]:.0f} MiB"


def _camera_wanders(viewer, shot, qtbot, moves: int) -> None:
    layer = npg.add_progressive_image(viewer, encoded_pyramid((4096, 4096), (256, 256), 5))
    cache, gpu = shared_host_cache(), shared_gpu_budget()
    rng = np.random.default_rng(1)
    shot(viewer)
    threads = _threads()
    for _ in range(moves):
        viewer.scene.camera.center = tuple(rng.uniform(0, 4096, 2))
        viewer.scene.camera.zoom = float(2.0 ** rng.uniform(-3, 2))
        qtbot.wait(1)  # a frame: the move is planned and drawn
        assert layer.loader.scheduler.queued < 4096
    shot(viewer)
    assert cache.nbytes <= cache.budget_bytes
    assert gpu.used_bytes <= gpu.budget_bytes
    assert _threads()[0] <= default_workers() and _threads()[1] <= threads[1]
    assert npg.stats(layer).failed == 0


def test_layers_added_and_removed_free_everything(viewer, shot):
    _layers_come_and_go(viewer, shot, 12)


def test_the_camera_wanders_and_nothing_grows(viewer, shot, qtbot):
    _camera_wanders(viewer, shot, qtbot, 300)


@pytest.mark.long
def test_fifty_layers_added_and_removed(viewer, shot):
    _layers_come_and_go(viewer, shot, 50)


@pytest.mark.long
def test_ten_thousand_camera_moves(viewer, shot, qtbot):
    _camera_wanders(viewer, shot, qtbot, 10_000)
