"""Prunes the thumbnail disk cache once per start, off the GUI thread (see library/thumb_cache)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.library import thumb_cache

log = logging.getLogger(__name__)

#: The setting holding the cache's cap in MB (0 or less: no cap).
LIMIT_KEY = "thumbnails/cache_limit_mb"
#: Without a folder opened first, the prune starts this long after the window (ms).
START_DELAY_MS = 5000


def cache_limit_bytes(settings: Any) -> int:
    """The cap from `settings` ("thumbnails/cache_limit_mb"), else the default 1 GB."""
    value = settings.value(LIMIT_KEY, None) if settings is not None else None
    if value in (None, ""):
        return thumb_cache.DEFAULT_LIMIT_BYTES
    try:
        return int(float(value) * 1024 * 1024)
    except (TypeError, ValueError):
        log.warning("Ignoring the setting %s=%r (not a number of MB)", LIMIT_KEY, value)
        return thumb_cache.DEFAULT_LIMIT_BYTES


class CachePruner(QObject):
    """Runs `thumb_cache.prune_cache` once, in a daemon thread, when asked or when due.

    Signals:
        finished(object): the prune ended; its `PruneResult` (GUI thread).
    """

    finished = Signal(object)

    def __init__(self, cache_dir: str | os.PathLike[str] | None, limit_bytes: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.limit_bytes = limit_bytes
        self.result: thumb_cache.PruneResult | None = None
        self._thread: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.start)

    @property
    def started(self) -> bool:
        """Whether the prune has started (it runs once)."""
        return self._thread is not None

    def start_later(self, delay_ms: int = START_DELAY_MS) -> None:
        """Start after `delay_ms` unless something (a folder opening) starts it sooner."""
        if not self.started:
            self._timer.start(delay_ms)

    @Slot()
    @Slot(object)
    def start(self, *_: Any) -> bool:
        """Start the prune now (once; later calls do nothing). Whether it started now."""
        if self.started or self.cache_dir is None:
            return False
        self._timer.stop()
        self._thread = threading.Thread(target=self._run, name="thumb-cache-prune", daemon=True)
        self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the prune thread ended (tests); whether it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = thumb_cache.prune_cache(self.cache_dir, self.limit_bytes)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a cache chore must never take the app down
            log.exception("Pruning the thumbnail cache %s failed", self.cache_dir)
            result = thumb_cache.PruneResult()
        self.result = result
        try:
            self.finished.emit(result)  # queued to the GUI thread
        except RuntimeError:  # the pruner was deleted meanwhile (the app closed)
            pass


def schedule_pruning(window: Any, delay_ms: int = START_DELAY_MS) -> CachePruner | None:
    """Prune the window's thumbnail cache once: when the first folder opened, or after a delay.

    The cap comes from the window's settings; returns the pruner (None without a disk cache).
    """
    cache_dir = window.loader.cache_dir
    if cache_dir is None:
        return None
    pruner = CachePruner(cache_dir, cache_limit_bytes(window.qsettings), window)
    window.folder_opened.connect(pruner.start)
    pruner.start_later(delay_ms)
    return pruner
