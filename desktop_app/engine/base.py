"""What every engine shares: one job at a time, the model loaded on first use."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

from .events import EventCallback, ImageCaptioned, ImageFailed, ignore_event
from .types import CaptionRequest


class SingleJobEngine:
    """Base of `CaptionEngine` and `RemoteEngine`: `caption()` validates, takes the job lock,
    loads, then runs the subclass's `_caption(loaded, request, cancel, on_event, root)`."""

    def __init__(self) -> None:
        self._job_lock = threading.Lock()

    def load(self, on_event: EventCallback = ignore_event) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _caption(self, loaded: Any, request: CaptionRequest, cancel: threading.Event,
                 on_event: EventCallback, root: Path | None) -> Iterator[ImageCaptioned | ImageFailed]:
        raise NotImplementedError  # pragma: no cover - abstract

    def caption(self, request: CaptionRequest, cancel: threading.Event | None = None,
                on_event: EventCallback = ignore_event,
                root: Path | None = None) -> Iterator[ImageCaptioned | ImageFailed]:
        """Caption every item of `request`; yields one result per image as it finishes.

        Images that cannot be read or run fail alone with their reason. After `cancel` is
        set, work stops promptly; what finished is already yielded. A second job while one
        runs raises RuntimeError (the model keeps per-call state).
        """
        request.params.validate()
        request.video.validate()
        cancel = cancel or threading.Event()
        if not self._job_lock.acquire(blocking=False):
            raise RuntimeError("the engine is already running a job")
        try:
            loaded = self.load(on_event)
            yield from self._caption(loaded, request, cancel, on_event, root)
        finally:
            self._job_lock.release()
