"""The one route from worker threads onto the Qt main thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qtpy.QtCore import QObject, Qt, Signal

if TYPE_CHECKING:
    from collections.abc import Callable


class MainThreadWaker(QObject):
    """Calling it from any thread runs ``callback`` once on the main thread.

    Calls made before the callback has run coalesce into one.
    """

    _woken = Signal()

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self._callback = callback
        self._pending = False
        self._lock = threading.Lock()
        self._woken.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self) -> None:
        """Ask for the callback to run on the main thread (thread-safe)."""
        with self._lock:
            if self._pending:
                return
            self._pending = True
        self._woken.emit()

    def _run(self) -> None:
        with self._lock:
            self._pending = False
        self._callback()
