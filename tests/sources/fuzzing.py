"""Hypothesis strategies and settings shared by the fuzz suites.

Each fuzz test runs twice: ``FAST`` (derandomized, a few dozen examples,
part of the default run, marked ``smoke``) and ``LONG`` (random, thousands of
examples, marked ``slow``: ``python -m pytest -m slow tests/sources``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Callable

FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(
    max_examples=3000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Numbers where parsers break: huge, negative, non-finite, booleans, past int64.
NASTY_NUMBERS = st.one_of(
    st.integers(-3, 70),
    st.sampled_from([0, -1, 2**31, 2**32, 2**40, 2**62, 2**63, 2**64, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
SCALARS = st.one_of(st.none(), NASTY_NUMBERS, st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indexes) into a JSON document."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A seed document with one to four values replaced, deleted or grown.

    Half the mutations put a nasty number where the seed has a number (the
    sizes, offsets and transforms parsers must bound), the rest replace any
    value by arbitrary JSON, delete it or repeat a list up to 70 times.
    """
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["number", "number", "replace", "delete", "grow"]))
        paths = [p for p in _paths(doc) if p]
        if action == "number":
            paths = [p for p in paths if _is_number(_get(doc, p))] or paths
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent, key = _get(doc, path[:-1]), path[-1]
        if action == "delete":
            del parent[key]
        elif action == "number":
            parent[key] = draw(NASTY_NUMBERS)
        elif action == "grow" and isinstance(parent[key], list):
            parent[key] = parent[key] * draw(st.integers(0, 70))
        else:
            parent[key] = draw(JSON)
    return doc


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def fuzz_pair(strategy: st.SearchStrategy, check: Callable[..., None]) -> tuple[Any, Any]:
    """A fast (``smoke``-marked) and a long (``slow``-marked) hypothesis test of ``check``."""
    fast = pytest.mark.smoke(FAST(given(strategy)(check)))
    long = pytest.mark.slow(LONG(given(strategy)(check)))
    return fast, long
