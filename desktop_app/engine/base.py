"""What the remote engine is built on: one job at a time, the model loaded on first use, and
`submit()` handles (jobs queue on one thread) like the local live engine's."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from pathlib import Path
from typing import Any, Iterator

from .events import EventCallback, ImageCaptioned, ImageFailed, ignore_event
from .jobs import JobHandle
from .types import CaptionRequest

log = logging.getLogger(__name__)


class SingleJobEngine:
    """Base of `CaptionEngine` and `RemoteEngine`: `caption()` validates, takes the job lock,
    loads, then runs the subclass's `_caption(loaded, request, cancel, on_event, root)`."""

    def __init__(self) -> None:
        self._job_lock = threading.Lock()
        self._queued: queue.Queue[tuple[JobHandle, Path | None]] = queue.Queue()
        self._job_ids = itertools.count(1)
        self._jobs_thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, request: CaptionRequest, on_event: EventCallback = ignore_event,
               root: Path | None = None, cancel: threading.Event | None = None,
               keep_results: bool = True) -> JobHandle:
        """Queue `request`; jobs run one after another on this engine's job thread (each
        remote job already keeps every endpoint busy). Returns the job's handle at once."""
        request.params.validate()
        request.video.validate()
        handle = JobHandle(next(self._job_ids), request, on_event, cancel, lambda: None, keep_results)
        with self._start_lock:
            if self._jobs_thread is None or not self._jobs_thread.is_alive():
                self._jobs_thread = threading.Thread(target=self._run_jobs, daemon=True,
                                                     name="caption-remote-jobs")
                self._jobs_thread.start()
        self._queued.put((handle, root))
        return handle

    def _run_jobs(self) -> None:
        while True:
            try:
                handle, root = self._queued.get(timeout=30)
            except queue.Empty:
                with self._start_lock:  # idle: let the thread go (a later submit starts one)
                    if self._queued.empty():
                        self._jobs_thread = None
                        return
                continue
            error, ran = "", not handle.cancelled
            if ran:  # the engine's own job says "idle" when it ends
                try:
                    for result in self.caption(handle.request, handle._cancel, handle.emit, root):
                        handle.put_result(result)
                except Exception as exc:  # noqa: BLE001 - a broken job must not end the thread
                    log.exception("job %d failed", handle.id)
                    error = f"{type(exc).__name__}: {exc}"
            handle.end(error, stage=not ran)

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
