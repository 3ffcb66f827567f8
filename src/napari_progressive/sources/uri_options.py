"""Options of the synthetic datasets' URIs: ``scheme://name=N,name=N``, each bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari_progressive.core.errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Longest number text read as such; longer ones are out of range.
MAX_DIGITS = 12


def parse_uri_options(
    uri: str, scheme: str, limits: Mapping[str, tuple[int, int]]
) -> dict[str, int]:
    """The ``name=N`` options of ``uri`` (all optional); ``limits`` is each name's range.

    Raises ``SourceError`` for another scheme, an unknown name, a value that
    is not a decimal number, or one out of range.
    """
    if not uri.startswith(scheme):
        raise SourceError(f"not a {scheme.removesuffix('://')} URI: {uri!r}")
    names = [f"{name}=N" for name in limits]
    expected = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    options: dict[str, int] = {}
    for part in filter(None, uri[len(scheme) :].split(",")):
        name, _, value = part.partition("=")
        if name not in limits or not (value.isascii() and value.isdigit()):
            raise SourceError(f"{uri!r}: expected {expected}, got {part!r}")
        low, high = limits[name]
        number = int(value) if len(value) <= MAX_DIGITS else high + 1
        if not low <= number <= high:
            raise SourceError(f"{uri!r}: {name} must be {low} to {high}, got {value[:20]}")
        options[name] = number
    return options
