"""Suite-wide fixtures."""

from __future__ import annotations

import pytest

from napari_progressive.integration import shared


@pytest.fixture
def fresh_shared():
    """The process-wide defaults (caches, budgets, queues, disk tier) anew, before and after."""
    shared.reset()
    yield shared
    shared.reset()
