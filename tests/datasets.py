"""Datasets written by the ecosystem's own writers, for the adapter tests.

OME-Zarr by ome-zarr-py, zarr v2/v3, n5 and precomputed (raw, jpeg, png,
compressed_segmentation, sharded or not) by tensorstore, fpzip/kempressed/
compresso/crackle chunks by their codecs' own encoders (sharded ones packed by
tensorstore's sharded kvstore), ROI tables by anndata.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from typing import TYPE_CHECKING

import numpy as np
import tensorstore as ts

from napari_progressive.sources.precomputed import compressed_morton_code

if TYPE_CHECKING:
    from pathlib import Path

SHARDING = {
    "@type": "neuroglancer_uint64_sharded_v1",
    "preshift_bits": 0,
    "hash": "identity",
    "minishard_bits": 1,
    "shard_bits": 1,
    "minishard_index_encoding": "gzip",
    "data_encoding": "raw",
}


def smooth_image(shape, dtype=np.uint16, seed=0) -> np.ndarray:
    """A smooth random image (so jpeg stays close and pyramids mean something)."""
    rng = np.random.default_rng(seed)
    grids = np.meshgrid(*[np.linspace(0, 3 * np.pi, n) for n in shape], indexing="ij")
    base = sum(np.sin(g * (1 + i)) for i, g in enumerate(grids)) + rng.normal(0, 0.05, shape)
    base = (base - base.min()) / np.ptp(base)
    if np.dtype(dtype).kind == "f":
        return base.astype(dtype)
    return (base * np.iinfo(dtype).max * 0.9).astype(dtype)


def segmentation(shape, seed=0, dtype=np.uint32) -> np.ndarray:
    """Blocky labels with background."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 40, size=tuple(-(-n // 8) for n in shape)).astype(dtype)
    for axis in range(len(shape)):
        coarse = np.repeat(coarse, 8, axis=axis)
    return coarse[tuple(slice(0, n) for n in shape)]


def block_mean(a: np.ndarray) -> np.ndarray:
    """2 x 2 block mean over the last two axes (partial edge blocks averaged)."""
    h, w = a.shape[-2:]
    pad = [(0, 0)] * (a.ndim - 2) + [(0, h % 2), (0, w % 2)]
    f = np.pad(a.astype(float), pad, mode="constant", constant_values=np.nan)
    f = f.reshape(*a.shape[:-2], f.shape[-2] // 2, 2, f.shape[-1] // 2, 2)
    return np.nanmean(f, axis=(-3, -1))


def write_ts_pyramid(root: Path, levels, driver: str, chunks) -> list[np.ndarray]:
    """Arrays ``root/0, root/1, ...`` with tensorstore's zarr, zarr3 or n5 driver."""
    for i, data in enumerate(levels):
        dtype = np.dtype(data.dtype).name
        if driver == "zarr3":
            meta = {
                "shape": list(data.shape),
                "data_type": dtype,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
            }
        elif driver == "zarr":
            meta = {"shape": list(data.shape), "dtype": np.dtype(data.dtype).str, "chunks": chunks}
        else:
            meta = {
                "dimensions": list(data.shape),
                "dataType": dtype,
                "blockSize": chunks,
                "compression": {"type": "gzip"},
            }
        store = ts.open(
            {"driver": driver, "kvstore": f"file://{root}/{i}/", "metadata": meta},
            create=True,
        ).result()
        store[...] = data
    if driver == "zarr":
        (root / ".zgroup").write_text('{"zarr_format": 2}')
    if driver == "zarr3":
        (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group"}))
    return list(levels)


def write_omezarr(
    path: Path, data: np.ndarray, version: str, axes: str, chunks, labels=None, rois=False
) -> list[np.ndarray]:
    """An OME-Zarr image by ome-zarr-py; returns its levels as written."""
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.io import parse_url
    from ome_zarr.writer import write_image, write_labels

    fmt = FormatV04() if version == "0.4" else FormatV05()
    root = zarr.group(store=parse_url(path, mode="w", fmt=fmt).store, zarr_format=fmt.zarr_format)
    channels = data.shape[axes.index("c")] if "c" in axes else 0
    metadata = {}
    if channels:
        colors = ["FF0000", "00FF00", "0000FF", "FFFFFF"]
        metadata["omero"] = {
            "channels": [
                {
                    "label": f"ch{c}",
                    "color": colors[c % 4],
                    "window": {"min": 0, "max": 65535, "start": 100 * c, "end": 40000},
                    "active": True,
                }
                for c in range(channels)
            ]
        }
    write_image(data, root, axes=axes, fmt=fmt, storage_options={"chunks": chunks})
    if metadata:  # the omero block, where the version puts it
        if fmt.zarr_format == 2:
            root.attrs.update(metadata)
        else:
            root.attrs["ome"] = {**root.attrs["ome"], **metadata}
    if labels is not None:
        write_labels(
            labels,
            root,
            name="cells",
            axes=axes.replace("c", ""),
            fmt=fmt,
            label_metadata={"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]},
        )
    if rois:
        write_roi_table(path, "FOV_ROI_table")
    group = zarr.open_group(str(path), mode="r")
    ms = dict(group.attrs)
    ms = ms.get("ome", ms)["multiscales"][0]
    return [np.asarray(group[d["path"]][...]) for d in ms["datasets"]]


def write_roi_table(path: Path, name: str, rows=((0, 0, 0, 40, 30, 1), (40, 0, 0, 40, 30, 1))):
    """A fractal-style FOV ROI table written by anndata, listed in ``tables``.

    Each row is ``x, y, z, len_x, len_y, len_z`` in micrometers.
    """
    import anndata as ad
    import pandas as pd
    import zarr

    cols = [f"{a}_micrometer" for a in "xyz"] + [f"len_{a}_micrometer" for a in "xyz"]
    x = np.array(rows, dtype=np.float32)
    names = [f"FOV_{i + 1}" for i in range(len(x))]
    table = ad.AnnData(X=x, obs=pd.DataFrame(index=names), var=pd.DataFrame(index=cols))
    table.write_zarr(str(path / "tables" / name))
    group = zarr.open_group(str(path / "tables"), mode="a")
    group.attrs["tables"] = [name]


def write_precomputed(
    path: Path, scales, encoding: str, sharded: bool, kind="image", chunk=(32, 32, 8)
) -> None:
    """Precomputed scales (x, y, z, c arrays) with tensorstore's writer."""
    for i, data in enumerate(scales):
        meta = {
            "size": list(data.shape[:3]),
            "chunk_size": list(chunk),
            "resolution": [4.0 * 2**i, 4.0 * 2**i, 40.0],
            "encoding": encoding,
            "voxel_offset": [0, 0, 0],
        }
        if encoding == "compressed_segmentation":
            meta["compressed_segmentation_block_size"] = [8, 8, 8]
        if sharded:
            meta["sharding"] = SHARDING
        spec = {
            "driver": "neuroglancer_precomputed",
            "kvstore": f"file://{path}/",
            "multiscale_metadata": {
                "type": kind,
                "data_type": np.dtype(data.dtype).name,
                "num_channels": data.shape[3],
            },
            "scale_metadata": meta,
        }
        ts.open(spec, create=True).result()[...] = data


def encode_chunk(encoding: str, chunk: np.ndarray) -> bytes:
    """One chunk (x, y, z, c) with the codec's own encoder."""
    if encoding == "fpzip":
        import fpzip

        return fpzip.compress(np.asfortranarray(chunk), order="F")
    if encoding == "kempressed":
        import fpzip

        return fpzip.compress(np.asfortranarray(np.swapaxes(chunk, 2, 3) + 2.0), order="F")
    if encoding == "compresso":
        import compresso

        return compresso.compress(np.ascontiguousarray(chunk[..., 0]))
    import crackle

    return crackle.compress(np.ascontiguousarray(chunk[..., 0]))


def write_precomputed_codec(
    path: Path, scales, encoding: str, sharded: bool, kind="image", chunk=(32, 32, 8)
) -> None:
    """Precomputed scales in an encoding tensorstore cannot write."""
    path.mkdir(parents=True, exist_ok=True)
    info = {
        "@type": "neuroglancer_multiscale_volume",
        "type": kind,
        "data_type": np.dtype(scales[0].dtype).name,
        "num_channels": scales[0].shape[3],
        "scales": [],
    }
    for i, data in enumerate(scales):
        key = f"s{i}"
        scale = {
            "key": key,
            "size": list(data.shape[:3]),
            "chunk_sizes": [list(chunk)],
            "resolution": [4.0 * 2**i, 4.0 * 2**i, 40.0],
            "encoding": encoding,
            "voxel_offset": [0, 0, 0],
        }
        grid = tuple(-(-n // c) for n, c in zip(data.shape[:3], chunk, strict=True))
        kv = None
        if sharded:
            scale["sharding"] = SHARDING
            kv = ts.KvStore.open(
                {
                    "driver": "neuroglancer_uint64_sharded",
                    "base": f"file://{path}/{key}/",
                    "metadata": SHARDING,
                }
            ).result()
        else:
            (path / key).mkdir()
        for pos in np.ndindex(grid):
            lo = [p * c for p, c in zip(pos, chunk, strict=True)]
            hi = [min(a + c, n) for a, c, n in zip(lo, chunk, data.shape[:3], strict=True)]
            block = data[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
            payload = encode_chunk(encoding, block)
            if kv is not None:
                kv.write(compressed_morton_code(pos, grid).to_bytes(8, "big"), payload).result()
            else:
                name = "_".join(f"{a}-{b}" for a, b in zip(lo, hi, strict=True))
                (path / key / name).write_bytes(payload)
        info["scales"].append(scale)
    (path / "info").write_text(json.dumps(info))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    gate: threading.Event | None = None

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.gate is not None:
            self.gate.wait(60)
        super().do_GET()


class StaticServer:
    """Serve a folder on 127.0.0.1 (a context manager yielding its base URL).

    With ``gate``, every request waits until the event is set (a hanging server).
    """

    def __init__(self, root: Path, gate: threading.Event | None = None) -> None:
        handler_class = type("Handler", (_QuietHandler,), {"gate": gate})
        handler = functools.partial(handler_class, directory=str(root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
