"""Bricks cut from a level's chunks, with a one-voxel border from their neighbours."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from napari_progressive.core.bricks import (
    BORDER,
    BRICK,
    BRICK_TEXELS,
    BrickKey,
    brick_chunks,
    brick_grid,
    cut_brick,
)
from napari_progressive.core.geometry import Level
from napari_progressive.core.tiles import ChunkKey


def level_of(data, chunks):
    return Level(data.shape, chunks, data.dtype, (1.0,) * data.ndim, (0.0,) * data.ndim)


def chunks_of(data, level, keys):
    return {k: data[level.chunk_slices(k.index)] for k in keys}


def reference(data, key, level):
    """The brick with its border, cut from the whole array padded by edge replication."""
    index = [slice(None)] * data.ndim
    for axis, pixel in key.plane:
        index[axis] = pixel
    kept = [a for a in range(data.ndim) if a not in dict(key.plane)]
    volume = np.transpose(data[tuple(index)], [kept.index(a) for a in key.displayed])
    beyond = [-n % BRICK for n in volume.shape]  # up to whole bricks
    padded = np.pad(volume, [(BORDER, BORDER + b) for b in beyond], mode="edge")
    start = np.asarray(key.brick) * BRICK
    return padded[tuple(slice(a, a + BRICK_TEXELS) for a in start)]


@pytest.mark.parametrize("displayed", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_every_brick_equals_the_padded_reference(displayed):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 60000, (70, 45, 100), dtype=np.uint16)
    level = level_of(data, (20, 16, 64))
    for index in product(*(range(n) for n in brick_grid(level, displayed))):
        key = BrickKey(0, displayed, index)
        keys = brick_chunks(level, key)
        brick = cut_brick(level, key, chunks_of(data, level, keys))
        assert brick.shape == (BRICK_TEXELS,) * 3
        np.testing.assert_array_equal(brick, reference(data, key, level))


def test_a_brick_of_a_time_series_reads_only_its_time_point():
    data = np.arange(3 * 40 * 40 * 40, dtype=np.float32).reshape(3, 40, 40, 40)
    level = level_of(data, (1, 16, 16, 16))
    key = BrickKey(0, (1, 2, 3), (1, 0, 0), plane=((0, 2),))
    keys = brick_chunks(level, key)
    assert {k.index[0] for k in keys} == {2}
    # a 32^3 brick at voxels 32..39 along depth with its border: depth chunks 1 and 2
    assert {k.index[1] for k in keys} == {1, 2}
    brick = cut_brick(level, key, chunks_of(data, level, keys))
    np.testing.assert_array_equal(brick, reference(data, key, level))


def test_a_brick_reads_its_neighbours_only_for_the_border():
    data = np.zeros((128, 128, 128), np.uint8)
    level = level_of(data, (32, 32, 32))
    inner = brick_chunks(level, BrickKey(0, (0, 1, 2), (1, 1, 1)))
    assert len(inner) == 27  # its own chunk and the 26 around it, for one voxel each
    corner = brick_chunks(level, BrickKey(0, (0, 1, 2), (0, 0, 0)))
    assert set(corner) == {ChunkKey(0, i) for i in product((0, 1), repeat=3)}
