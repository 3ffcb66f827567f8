"""The Mandelbulb source: its kernel, its levels, its bricks and its URI."""

import numpy as np
import pytest

from napari_progressive.core.errors import SourceError
from napari_progressive.core.geometry import level_mappings
from napari_progressive.core.source import is_compute_bound, source_identity
from napari_progressive.datasets import mandelbulb
from napari_progressive.sources.mandelbulb import (
    CUBE_MIN,
    CUBE_SIDE,
    MandelbulbSource,
    parse_mandelbulb_uri,
)
from napari_progressive.sources.open import open_layers, open_source


def _level(source, level):
    """A whole level, assembled from its bricks."""
    lv = source.levels[level]
    out = np.empty(lv.shape, lv.dtype)
    for index in lv.iter_chunks():
        out[lv.chunk_slices(index)] = source.read_chunk(level, index)
    return out


def _trig_inside(n, max_iter):
    """Inside the power-8 bulb of White and Nylander (r**8, theta * 8, phi * 8) on an n**3 grid.

    theta is the polar angle from the z axis; axes are (z, y, x) at voxel centres.
    """
    c = CUBE_MIN + (np.arange(n) + 0.5) * CUBE_SIDE / n
    cz, cy, cx = np.meshgrid(c, c, c, indexing="ij")
    x, y, z = np.zeros_like(cx), np.zeros_like(cx), np.zeros_like(cx)
    inside = np.ones(cx.shape, bool)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(max_iter):
            r = np.sqrt(x * x + y * y + z * z)
            theta = np.arccos(np.where(r > 0, z / np.where(r > 0, r, 1), 1.0))
            phi = np.arctan2(y, x)
            r8 = r**8
            x = np.where(inside, r8 * np.sin(8 * theta) * np.cos(8 * phi) + cx, x)
            y = np.where(inside, r8 * np.sin(8 * theta) * np.sin(8 * phi) + cy, y)
            z = np.where(inside, r8 * np.cos(8 * theta) + cz, z)
            inside &= x * x + y * y + z * z <= 4.0
    return inside


def test_the_trig_free_kernel_is_the_trig_form_of_the_bulb():
    source = MandelbulbSource(levels=1, chunk=24, max_iter=10)
    got = _level(source, 0) > 0
    want = _trig_inside(48, 10)
    assert 0.1 < want.mean() < 0.5  # the grid holds the bulb and space around it
    assert (got != want).sum() <= 5  # rounding, on the surface


def test_outside_is_zero_and_inside_is_shaded():
    values = _level(MandelbulbSource(levels=1, chunk=32), 0)
    assert values[0, 0, 0] == 0 and values[-1, -1, -1] == 0
    inside = values[values > 0]
    assert 0.1 < inside.size / values.size < 0.3
    assert inside.min() >= 1 and np.ptp(inside) > 100  # the orbit trap shades the inside


def test_levels_sample_the_bulb_at_their_voxel_centres():
    source = MandelbulbSource(levels=3, chunk=8)
    maps = level_mappings(source.levels)
    for lv in range(1, 3):
        centre = maps[lv].offset + 5 * maps[lv].factor  # level-0 coordinate of level voxel 5
        f = 2**lv
        block = [source.point_at(5 * f + i, 5 * f + i, 5 * f + i) for i in range(f)]
        assert source.point_at(*centre) == pytest.approx(tuple(np.mean(block, axis=0)))
    # level 1 of a pyramid is level 0 of the pyramid half its size, voxel for voxel
    half = MandelbulbSource(levels=2, chunk=8)
    for index in [(0, 0, 0), (1, 2, 3), (3, 3, 3)]:
        np.testing.assert_array_equal(source.read_chunk(1, index), half.read_chunk(0, index))


def test_a_coarse_level_is_the_fine_level_downsampled_away_from_the_surface():
    source = MandelbulbSource(levels=2, chunk=32)
    fine = _level(source, 0) > 0
    coarse = _level(source, 1) > 0
    blocks = fine.reshape(64, 2, 64, 2, 64, 2).mean(axis=(1, 3, 5))
    settled = (blocks == 0) | (blocks == 1)  # all 8 fine voxels agree
    agree = coarse[settled] == (blocks[settled] == 1)
    assert settled.mean() > 0.8 and agree.mean() > 0.99


def test_a_million_voxels_a_side_in_32_cubed_bricks_down_to_64_cubed():
    source = mandelbulb()
    levels = source.levels
    assert len(levels) == 15 and levels[0].shape == (1_048_576,) * 3
    assert levels[-1].shape == (64,) * 3 and levels[-1].grid == (2, 2, 2)
    for i, lv in enumerate(levels):
        assert lv.chunks == (32, 32, 32) and lv.dtype == np.uint8
        assert lv.grid == (2 ** (15 - i),) * 3
    corner = source.read_chunk(0, (32_767,) * 3)
    centre = source.read_chunk(0, (16_384,) * 3)  # at the origin, deep inside
    assert corner.shape == centre.shape == (32, 32, 32)
    assert not corner.any() and centre.all()


def test_every_level_is_whole_bricks_so_the_last_brick_is_full():
    source = MandelbulbSource(levels=3, chunk=12)
    for i, lv in enumerate(source.levels):
        assert all(s % 12 == 0 for s in lv.shape)
        last = tuple(g - 1 for g in lv.grid)
        assert source.read_chunk(i, last).shape == (12, 12, 12)


def test_the_source_is_computed_and_has_an_identity():
    source = MandelbulbSource(levels=4, chunk=16, max_iter=12)
    assert is_compute_bound(source)
    assert source_identity(source) == "mandelbulb:levels=4,chunk=16,max_iter=12"
    assert source.name == "mandelbulb-4x16"


def test_uris_open_the_mandelbulb_with_its_display():
    source = open_source("mandelbulb://levels=4,chunk=16,max_iter=12")
    assert isinstance(source, MandelbulbSource)
    assert source.levels[0].shape == (256,) * 3 and source.max_iter == 12
    (spec,) = open_layers("mandelbulb://")
    assert spec.name == "Mandelbulb (15 levels)"
    assert spec.display["rendering"] == "attenuated_mip" and len(spec.display["view_3d"]) == 3


def test_uri_options_in_range():
    assert parse_mandelbulb_uri("mandelbulb://") == {}
    assert parse_mandelbulb_uri("mandelbulb://levels=15,chunk=32,max_iter=10000") == {
        "levels": 15,
        "chunk": 32,
        "max_iter": 10_000,
    }
    assert parse_mandelbulb_uri("mandelbulb://levels=12,chunk=256") == {"levels": 12, "chunk": 256}


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mandelbulb://levels=0", "levels must be 1 to 20"),
        ("mandelbulb://chunk=0", "chunk must be 1 to 256"),
        ("mandelbulb://chunk=257", "chunk must be 1 to 256"),
        ("mandelbulb://max_iter=10001", "max_iter must be 1 to 10000"),
        ("mandelbulb://max_iter=" + "9" * 5000, "max_iter must be"),
        ("mandelbulb://levels=16", "over 1048576"),
        ("mandelbulb://levels=13,chunk=256", "over 1048576"),
        ("mandelbulb://tile=32", "expected levels=N, chunk=N, max_iter=N or times=N"),
        ("mandelbulb://times=10001", "times must be 0 to 10000"),
        ("mandelbulb://levels=\u00b2", "expected levels"),
        ("mandelbulb://levels=-1", "expected levels"),
        ("mandelbrot://levels=4", "not a mandelbulb URI"),
    ],
)
def test_uri_options_out_of_range(uri, message):
    with pytest.raises(SourceError, match=message):
        parse_mandelbulb_uri(uri)


def test_the_time_lapse_turns_the_bulb_and_keeps_time_at_every_level():
    from napari_progressive.sources.mandelbulb import MandelbulbSource

    still = MandelbulbSource(levels=3, chunk=16)
    movie = MandelbulbSource(levels=3, chunk=16, times=6)
    assert [lv.shape for lv in movie.levels] == [(6, *lv.shape) for lv in still.levels]
    assert all(lv.chunks == (1, 16, 16, 16) and lv.scale[0] == 1.0 for lv in movie.levels)
    coarsest = len(movie.levels) - 1
    first = movie.read_chunk(coarsest, (0, 1, 1, 1))
    assert first.shape == (1, 16, 16, 16)
    np.testing.assert_array_equal(first[0], still.read_chunk(coarsest, (1, 1, 1)))
    later = movie.read_chunk(coarsest, (3, 1, 1, 1))
    assert (later != first).mean() > 0.01  # turned
    assert movie.identity != still.identity and "times=6" in movie.identity


def test_a_time_lapse_uri_opens_four_axes():
    from napari_progressive.sources.open import open_layers

    (spec,) = open_layers("mandelbulb://levels=4,chunk=8,times=5")
    assert spec.source.levels[0].shape == (5, 128, 128, 128)
    assert spec.display["axis_labels"] == ("t", "z", "y", "x")
    assert "5 time points" in spec.name
