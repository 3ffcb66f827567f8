import numpy as np
import pytest

from napari_progressive.core.errors import ChunkReadError
from napari_progressive.sources.arrays import ArrayPyramidSource
from napari_progressive.sources.faults import FaultInjectingSource

BASE = ArrayPyramidSource([np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)], chunks=(8, 8))


def outcomes(src):
    out = {}
    for index in BASE.levels[0].iter_chunks():
        try:
            chunk = src.read_chunk(0, index)
            out[index] = "corrupt" if chunk.shape != (8, 8) else "ok"
        except ChunkReadError:
            out[index] = "error"
    return out


def test_faults_are_seeded_per_chunk_and_rates_roughly_hold():
    a = outcomes(FaultInjectingSource(BASE, error_rate=0.3, corrupt_rate=0.2, seed=7))
    b = outcomes(FaultInjectingSource(BASE, error_rate=0.3, corrupt_rate=0.2, seed=7))
    c = outcomes(FaultInjectingSource(BASE, error_rate=0.3, corrupt_rate=0.2, seed=8))
    assert a == b and a != c
    values = list(a.values())
    assert 0.15 < values.count("error") / len(values) < 0.45
    assert values.count("corrupt") > 0 and values.count("ok") > 0


def test_clean_wrapper_reads_through_and_counts():
    src = FaultInjectingSource(BASE)
    np.testing.assert_array_equal(src.read_chunk(0, (1, 2)), BASE.read_chunk(0, (1, 2)))
    assert src.reads == 1 and src.levels == BASE.levels


def test_rates_are_validated():
    with pytest.raises(ValueError, match="rates"):
        FaultInjectingSource(BASE, error_rate=2)
