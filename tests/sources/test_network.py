"""Remote reads against a local server that fails on purpose (``tests.http_server``).

Dead addresses and server errors fail fast with their real cause, hung
requests do not starve other reads, timeouts apply to metadata, the query
string reaches the server on every request and no error text shows a secret.
Every read has a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from napari_progressive.core.errors import ChunkReadError, SourceError
from napari_progressive.sources.open import open_layers, open_source
from napari_progressive.sources.rois import read_rois
from napari_progressive.sources.ts_context import STALL_VARIABLE, shared_context
from tests import datasets as ds
from tests.http_server import FlakyServer

PASSWORD, TOKEN = "pa55word", "s3cr3tt0ken"
#: Seconds a read that should succeed may take: a guard, never reached when all is well.
GENEROUS = 15.0
#: Level 0 is 8 x 8 chunks of 256 x 256 (the tile size), level 1 is 4 x 4.
SHAPE, CHUNK = (2048, 2048), [256, 256]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    level0 = np.arange(np.prod(SHAPE), dtype=np.uint32).reshape(SHAPE).astype(np.uint8)
    ds.write_ts_pyramid(root / "pyr.zarr", [level0, level0[::2, ::2]], "zarr", CHUNK)
    return root


@pytest.fixture
def server(root):
    with FlakyServer(root, huge_bytes=8 * 2**20) as srv:
        yield srv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secret_url(srv: FlakyServer, path: str = "pyr.zarr") -> str:
    return f"http://reader:{PASSWORD}@127.0.0.1:{srv.port}/{path}?token={TOKEN}"


def all_text(error: BaseException) -> str:
    """The error as a traceback prints it, its causes included."""
    return "".join(traceback.format_exception(error))


def test_a_refused_connection_says_so():
    with pytest.raises(SourceError, match=r"cannot connect \(connection refused") as err:
        open_source(f"http://127.0.0.1:{free_port()}/data.zarr", timeout=GENEROUS)
    assert "/data.zarr/" in str(err.value) and "no answer" not in str(err.value)


def test_an_unknown_host_says_so():
    with pytest.raises(SourceError, match="unknown host"):
        open_source("http://no-such-host.invalid/data.zarr", timeout=GENEROUS)


def test_http_500_names_the_status(server):
    server.status(500, "/pyr.zarr/.zarray", "/pyr.zarr/.zgroup")
    with pytest.raises(SourceError, match=r"\.zarray: HTTP 500 Internal Server Error"):
        open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.clear()
    source = open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.status(500, "/pyr.zarr/0/0.0")
    with pytest.raises(ChunkReadError, match=r"chunk \(0, 0\): HTTP 500 Internal Server Error"):
        source.read_chunk(0, (0, 0))


def test_refusals_and_redirects_name_the_status(server):
    server.status(403, "/pyr.zarr/.zarray")
    with pytest.raises(SourceError, match="HTTP 403 Forbidden: check the credentials"):
        open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.clear()
    server.redirect("http://127.0.0.1:9", "/pyr.zarr/.zarray")
    with pytest.raises(SourceError, match="HTTP 302 Found: redirects are not followed"):
        open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)


def test_404_is_a_missing_file(server):
    source = open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.status(404, "/pyr.zarr/0/0.1")
    assert not source.read_chunk(0, (0, 1)).any()  # a missing chunk is the fill value
    with pytest.raises(SourceError, match="not a zarr array or group"):
        open_source(f"{server.url}/elsewhere.zarr", timeout=GENEROUS)


def test_a_hung_metadata_read_obeys_the_timeout(server):
    server.hang("/pyr.zarr/.zgroup")
    with pytest.raises(SourceError, match=r"\.zgroup: no answer within 0\.5 s"):
        open_source(f"{server.url}/pyr.zarr", timeout=0.5)


def test_a_tensorstore_spec_obeys_the_timeout(server):
    server.hang("/pyr.zarr/0/.zarray")
    spec = {"driver": "zarr", "kvstore": f"{server.url}/pyr.zarr/0/"}
    with pytest.raises(SourceError, match=r"cannot open: no answer within 0\.5 s"):
        open_source(spec, timeout=0.5)


def test_a_single_array_obeys_the_timeout():
    class SlowArray:
        shape, dtype, chunks = (512, 512), np.dtype(np.uint8), (256, 256)

        def __getitem__(self, region):
            import time

            time.sleep(2)
            return np.zeros((256, 256), np.uint8)

    with pytest.raises(ChunkReadError, match=r"no answer within 0\.2 s"):
        open_source(SlowArray(), timeout=0.2).read_chunk(0, (0, 0))


def test_hung_chunks_do_not_starve_other_reads(server):
    """40 chunks the server never answers (more than tensorstore's 32 default slots)."""
    server.hang("/pyr.zarr/0/[0-4].*")
    hung = [(r, c) for r in range(5) for c in range(8)]
    impatient = open_source(f"{server.url}/pyr.zarr", timeout=0.5)
    with ThreadPoolExecutor(len(hung)) as pool:
        errors = list(pool.map(lambda rc: _error_of(impatient.read_chunk, 0, rc), hung))
    assert all("no answer within 0.5 s" in str(e) for e in errors), errors[:2]
    patient = open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    for r in range(5, 8):
        for c in range(8):
            assert patient.read_chunk(0, (r, c)).shape == (256, 256)
    for r in range(4):
        for c in range(4):
            assert patient.read_chunk(1, (r, c)).shape == (256, 256)


def _error_of(fn, *args, **kwargs) -> BaseException | None:
    try:
        fn(*args, **kwargs)
    except Exception as e:
        return e
    return None


def test_a_huge_body_fails_its_chunk_only(server):
    source = open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.huge("/pyr.zarr/0/0.2")
    with pytest.raises(ChunkReadError, match=r"chunk \(0, 2\)"):
        source.read_chunk(0, (0, 2))
    assert source.read_chunk(0, (0, 3)).shape == (256, 256)


def test_an_outage_fails_reads_until_the_server_returns(server):
    source = open_source(f"{server.url}/pyr.zarr", timeout=GENEROUS)
    server.down = True
    with pytest.raises(ChunkReadError, match="empty reply"):
        source.read_chunk(0, (1, 1))
    server.down = False
    assert source.read_chunk(0, (1, 1)).shape == (256, 256)


def test_the_query_string_reaches_the_server_on_every_request(server):
    source = open_source(f"{server.url}/pyr.zarr?token={TOKEN}", timeout=GENEROUS)
    source.read_chunk(0, (2, 3))
    source.read_chunk(1, (1, 1))
    assert server.requested("/pyr.zarr/0/2.3") and server.requested("/pyr.zarr/1/1.1")
    assert {r.query for r in server.requests} == {f"token={TOKEN}"}


def test_credentials_reach_the_server_but_no_name(server):
    (spec,) = open_layers(secret_url(server), timeout=GENEROUS)
    spec.source.read_chunk(0, (0, 0))
    assert {r.authorization for r in server.requests} == {"Basic cmVhZGVyOnBhNTV3b3Jk"}
    assert spec.name == spec.source.name == "pyr.zarr"


def _failures(srv: FlakyServer) -> list[BaseException]:
    """One error of each kind a remote read can raise, from a URL with secrets."""
    errors = [
        _error_of(open_source, f"http://reader:{PASSWORD}@127.0.0.1:{free_port()}/x?token={TOKEN}")
    ]
    srv.status(500, "/pyr.zarr/.zarray")
    errors.append(_error_of(open_source, secret_url(srv), timeout=GENEROUS))
    srv.clear()
    srv.status(403, "/pyr.zarr/0/.zarray")
    errors.append(_error_of(open_source, secret_url(srv), timeout=GENEROUS))
    spec = {"driver": "zarr", "kvstore": secret_url(srv, "pyr.zarr/0/")}
    errors.append(_error_of(open_source, spec, timeout=GENEROUS))
    srv.clear()
    errors.append(_error_of(open_source, secret_url(srv, "missing.zarr"), timeout=GENEROUS))
    source = open_source(secret_url(srv), timeout=0.5)
    srv.status(500, "/pyr.zarr/0/0.0")
    srv.hang("/pyr.zarr/0/0.1")
    srv.huge("/pyr.zarr/0/0.2")
    errors += [_error_of(source.read_chunk, 0, (0, c)) for c in range(3)]
    return errors


def test_no_error_text_shows_a_secret(server):
    errors = _failures(server)
    assert all(isinstance(e, SourceError | ChunkReadError) for e in errors), errors
    for e in errors:
        text = all_text(e)
        assert PASSWORD not in text and TOKEN not in text, text
    assert "reader:***@127.0.0.1" in str(errors[1]) and "token=***" in str(errors[1])


def test_the_shared_context_bounds_stalled_requests():
    shared_context()
    assert os.environ[STALL_VARIABLE]


def test_a_stalled_request_is_given_up(root):
    """With a 1 s stall limit, a chunk the server never answers fails with its cause."""
    script = (
        "import sys\n"
        "from tests.http_server import FlakyServer\n"
        "from napari_progressive.sources.open import open_source\n"
        f"with FlakyServer(__import__('pathlib').Path({str(root)!r})) as srv:\n"
        "    source = open_source(srv.url + '/pyr.zarr', timeout=30)\n"
        "    srv.hang('/pyr.zarr/0/0.0')\n"
        "    try:\n"
        "        source.read_chunk(0, (0, 0))\n"
        "    except Exception as e:\n"
        "        print(e)\n"
    )
    env = {**os.environ, STALL_VARIABLE: "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert "chunk (0, 0): timed out (the server stopped sending data)" in out.stdout, (
        out.stdout + out.stderr
    )


def test_roi_tables_are_read_with_the_query_string_and_credentials(server, root):
    ds.write_roi_table(root / "pyr.zarr", "FOV_ROI_table")
    url = secret_url(server)
    rois = read_rois(url)
    assert [r.name for r in rois["FOV_ROI_table"]] == ["FOV_1", "FOV_2"]
    table_requests = [r for r in server.requests if "/tables/" in r.path]
    assert table_requests, "the table was read from the server"
    assert {r.query for r in table_requests} == {f"token={TOKEN}"}
    assert {r.authorization for r in table_requests} == {"Basic cmVhZGVyOnBhNTV3b3Jk"}
