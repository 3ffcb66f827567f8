"""Suite-wide markers and fixtures.

Every test under ``tests/gui`` carries the ``gui`` marker; without a display
the tests carrying it are skipped (run them under ``xvfb-run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from napari_progressive.integration import shared

GUI_TESTS = Path(__file__).parent / "gui"


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="GUI tests need a display: run them under xvfb-run")
    headless = not os.environ.get("DISPLAY")
    for item in items:
        if item.path.is_relative_to(GUI_TESTS):
            item.add_marker(pytest.mark.gui)
        if headless and item.get_closest_marker("gui"):
            item.add_marker(skip)


@pytest.fixture
def fresh_shared():
    """The process-wide defaults (caches, budgets, queues, disk tier) anew, before and after."""
    shared.reset()
    yield shared
    shared.reset()
