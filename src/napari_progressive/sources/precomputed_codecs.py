"""Neuroglancer precomputed encodings that tensorstore cannot decode.

``fpzip`` and ``kempressed`` (float data such as affinity maps) decode with
the ``fpzip`` package, ``compresso`` and ``crackle`` (segmentation) with
their own packages. Chunk bytes come from storage and are untrusted: each
stream's header states the array it decodes to (fpzip's range-coded one is
read by ``sources.fpzip_header``), and a stream that states anything but the
chunk the info file promises (its shape, or its edge part, and type) is
refused *before* a decoder sees it, so no decoder allocates more than that
chunk (itself at most ``MAX_CHUNK_BYTES``); the result is checked after.
Every failure is a ``DecodeError``. A chunk is ``(x, y, z, channel)`` in Fortran order, as the
format stores it.

Checks cannot catch everything: fuzzing (``tests/sources/fuzz_codecs.py``)
makes all four decoders crash the process on some corrupt inputs. So the
sources decode through ``decode_isolated``, in a pool of worker processes:
a crash costs one worker (restarted) and marks that one tile failed; a
decoder stuck for ``DECODE_TIMEOUT_S`` is killed the same way.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import numpy as np

from napari_progressive.core.errors import DecodeError
from napari_progressive.core.geometry import MAX_CHUNK_BYTES
from napari_progressive.sources.fpzip_header import read_fpzip_header

if TYPE_CHECKING:
    from collections.abc import Callable

#: Encodings decoded here.
CODEC_ENCODINGS = ("fpzip", "kempressed", "compresso", "crackle")
#: A lossless float stream is never much larger than the raw data.
_FPZIP_SLACK = 1.25
_FPZIP_OVERHEAD = 1024

Shape = tuple[int, ...]


def _expect_shape(got: Shape, full: Shape, clipped: Shape) -> None:
    if got not in (full, clipped):
        raise DecodeError(f"chunk says shape {got}, expected {clipped} (or {full})")


def _check_fpzip_stream(data: bytes, full: Shape, clipped: Shape, dtype: np.dtype) -> None:
    """The stream's own header must state the chunk's shape and type, and its size fit."""
    header = read_fpzip_header(data)
    if header.itemsize != dtype.itemsize:
        raise DecodeError(f"fpzip stream holds float{8 * header.itemsize}, the info says {dtype}")
    _expect_shape(header.shape, full, clipped)
    limit = math.prod(clipped) * dtype.itemsize * _FPZIP_SLACK + _FPZIP_OVERHEAD
    if len(data) > limit:
        raise DecodeError(f"fpzip stream of {len(data)} bytes is too large for the chunk")


def _decode_fpzip(data: bytes, full: Shape, clipped: Shape, dtype: np.dtype) -> np.ndarray:
    import fpzip

    if dtype not in (np.float32, np.float64):
        raise DecodeError(f"fpzip holds float32/float64, the info says {dtype}")
    _check_fpzip_stream(data, full, clipped, dtype)
    try:
        out = fpzip.decompress(data, order="F")
    except Exception as e:
        raise DecodeError(f"fpzip: {e}") from None
    return np.asarray(out)


def _swap_zc(shape: Shape) -> Shape:
    return (shape[0], shape[1], shape[3], shape[2])


def _decode_kempressed(data: bytes, full: Shape, clipped: Shape, dtype: np.dtype) -> np.ndarray:
    # kempressed = fpzip of (value + 2) with the z and channel axes swapped
    out = _decode_fpzip(data, _swap_zc(full), _swap_zc(clipped), dtype)
    return np.swapaxes(out, 2, 3) - out.dtype.type(2.0)


def _check_label_header(
    header: dict, full: Shape, clipped: Shape, dtype: np.dtype, name: str
) -> None:
    shape = (int(header["sx"]), int(header["sy"]), int(header["sz"]))
    _expect_shape(shape, full[:3], clipped[:3])
    if full[3] != 1:
        raise DecodeError(f"{name} holds one channel, the info says {full[3]}")
    if int(header["data_width"]) != dtype.itemsize:
        raise DecodeError(
            f"{name} data width {header['data_width']} does not match {dtype} from the info"
        )


def _decode_compresso(data: bytes, full: Shape, clipped: Shape, dtype: np.dtype) -> np.ndarray:
    import compresso

    try:
        header = compresso.header(data)
    except Exception as e:
        raise DecodeError(f"compresso header: {e}") from None
    if header.get("magic") != b"cpso":
        raise DecodeError("not a compresso stream (bad magic)")
    _check_label_header(header, full, clipped, dtype, "compresso")
    if not compresso.valid(data):
        raise DecodeError("compresso stream fails its own size checks")
    try:
        out = compresso.decompress(data)
    except Exception as e:
        raise DecodeError(f"compresso: {e}") from None
    return np.asarray(out)[..., np.newaxis]


def _decode_crackle(data: bytes, full: Shape, clipped: Shape, dtype: np.dtype) -> np.ndarray:
    import crackle

    if not data.startswith(b"crkl"):
        raise DecodeError("not a crackle stream (bad magic)")
    try:
        header = crackle.header(data)
    except Exception as e:
        raise DecodeError(f"crackle header: {e}") from None
    fields = {"sx": header.sx, "sy": header.sy, "sz": header.sz, "data_width": header.data_width}
    _check_label_header(fields, full, clipped, dtype, "crackle")
    sections = (
        header.header_bytes
        + header.grid_index_bytes
        + header.num_label_bytes
        + header.num_markov_model_bytes
    )
    if sections > len(data):
        raise DecodeError(f"crackle header states {sections} bytes, the stream has {len(data)}")
    try:
        out = crackle.decompress(data)
    except Exception as e:
        raise DecodeError(f"crackle: {e}") from None
    return np.asarray(out)[..., np.newaxis]


_DECODERS: dict[str, Callable[..., np.ndarray]] = {
    "fpzip": _decode_fpzip,
    "kempressed": _decode_kempressed,
    "compresso": _decode_compresso,
    "crackle": _decode_crackle,
}


def decode_chunk(
    encoding: str, data: bytes, full: Shape, clipped: Shape, dtype: np.dtype
) -> np.ndarray:
    """Decode one chunk to an ``(x, y, z, c)`` array of shape ``clipped``.

    ``full`` is the info's chunk size and ``clipped`` the part inside the
    volume; a stored chunk may have either shape (edge chunks are written
    both ways in the wild).
    """
    decoder = _DECODERS.get(encoding)
    if decoder is None:
        raise DecodeError(f"unknown encoding {encoding!r}")
    if not data:
        raise DecodeError("empty chunk")
    if math.prod(full) * np.dtype(dtype).itemsize > MAX_CHUNK_BYTES:
        raise DecodeError(f"a chunk of {full} {np.dtype(dtype)} is over the size limit")
    out = np.asarray(decoder(bytes(data), full, clipped, np.dtype(dtype)))
    if out.ndim == 3:
        out = out[..., np.newaxis]
    _expect_shape(tuple(out.shape), full, clipped)
    out = out[: clipped[0], : clipped[1], : clipped[2], : clipped[3]]
    if out.dtype != dtype:
        if out.dtype.kind != np.dtype(dtype).kind:
            raise DecodeError(f"decoded {out.dtype}, the info says {dtype}")
        out = out.astype(dtype)
    return out


_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
#: Worker processes that decode untrusted chunks.
DECODE_WORKERS = 2
#: A decode that takes longer is taken as a decoder stuck on corrupt data.
DECODE_TIMEOUT_S = 30.0


def _no_core_dumps() -> None:
    """Worker initializer: a decoder crash must not write a core file of untrusted data."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def _decode_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("spawn")  # never fork a threaded GUI process
            _pool = ProcessPoolExecutor(
                DECODE_WORKERS, mp_context=context, initializer=_no_core_dumps
            )
        return _pool


def _drop_pool(pool: ProcessPoolExecutor, kill: bool = False) -> None:
    """Forget ``pool`` so the next call starts a fresh one; ``kill`` ends stuck workers."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    if kill:
        # the executor has no public way to stop a running task
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def run_isolated(
    what: str, fn: Callable[..., np.ndarray], *args: object, timeout: float = DECODE_TIMEOUT_S
) -> np.ndarray:
    """``fn(*args)`` in a worker process; a crash or a hang becomes a ``DecodeError``.

    A hung worker is killed after ``timeout`` seconds; either way the pool
    is replaced, so one bad chunk never stalls the ones after it.
    """
    pool = _decode_pool()
    try:
        return pool.submit(fn, *args).result(timeout=timeout)
    except BrokenProcessPool:
        _drop_pool(pool)
        raise DecodeError(f"the {what} crashed on this chunk (corrupt data)") from None
    except TimeoutError:
        _drop_pool(pool, kill=True)
        raise DecodeError(f"the {what} took over {timeout:g} s on this chunk (stopped)") from None


def decode_isolated(
    encoding: str, data: bytes, full: Shape, clipped: Shape, dtype: np.dtype
) -> np.ndarray:
    """``decode_chunk`` in a worker process; a decoder crash or hang becomes a ``DecodeError``."""
    return run_isolated(
        f"{encoding} decoder", decode_chunk, encoding, bytes(data), full, clipped, dtype
    )
