"""One test-suite every adapter passes: same levels, same chunks, missing and corrupt chunks.

Each subclass writes a dataset with the ecosystem's own writer (see
``tests/datasets.py``) and says what it expects; the tests are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from napari_progressive import open_source
from napari_progressive.core.errors import ChunkReadError
from tests import datasets as ds

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Case:
    uri: Any
    levels: list[np.ndarray]  # expected, in the source's axis order
    chunk_file: Path | None = None  # a stored chunk holding the level-0 origin
    missing: tuple[slice, ...] = ()  # level-0 region that chunk covers
    atol: float = 0


def first_chunk(folder: Path) -> Path:
    """The stored chunk of the origin: a file whose relative path is all zeros (zarr, n5)."""
    for f in sorted(folder.rglob("*")):
        parts = f.relative_to(folder).parts
        if f.is_file() and all(p in ("0", "c", "0.0", "0.0.0") for p in parts):
            return f
    raise AssertionError(f"no chunk file in {folder}")


def _level0(image: Path) -> Path:
    """The finest dataset of an ome-zarr-py image (``s0``; ``0`` in older versions)."""
    return image / "s0" if (image / "s0").exists() else image / "0"


class AdapterSuite:
    def make(self, root: Path) -> Case:
        raise NotImplementedError

    @pytest.fixture
    def case(self, tmp_path):
        return self.make(tmp_path)

    def test_levels_match_what_was_written(self, case):
        src = open_source(case.uri)
        assert [lv.shape for lv in src.levels] == [a.shape for a in case.levels]
        assert all(lv.dtype == a.dtype for lv, a in zip(src.levels, case.levels, strict=True))
        scales = np.array([lv.scale for lv in src.levels])
        assert np.all(np.diff(scales, axis=0) >= 0), "levels go from fine to coarse"

    def test_every_chunk_matches(self, case):
        src = open_source(case.uri)
        for i, (lv, expected) in enumerate(zip(src.levels, case.levels, strict=True)):
            for index in lv.iter_chunks():
                got = src.read_chunk(i, index)
                want = expected[lv.chunk_slices(index)]
                assert got.shape == want.shape
                np.testing.assert_allclose(got, want, atol=case.atol, err_msg=f"{i} {index}")

    def test_missing_chunk_reads_fill_value(self, case):
        if case.chunk_file is None:
            pytest.skip("in-memory data has no chunk files")
        case.chunk_file.unlink()
        src = open_source(case.uri)
        lv = src.levels[0]
        tile = src.read_chunk(0, (0,) * lv.ndim)
        region = tuple(
            slice(0, min(s.stop, t)) for s, t in zip(case.missing, tile.shape, strict=True)
        )
        assert np.all(tile[region] == 0)

    def test_corrupt_chunk_raises_chunk_read_error(self, case):
        if case.chunk_file is None:
            pytest.skip("in-memory data has no chunk files")
        case.chunk_file.write_bytes(b"\x01corrupt" * 3)
        src = open_source(case.uri)
        with pytest.raises(ChunkReadError, match="level 0"):
            _read_level0(src)


def _read_level0(src) -> None:
    """Read every chunk of level 0 (a corrupt shard index may state some chunks missing)."""
    for index in src.levels[0].iter_chunks():
        src.read_chunk(0, index)


def _pyramid(a: np.ndarray, n: int) -> list[np.ndarray]:
    out = [a]
    for _ in range(n - 1):
        out.append(ds.block_mean(out[-1]).astype(a.dtype))
    return out


class TestArrayList(AdapterSuite):
    def make(self, root):
        levels = _pyramid(ds.smooth_image((300, 200)), 3)
        return Case(levels, levels)


class TestSingleNumpyArray(AdapterSuite):
    def make(self, root):
        a = ds.smooth_image((1100, 700), np.float32)
        return Case(a, [lv.astype(np.float32) for lv in _pyramid(a, 3)], atol=1e-5)


class TestZarrV2(AdapterSuite):
    def make(self, root):
        levels = ds.write_ts_pyramid(
            root / "p.zarr", _pyramid(ds.smooth_image((300, 200)), 3), "zarr", [64, 64]
        )
        return Case(
            str(root / "p.zarr"), levels, first_chunk(root / "p.zarr" / "0"), np.s_[:64, :64]
        )


class TestZarrV3(AdapterSuite):
    def make(self, root):
        levels = ds.write_ts_pyramid(
            root / "p.zarr", _pyramid(ds.smooth_image((4, 300, 200)), 3), "zarr3", [1, 64, 64]
        )
        return Case(
            str(root / "p.zarr"), levels, first_chunk(root / "p.zarr" / "0"), np.s_[:1, :64, :64]
        )


class TestN5Spec(AdapterSuite):
    def make(self, root):
        a = ds.smooth_image((700, 600), np.uint8)
        ds.write_ts_pyramid(root / "v.n5", [a], "n5", [128, 128])
        spec = {"driver": "n5", "kvstore": f"file://{root}/v.n5/0/"}
        half = ds.block_mean(a)
        levels = [a, *(np.round(m).astype(np.uint8) for m in (half, ds.block_mean(half)))]
        return Case(spec, levels, first_chunk(root / "v.n5" / "0"), np.s_[:128, :128], atol=1)


class TestOmeZarr04Channels(AdapterSuite):
    def make(self, root):
        levels = ds.write_omezarr(
            root / "i.zarr", ds.smooth_image((2, 300, 400)), "0.4", "cyx", (1, 64, 64)
        )
        return Case(
            str(root / "i.zarr"), levels, first_chunk(_level0(root / "i.zarr")), np.s_[:1, :64, :64]
        )


class TestOmeZarr05Volume(AdapterSuite):
    def make(self, root):
        levels = ds.write_omezarr(
            root / "v.zarr", ds.smooth_image((6, 300, 200)), "0.5", "zyx", (1, 64, 64)
        )
        return Case(
            str(root / "v.zarr"), levels, first_chunk(_level0(root / "v.zarr")), np.s_[:1, :64, :64]
        )


class TestOmeZarrOverHttp(AdapterSuite):
    """The same OME-Zarr, served by a local HTTP server started by the test."""

    @pytest.fixture
    def case(self, tmp_path):
        levels = ds.write_omezarr(
            tmp_path / "v.zarr", ds.smooth_image((300, 200)), "0.5", "yx", (64, 64)
        )
        with ds.StaticServer(tmp_path) as url:
            yield Case(
                f"{url}/v.zarr", levels, first_chunk(_level0(tmp_path / "v.zarr")), np.s_[:64, :64]
            )


def _zyx(scales: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(s[..., 0].T) for s in scales]


def _precomputed_scales(dtype, labels=False) -> list[np.ndarray]:
    shape = (96, 80, 8, 1)
    a = (
        ds.segmentation(shape[:3], dtype=dtype)[..., None]
        if labels
        else ds.smooth_image(shape, dtype)
    )
    b = (
        a[::2, ::2]
        if labels
        else np.round(ds.block_mean(a.transpose(2, 3, 0, 1))).transpose(2, 3, 0, 1).astype(dtype)
    )
    return [a, np.ascontiguousarray(b)]


class PrecomputedSuite(AdapterSuite):
    encoding = "raw"
    sharded = False
    dtype: Any = np.uint8
    labels = False
    atol = 0.0

    def make(self, root):
        scales = _precomputed_scales(self.dtype, self.labels)
        path = root / "vol"
        kind = "segmentation" if self.labels else "image"
        if self.encoding in ("fpzip", "kempressed", "compresso", "crackle"):
            ds.write_precomputed_codec(path, scales, self.encoding, self.sharded, kind)
        else:
            ds.write_precomputed(path, scales, self.encoding, self.sharded, kind)
        scale0 = sorted(p for p in path.iterdir() if p.is_dir())[0]
        if self.sharded:
            chunk = scale0 / "0.shard"
        else:
            chunk = next(p for p in scale0.iterdir() if p.name.startswith("0-32_0-32_0-8"))
        return Case(
            f"precomputed://file://{path}", _zyx(scales), chunk, np.s_[:8, :32, :32], self.atol
        )


class TestPrecomputedRaw(PrecomputedSuite):
    pass


class TestPrecomputedRawSharded(PrecomputedSuite):
    sharded = True


class TestPrecomputedJpeg(PrecomputedSuite):
    encoding = "jpeg"
    atol = 12.0

    def test_missing_chunk_reads_fill_value(self, case):
        pytest.skip("covered by the raw encoding; jpeg only changes the codec")


class TestPrecomputedPng(PrecomputedSuite):
    encoding = "png"
    dtype = np.uint16


class TestPrecomputedCompressedSegmentation(PrecomputedSuite):
    encoding = "compressed_segmentation"
    dtype = np.uint32
    labels = True
    sharded = True


class TestPrecomputedFpzip(PrecomputedSuite):
    encoding = "fpzip"
    dtype = np.float32


class TestPrecomputedKempressedSharded(PrecomputedSuite):
    encoding = "kempressed"
    dtype = np.float32
    sharded = True
    atol = 1e-6


class TestPrecomputedCompresso(PrecomputedSuite):
    encoding = "compresso"
    dtype = np.uint32
    labels = True


class TestPrecomputedCrackleSharded(PrecomputedSuite):
    encoding = "crackle"
    dtype = np.uint64
    labels = True
    sharded = True


def test_label_images_without_units_take_their_images_units(tmp_path):
    import json

    from napari_progressive.sources.open import open_layers

    path = tmp_path / "img.zarr"
    image = ds.smooth_image((100, 120))
    ds.write_omezarr(path, image, "0.4", "yx", (64, 64), labels=ds.segmentation((100, 120)))
    attrs = json.loads((path / ".zattrs").read_text())
    for axis in attrs["multiscales"][0]["axes"]:
        axis["unit"] = "micrometer"
    (path / ".zattrs").write_text(json.dumps(attrs))
    image_spec, label_spec = open_layers(str(path))
    assert image_spec.display["units"] == ("micrometer", "micrometer")
    assert label_spec.kind == "labels"
    assert label_spec.display["units"] == image_spec.display["units"]
