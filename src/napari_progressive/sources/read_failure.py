"""Why a read failed, in a few words: timeout, unknown host, connection refused, HTTP status.

tensorstore reports a failed HTTP read as a long status text (the status
code, the URL with its credentials, curl's message, the whole JSON spec);
``failure_cause`` keeps what a user can act on, with every URL redacted.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from napari_progressive.sources.redact import redact_text

#: curl error codes (https://curl.se/libcurl/c/libcurl-errors.html) as causes.
CURL_CAUSES = {
    5: "unknown proxy host",
    6: "unknown host",
    7: "cannot connect (connection refused or host unreachable)",
    18: "the answer was cut short",
    28: "timed out (the server stopped sending data)",
    35: "TLS handshake failed",
    47: "too many redirects",
    52: "empty reply (the server closed the connection without answering)",
    55: "connection lost while sending",
    56: "connection reset while receiving",
    60: "the server's TLS certificate is not trusted",
}
_HTTP_CODE = re.compile(r"\[HTTP code (\d{3})\]")
_CURL_CODE = re.compile(r"\[curl_code='?(\d+)")
_ATTEMPTS = re.compile(r"All (\d+) retry attempts failed")
#: Where tensorstore's payloads begin: `` [tensorstore_spec='...']``, `` [source locations=...]``.
_PAYLOAD = re.compile(r"\s\[[a-z_ ]+=")
_STATUS_CODE = re.compile(r"^[A-Z_]+: ")


def failure_cause(error: BaseException, timeout: float) -> str:
    """A one-line cause of ``error``, raised by a read that may wait ``timeout`` seconds."""
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    text = str(error)
    attempts = _ATTEMPTS.search(text)
    after = f" (after {attempts[1]} attempts)" if attempts else ""
    if code := _HTTP_CODE.search(text):
        return http_cause(int(code[1])) + after
    if code := _CURL_CODE.search(text):
        curl = int(code[1])
        return CURL_CAUSES.get(curl, f"network error (curl error {curl})") + after
    text = _PAYLOAD.split(text, maxsplit=1)[0].strip()
    if _STATUS_CODE.match(text):  # a tensorstore status: its code is noise here
        return redact_text(_STATUS_CODE.sub("", text))
    return redact_text(f"{type(error).__name__}: {text}")


def http_cause(code: int) -> str:
    """``HTTP 500 Internal Server Error``, with a hint for redirects and refusals."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "(unknown status)"
    cause = f"HTTP {code} {phrase}"
    if 300 <= code < 400:
        cause += ": redirects are not followed, open the address it redirects to"
    elif code in (401, 403):
        cause += ": check the credentials or the token"
    return cause
