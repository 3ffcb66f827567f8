"""URLs with their secrets hidden, for every message, title and name that shows one.

The rule is simple on purpose: a URL's password (its whole user part when it
has no password: a bare user part is often a token) and the value of every
query or fragment parameter become ``***``. Scheme, host, port, path and
parameter names stay, so a message still says where.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
#: A URL inside free text: a scheme, ``://`` and everything up to a space or a
#: quote, less the punctuation that ends a sentence or a bracket after it.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`\\]*[^\s\"'<>`\\:;,.)\]]")


def redacted(url: str) -> str:
    """``url`` with its password and every query (and fragment) value replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed IPv6 host: keep the scheme only
        return url.split("://", 1)[0] + "://" + MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            _masked_query(parts.query),
            _masked_query(parts.fragment),
        )
    )


def without_secrets(url: str) -> str:
    """``url`` less its user part, query and fragment: what names the data, not the access.

    Cache identities use it, so a rotated token or password keeps the cache.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def without_secrets_text(text: str) -> str:
    """``text`` with every URL in it reduced by ``without_secrets``."""
    return _URL_IN_TEXT.sub(lambda m: without_secrets(m.group(0)), text)


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (error messages of tensorstore and others)."""
    return _URL_IN_TEXT.sub(lambda m: redacted(m.group(0)), text)


def redacted_error(error: BaseException) -> BaseException:
    """``error`` to chain as a cause: itself, or a copy without secrets when its text shows some.

    A traceback prints the cause's text; tensorstore's names the URL with its
    password and query.
    """
    text = str(error)
    clean = redact_text(text)
    if clean == text:
        return error
    try:
        return type(error)(clean)
    except Exception:  # an exception type that wants other arguments
        return RuntimeError(clean)


def _masked_query(query: str) -> str:
    """``a=1&b=2`` -> ``a=***&b=***``; a parameter without ``=`` is masked whole."""
    if not query:
        return query
    masked = []
    for param in query.split("&"):
        name, has_value, _ = param.partition("=")
        masked.append(f"{name}={MASK}" if has_value else (MASK if param else param))
    return "&".join(masked)
