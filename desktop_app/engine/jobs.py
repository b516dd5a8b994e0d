"""`JobHandle`: one submitted caption job, as every engine's `submit()` returns it (no torch)."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Iterator

from .events import EventCallback, ImageCaptioned, ImageFailed, JobEnded, StageChanged
from .types import CaptionRequest

log = logging.getLogger(__name__)
END = object()  # the results queue's last item


class JobHandle:
    """One submitted job: its own events, results, progress and cancel.

    Attributes:
        id: The job's number (unique per engine).
        request: What was submitted.
        error: Why the job broke as a whole (the engine was closed, the runner crashed), or "".

    `keep_results=False`: the results come through `on_event` only and `results()` yields
    none, so a listener-only caller (the window) holds no result of a 100k-file run.
    """

    def __init__(self, job_id: int, request: CaptionRequest, on_event: EventCallback,
                 cancel: threading.Event | None, wake: Callable[[], None], keep_results: bool = True):
        self.id = job_id
        self.keep_results = keep_results
        self.request = request
        self.error = ""
        self._on_event = on_event
        self._cancel = cancel or threading.Event()
        self._wake = wake
        self._results: queue.Queue[Any] = queue.Queue()
        self._done = threading.Event()
        # Engine-thread state (the live engine's; unused by other engines).
        self.feed: Any = None  # its files on their way through the prefetch pool
        self.head: Any = None  # the next prepared file, waiting for a slot
        self.fed = False  # every file has come out of the pool
        self.open: dict[int, int] = {}  # engine key -> variants not finished yet
        self.tracker: Any = None
        self.settings: Any = None

    # -- for the caller ----------------------------------------------------------------
    def cancel(self) -> None:
        """Stop this job within one decoding step; other jobs keep running."""
        self._cancel.set()
        self._wake()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; False on timeout."""
        return self._done.wait(timeout)

    @property
    def progress(self) -> Any:
        """The job's latest `Progress` counts (done, failed, total)."""
        t = self.tracker
        return None if t is None else (t.done, t.failed, t.total)

    def results(self) -> Iterator[ImageCaptioned | ImageFailed]:
        """Each image's result as it finishes, until the job ends. Leaving the loop early
        cancels the job. Raises RuntimeError when the job broke as a whole."""
        finished = False
        try:
            while True:
                item = self._results.get()
                if item is END:
                    finished = True
                    break
                yield item
        finally:
            if not finished:
                self.cancel()
        if self.error:
            raise RuntimeError(self.error)

    # -- for the engine ----------------------------------------------------------------
    def emit(self, event: Any) -> None:
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the engine
            log.exception("job %d: event listener failed on %s", self.id, type(event).__name__)

    def put_result(self, result: Any) -> None:
        if self.keep_results:
            self._results.put(result)

    def end(self, error: str = "", stage: bool = True) -> None:
        """The job is over: its "idle" stage (unless the engine said it already), `JobEnded`."""
        if self._done.is_set():
            return
        self.error = error
        cancelled = self.cancelled
        if stage:
            self.emit(StageChanged("idle", "failed" if error else "cancelled" if cancelled else "finished"))
        self.emit(JobEnded(self.id, cancelled, error))
        self._results.put(END)
        self._done.set()
