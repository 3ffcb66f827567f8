"""Project exceptions; each subclasses the matching built-in."""

from __future__ import annotations


class ProgressiveError(Exception):
    """Base class of napari-progressive errors."""


class ChunkReadError(ProgressiveError, OSError):
    """A chunk could not be read or decoded; its tile is marked failed."""

    def __init__(self, source: str, level: int, index: tuple[int, ...], reason: str) -> None:
        super().__init__(f"{source}: level {level} chunk {index}: {reason}")
        self.source = source
        self.level = level
        self.index = index
        self.reason = reason


class SourceError(ProgressiveError, ValueError):
    """Input that cannot be opened as a multiscale source."""


class MetadataError(SourceError):
    """Metadata that is missing or breaks its format's rules.

    ``where`` names the file (or URL) and ``field`` the offending entry, so
    the message says what to fix and where.
    """

    def __init__(self, where: str, field: str, reason: str) -> None:
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")
        self.where = where
        self.field = field
        self.reason = reason


class DecodeError(ProgressiveError, ValueError):
    """Chunk bytes that fail validation before, or during, decoding."""


class DiskCacheWarning(RuntimeWarning):
    """The disk tier cannot use its folder as it should (read-only, full, a link inside).

    It steps aside for what it cannot do; reads are always served from the source.
    """
