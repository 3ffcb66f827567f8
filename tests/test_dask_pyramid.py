"""The bench's lazily computed dask pyramid and its stored copy."""

from __future__ import annotations

import numpy as np

from napari_progressive.bench import dask_pyramid


def test_the_kernel_keeps_the_set_black_and_escapes_outside():
    side = 300
    pixel = dask_pyramid.EXTENT / side
    inside = (0 - dask_pyramid.ORIGIN) / pixel  # c = 0 never escapes
    far = (complex(-1.99, -1.49) - dask_pyramid.ORIGIN) / pixel
    rows = np.array([int(inside.imag), int(far.imag)])
    cols = np.array([int(inside.real), int(far.real)])
    values = dask_pyramid.escape_times(rows, cols, pixel)
    assert values[0, 0] == 0
    assert values[1, 1] == 1  # |c| > 2: escapes at the first iteration


def test_the_stored_copy_holds_what_the_dask_pyramid_computes():
    lazy = dask_pyramid.computed(512, 3)
    stored = dask_pyramid.stored_copy(512, 3)
    assert [lv.shape for lv in lazy.levels] == [(512, 512), (256, 256), (128, 128)]
    for level in range(3):
        a, b = lazy.read_chunk(level, (0, 0)), stored.read_chunk(level, (0, 0))
        np.testing.assert_array_equal(a, b)
        assert 0 < a.mean() < dask_pyramid.ITERATIONS
