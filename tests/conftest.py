"""Suite-wide markers and fixtures.

Every test under ``tests/gui`` carries the ``gui`` marker; without a display
the tests carrying it are skipped (run them under ``xvfb-run``). Tests marked
``slow`` or ``long`` run only when a ``-m`` expression names their marker, so
``-m "not gui"`` still leaves them out.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from napari_progressive.integration import shared

GUI_TESTS = Path(__file__).parent / "gui"
#: Markers whose tests run only when ``-m`` names them.
OPT_IN = ("slow", "long")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_gui(items)
    _leave_out_opt_in(config, items)


def _mark_gui(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="GUI tests need a display: run them under xvfb-run")
    headless = not os.environ.get("DISPLAY")
    for item in items:
        if item.path.is_relative_to(GUI_TESTS):
            item.add_marker(pytest.mark.gui)
        if headless and item.get_closest_marker("gui"):
            item.add_marker(skip)


def _leave_out_opt_in(config: pytest.Config, items: list[pytest.Item]) -> None:
    named = set(re.findall(r"\w+", config.getoption("markexpr") or ""))
    left_out = [m for m in OPT_IN if m not in named]
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in left_out) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def fresh_shared():
    """The process-wide defaults (caches, budgets, queues, disk tier) anew, before and after."""
    shared.reset()
    yield shared
    shared.reset()
