"""Where data lives: local paths and URLs as tensorstore key-value stores.

Every format reads its metadata and chunks through tensorstore's kvstores
(``file``, ``http(s)``, ``s3``, ``gs``), so local and remote data take the
same path, with many requests in flight and one shared context.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tensorstore as ts

from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.read_failure import failure_cause
from napari_progressive.sources.redact import redacted, redacted_error
from napari_progressive.sources.ts_context import shared_context

#: URL schemes read through a tensorstore kvstore.
REMOTE_SCHEMES = ("http", "https", "s3", "gs")
#: Seconds a metadata read may take unless the user chose a timeout.
METADATA_TIMEOUT = 30.0


@dataclass(frozen=True)
class Location:
    """A folder-like place: a local directory or a URL prefix ending in ``/``.

    ``prefix`` is the folder's URL and ``query`` the query string of a remote
    one (a token, a signature): tensorstore sends it with every request, keys
    go into the path before it. ``timeout`` bounds each metadata read.
    Everything meant for a user's eyes (``display``, ``where``, ``basename``)
    is redacted: no password, no query value.
    """

    prefix: str
    query: str = ""
    timeout: float = field(default=METADATA_TIMEOUT, compare=False)

    @classmethod
    def parse(cls, uri: str | os.PathLike[str], timeout: float = METADATA_TIMEOUT) -> Location:
        """A location from a path, ``file://``, ``http(s)://``, ``s3://`` or ``gs://`` URL."""
        text = os.fspath(uri)
        try:
            parts = urlsplit(text)
        except ValueError as e:
            raise SourceError(f"{redacted(text)}: not a valid URL ({e})") from None
        if parts.scheme == "file":
            path = parts.path
        elif parts.scheme in REMOTE_SCHEMES:
            folder = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
            return cls(folder, parts.query, timeout)
        elif parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive
            raise SourceError(f"{redacted(text)}: unsupported URL scheme {parts.scheme!r}")
        else:
            path = os.path.expanduser(text)
        return cls("file://" + os.path.abspath(path).rstrip("/") + "/", timeout=timeout)

    @property
    def url(self) -> str:
        """The URL tensorstore opens, query included (never for messages: see ``display``)."""
        return self.prefix + (f"?{self.query}" if self.query else "")

    @property
    def is_local(self) -> bool:
        """Whether this is a local directory."""
        return self.prefix.startswith("file://")

    @property
    def local_path(self) -> str:
        """The directory path of a local location."""
        return self.prefix[len("file://") :].rstrip("/") or "/"

    @property
    def display(self) -> str:
        """The path or URL as a user wrote it, redacted, for messages."""
        return self.where()

    @property
    def basename(self) -> str:
        """Last path component (for layer names), else the host; never a credential."""
        if self.is_local:
            return self.local_path.rsplit("/", 1)[-1]
        parts = urlsplit(self.prefix)
        return parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.hostname or parts.netloc

    def child(self, name: str) -> Location:
        """The sub-location ``name`` (``..`` is not allowed)."""
        parts = [p for p in name.strip("/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SourceError(f"{self.display}: path {name!r} leaves the dataset")
        return Location(self.prefix + "".join(p + "/" for p in parts), self.query, self.timeout)

    def where(self, key: str = "") -> str:
        """A file's path or URL (redacted), for messages."""
        if self.is_local:
            return f"{self.local_path}/{key}" if key else self.local_path
        path = self.prefix + key if key else self.prefix.rstrip("/")
        return redacted(path + (f"?{self.query}" if self.query else ""))

    @cached_property
    def kvstore(self) -> ts.KvStore:
        """The tensorstore kvstore rooted here."""
        try:
            return ts.KvStore.open(self.url, context=shared_context()).result(timeout=self.timeout)
        except Exception as e:
            raise SourceError(
                f"{self.display}: cannot open: {failure_cause(e, self.timeout)}"
            ) from redacted_error(e)

    def read(self, key: str, timeout: float | None = None) -> bytes | None:
        """Bytes of ``key``, or None when it does not exist (``timeout``: this location's)."""
        seconds = self.timeout if timeout is None else timeout
        future = self.kvstore.read(key)
        try:
            result = future.result(timeout=seconds)
        except Exception as e:
            future.cancel()
            raise SourceError(
                f"{self.where(key)}: {failure_cause(e, seconds)}"
            ) from redacted_error(e)
        return bytes(result.value) if result.state == "value" else None

    def read_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object in ``key``, None when absent; MetadataError when not JSON."""
        raw = self.read(key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except RecursionError:
            raise MetadataError(self.where(key), "", "JSON nested too deeply") from None
        except ValueError as e:  # bad JSON, bad UTF-8, or a number over Python's digit limit
            raise MetadataError(self.where(key), "", f"not valid JSON ({e})") from None
        if not isinstance(doc, dict):
            raise MetadataError(self.where(key), "", "expected a JSON object")
        return doc
