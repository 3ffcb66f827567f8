import numpy as np
import pytest

from napari_progressive.core.geometry import (
    Level,
    block_pyramid,
    level_mappings,
    validate_levels,
)
from napari_progressive.sources.mandelbrot import MandelbrotSource


def test_block_pyramid_shapes_round_up_and_offsets_follow_pixel_centres():
    levels = block_pyramid((1000, 300), (256, 256), np.uint8, 4)
    assert [lv.shape for lv in levels] == [(1000, 300), (500, 150), (250, 75), (125, 38)]
    maps = level_mappings(levels)
    # level-l pixel j covers level-0 pixels j*f .. j*f+f-1 exactly
    for lv, m in enumerate(maps):
        f = 2**lv
        lo, hi = m.edges(np.array([3, 3]), np.array([4, 4]))
        np.testing.assert_allclose(lo, [3 * f - 0.5] * 2)
        np.testing.assert_allclose(hi, [4 * f - 0.5] * 2)
        # the centre of that block maps back to pixel 3
        assert tuple(m.pixel_of(np.array([3.5 * f - 0.5] * 2))) == (3, 3)


def test_pixel_of_is_the_inverse_of_edges_everywhere():
    levels = block_pyramid((64,), (8,), np.uint8, 3, translate=(10.0,), scale=(2.0,))
    for m in level_mappings(levels):
        for j in range(5):
            lo, hi = m.edges(np.array([j]), np.array([j + 1]))
            assert m.pixel_of(lo + 1e-9)[0] == j
            assert m.pixel_of(hi - 1e-9)[0] == j


def test_chunk_slices_clip_at_edges():
    lv = Level((10, 7), (4, 4), np.dtype(np.uint8), (1.0, 1.0), (0.0, 0.0))
    assert lv.grid == (3, 2)
    assert lv.chunk_slices((2, 1)) == (slice(8, 10), slice(4, 7))
    assert len(list(lv.iter_chunks())) == 6


def test_levels_must_go_fine_to_coarse():
    fine = Level((8, 8), (4, 4), np.dtype(np.uint8), (1.0, 1.0), (0.0, 0.0))
    coarse = Level((4, 4), (4, 4), np.dtype(np.uint8), (2.0, 2.0), (0.5, 0.5))
    validate_levels([fine, coarse])
    with pytest.raises(ValueError, match="from fine to coarse"):
        validate_levels([coarse, fine])
    with pytest.raises(ValueError, match="axes"):
        Level((8, 8), (4,), np.dtype(np.uint8), (1.0, 1.0), (0.0, 0.0))


def test_mandelbrot_levels_line_up_exactly():
    """A level-1 pixel samples the fractal at the centre of its 2x2 block."""
    src = MandelbrotSource(levels=4, tile=64)
    assert src.size == 64 * 2**4
    assert src.levels[-1].grid == (2, 2)
    # the complex point of level-l pixel j is the mean of its level-0 block's points
    for lv in range(1, 4):
        f = 2**lv
        m = level_mappings(src.levels)[lv]
        centre = m.offset + 5 * m.factor  # level-0 coordinate of level pixel 5
        block = [src.complex_at(5 * f + i, 5 * f + i) for i in range(f)]
        assert src.complex_at(*centre) == pytest.approx(np.mean(block))
    # level 1 of a pyramid is level 0 of the pyramid half its size, pixel for pixel
    half = MandelbrotSource(levels=3, tile=64)
    for index in [(0, 0), (3, 5), (7, 7)]:
        np.testing.assert_array_equal(src.read_chunk(1, index), half.read_chunk(0, index))


def test_mandelbrot_coordinates_round_trip():
    src = MandelbrotSource()
    z = complex(-0.743643887, 0.131825904)
    row, col = src.data_coord_of(z)
    assert src.complex_at(row, col) == pytest.approx(z, abs=1e-12)
