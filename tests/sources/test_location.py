"""Locations keep a URL's query for every request and show URLs without their secrets."""

from __future__ import annotations

import pytest

from napari_progressive.core.errors import SourceError
from napari_progressive.sources.location import METADATA_TIMEOUT, Location
from napari_progressive.sources.read_failure import failure_cause, http_cause
from napari_progressive.sources.redact import redact_text, redacted, redacted_error


def test_the_query_stays_behind_every_key():
    loc = Location.parse("https://host/data/image.zarr?token=abc&sig=x/y")
    assert loc.url == "https://host/data/image.zarr/?token=abc&sig=x/y"
    child = loc.child("0/1")
    assert child.url == "https://host/data/image.zarr/0/1/?token=abc&sig=x/y"
    assert child.where(".zarray") == "https://host/data/image.zarr/0/1/.zarray?token=***&sig=***"


def test_what_users_see_is_redacted():
    loc = Location.parse("http://me:pw@host:8080/a/b.zarr/?token=abc")
    assert loc.display == "http://me:***@host:8080/a/b.zarr?token=***"
    assert loc.where("zarr.json") == "http://me:***@host:8080/a/b.zarr/zarr.json?token=***"
    assert loc.basename == "b.zarr"
    assert Location.parse("http://me:pw@host/").basename == "host"
    with pytest.raises(SourceError, match=r"ftp://me:\*\*\*@host/x: unsupported") as err:
        Location.parse("ftp://me:pw@host/x")
    assert "pw" not in str(err.value)


def test_local_paths_are_unchanged(tmp_path):
    loc = Location.parse(tmp_path / "a?b.zarr")
    assert loc.is_local and loc.query == ""
    assert loc.local_path == str(tmp_path / "a?b.zarr")
    assert loc.child("0").where(".zarray") == f"{tmp_path}/a?b.zarr/0/.zarray"


def test_the_timeout_travels_to_children():
    assert Location.parse("http://h/a").timeout == METADATA_TIMEOUT
    assert Location.parse("http://h/a", timeout=2.5).child("x").child("y").timeout == 2.5


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@h/x", "http://u:***@h/x"),
        ("https://ghp_token@h/x", "https://***@h/x"),
        ("https://h/x?a=1&b=&c", "https://h/x?a=***&b=***&***"),
        ("s3://bucket/key#frag=1", "s3://bucket/key#frag=***"),
        ("gs://bucket/key", "gs://bucket/key"),
        ("http://[::1/x", "http://***"),
    ],
)
def test_redacted(url, shown):
    assert redacted(url) == shown


def test_redact_text_finds_urls_in_messages():
    text = 'Error reading "http://u:p@h/a?t=1": {\\"base_url\\":\\"http://u:p@h?t=1\\"}'
    assert redact_text(text) == (
        'Error reading "http://u:***@h/a?t=***": {\\"base_url\\":\\"http://u:***@h?t=***\\"}'
    )


def test_a_redacted_error_keeps_its_type():
    clean = ValueError("nothing secret")
    assert redacted_error(clean) is clean
    copy = redacted_error(ValueError("at http://u:p@h/"))
    assert type(copy) is ValueError and str(copy) == "at http://u:***@h/"


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "ABORTED: Error reading http://u:p@h/k: All 3 retry attempts failed: CURL error "
            "Could not connect to server [tensorstore_spec='{}'] [curl_code='7']",
            "cannot connect (connection refused or host unreachable) (after 3 attempts)",
        ),
        ("UNAVAILABLE: CURL error Could not resolve host [curl_code=6]", "unknown host"),
        ("PERMISSION_DENIED: Forbidden [HTTP code 403]", "HTTP 403 Forbidden: check the"),
        ("X: Bad [HTTP code 599]", "HTTP 599 (unknown status)"),
        ("UNKNOWN: odd [curl_code='99']", "network error (curl error 99)"),
        (
            "FAILED_PRECONDITION: Error reading http://u:p@h/k?t=1: End of data expected "
            "[source locations='a.cc:1']",
            "Error reading http://u:***@h/k?t=***: End of data expected",
        ),
    ],
)
def test_failure_causes(text, cause):
    assert failure_cause(ValueError(text), 5).startswith(cause)


def test_failure_causes_of_plain_errors():
    assert failure_cause(TimeoutError(), 2.5) == "no answer within 2.5 s"
    assert failure_cause(OSError("truncated"), 1) == "OSError: truncated"
    assert http_cause(301).startswith("HTTP 301 Moved Permanently: redirects are not followed")


def test_cache_identities_leave_out_credentials():
    from napari_progressive.sources.redact import without_secrets, without_secrets_text

    url = "https://user:pw@host:8080/data/img.zarr/?token=abc#frag"
    assert without_secrets(url) == "https://host:8080/data/img.zarr/"
    text = '{"kvstore": {"base_url": "http://u:p@h/a?sig=1", "path": "x/"}}'
    assert without_secrets_text(text) == '{"kvstore": {"base_url": "http://h/a", "path": "x/"}}'
