"""Where data lives: local paths and URLs as tensorstore key-value stores.

Every format reads its metadata and chunks through tensorstore's kvstores
(``file``, ``http(s)``, ``s3``, ``gs``), so local and remote data take the
same path, with many requests in flight and one shared context.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlparse

import tensorstore as ts

from napari_progressive.core.errors import MetadataError, SourceError
from napari_progressive.sources.ts_context import shared_context

#: URL schemes read through a tensorstore kvstore.
REMOTE_SCHEMES = ("http", "https", "s3", "gs")
#: Seconds a metadata read may take.
METADATA_TIMEOUT = 30.0


@dataclass(frozen=True)
class Location:
    """A folder-like place: a local directory or a URL prefix ending in ``/``."""

    url: str

    @classmethod
    def parse(cls, uri: str | os.PathLike[str]) -> Location:
        """A location from a path, ``file://``, ``http(s)://``, ``s3://`` or ``gs://`` URL."""
        text = os.fspath(uri)
        scheme = urlparse(text).scheme
        if scheme == "file":
            path = urlparse(text).path
        elif scheme in REMOTE_SCHEMES:
            return cls(text.rstrip("/") + "/")
        elif scheme and len(scheme) > 1:  # one letter: a Windows drive
            raise SourceError(f"{text}: unsupported URL scheme {scheme!r}")
        else:
            path = os.path.expanduser(text)
        return cls("file://" + os.path.abspath(path).rstrip("/") + "/")

    @property
    def is_local(self) -> bool:
        """Whether this is a local directory."""
        return self.url.startswith("file://")

    @property
    def local_path(self) -> str:
        """The directory path of a local location."""
        return self.url[len("file://") :].rstrip("/") or "/"

    @property
    def display(self) -> str:
        """The path or URL as a user wrote it, for messages."""
        return self.local_path if self.is_local else self.url.rstrip("/")

    @property
    def basename(self) -> str:
        """Last path component (for layer names)."""
        return self.display.rstrip("/").rsplit("/", 1)[-1]

    def child(self, name: str) -> Location:
        """The sub-location ``name`` (``..`` is not allowed)."""
        parts = [p for p in name.strip("/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SourceError(f"{self.display}: path {name!r} leaves the dataset")
        return Location(self.url + "".join(p + "/" for p in parts))

    def where(self, key: str = "") -> str:
        """A file's path or URL, for messages."""
        return f"{self.display}/{key}" if key else self.display

    @cached_property
    def kvstore(self) -> ts.KvStore:
        """The tensorstore kvstore rooted here."""
        try:
            return ts.KvStore.open(self.url, context=shared_context()).result(
                timeout=METADATA_TIMEOUT
            )
        except Exception as e:
            raise SourceError(f"{self.display}: cannot open: {e}") from e

    def read(self, key: str, timeout: float = METADATA_TIMEOUT) -> bytes | None:
        """Bytes of ``key``, or None when it does not exist."""
        try:
            result = self.kvstore.read(key).result(timeout=timeout)
        except TimeoutError as e:
            raise SourceError(f"{self.where(key)}: no answer within {timeout:g} s") from e
        except Exception as e:
            raise SourceError(f"{self.where(key)}: cannot read: {e}") from e
        return bytes(result.value) if result.state == "value" else None

    def read_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object in ``key``, None when absent; MetadataError when not JSON."""
        raw = self.read(key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise MetadataError(self.where(key), "", f"not valid JSON ({e})") from e
        if not isinstance(doc, dict):
            raise MetadataError(self.where(key), "", "expected a JSON object")
        return doc
