"""Open a remote dataset in the background: its metadata never blocks the UI thread.

File > Open on a URL hands the path to the reader on napari's UI thread; a
slow or hanging server would freeze the window for as long as its metadata
takes. ``open_in_background`` reads the metadata on a worker thread, shows an
"Opening ..." entry with a Cancel button in napari's activity panel, and adds
the layers to the viewer when they are ready (nothing, if cancelled). Errors
become a napari notification.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from napari.utils.notifications import show_error
from napari.utils.progress import cancelable_progress
from superqt.utils import ensure_main_thread

from napari_progressive.core.errors import ProgressiveError
from napari_progressive.integration.layer_factory import dataset_layers, open_dataset
from napari_progressive.sources.redact import redacted

if TYPE_CHECKING:
    import napari

    from napari_progressive.integration.layer_factory import OpenedDataset


class BackgroundOpen:
    """One dataset being opened on a worker thread for ``viewer``."""

    def __init__(self, viewer: napari.Viewer, uri: str, **options: Any) -> None:
        self.viewer = viewer
        self.uri = uri
        label = redacted(uri)  # what the user sees: no password, no token
        self.layers: list[Any] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.progress = cancelable_progress(total=0, desc=f"Opening {label}")
        self._options = options
        self._thread = threading.Thread(
            target=self._open, name="napari-progressive-open", daemon=True
        )
        self._thread.start()

    @property
    def cancelled(self) -> bool:
        """Whether the user cancelled the opening."""
        return bool(self.progress.is_canceled)

    def _open(self) -> None:
        try:
            opened = open_dataset(self.uri, **self._options)
        except Exception as e:  # reported on the main thread
            self._finish(None, e)
        else:
            self._finish(opened, None)

    @ensure_main_thread
    def _finish(self, opened: OpenedDataset | None, error: BaseException | None) -> None:
        try:
            if self.cancelled:
                return
            if error is not None:
                self.error = error
                reason = str(error) if isinstance(error, ProgressiveError) else repr(error)
                show_error(f"napari-progressive: cannot open {redacted(self.uri)}: {reason}")
                return
            assert opened is not None
            self.layers = dataset_layers(opened)
            for layer in self.layers:
                self.viewer.add_layer(layer)
        finally:
            self.progress.close()
            _running.discard(self)
            self.done.set()


#: Openings in flight, kept alive until they finish.
_running: set[BackgroundOpen] = set()


def open_in_background(viewer: napari.Viewer, uri: str) -> BackgroundOpen:
    """Start opening ``uri`` for ``viewer``; its layers are added when ready."""
    job = BackgroundOpen(viewer, uri)
    _running.add(job)
    return job
