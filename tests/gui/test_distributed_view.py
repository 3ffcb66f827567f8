"""A viewer whose Mandelbrot tiles are computed on a dask.distributed cluster."""

from __future__ import annotations

import numpy as np
import pytest

import napari_progressive as npg
from napari_progressive.core.cache import HostCache
from napari_progressive.datasets import mandelbrot
from napari_progressive.sources.mandelbrot import mandelbrot_display

distributed = pytest.importorskip("distributed")


@pytest.fixture
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as c,
    ):
        yield c


def test_cluster_renders_what_the_thread_pool_renders(viewer, shot, client):
    display = mandelbrot_display(8)
    local = npg.add_progressive_image(viewer, mandelbrot(levels=8, tile=256), **display)
    viewer.scene.camera.zoom = 1.3
    expected = shot(viewer)
    local.visible = False
    remote = npg.add_progressive_image(  # its own host cache: the local tiles would be reused
        viewer,
        mandelbrot(levels=8, tile=256),
        executor=client,
        host_cache=HostCache(2**28),
        **display,
    )
    got = shot(viewer)
    assert npg.stats(remote).available == npg.stats(remote).needed > 0
    assert remote.loader.read_threads and "MainThread" not in remote.loader.read_threads
    assert np.array_equal(got, expected)
