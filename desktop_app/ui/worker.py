"""The engine on one long-lived QThread, and the GUI-thread service that drives it."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from ..engine import (CaptionEngine, CaptionRequest, Event, ImageCaptioned, ImageFailed,
                      LoadOptions, ModelLoadError, Progress, StageChanged, TokensStreamed,
                      resolve_model)
from ..engine.remote import RemoteEngine, RemoteOptions

log = logging.getLogger(__name__)
TOKEN_BATCH_S = 0.02  # the worker hands streamed text over in batches at most this often

FLUSH_INTERVAL_MS = 40  # streamed text reaches the screen at most this often
StreamedText = tuple[Path, int, str, bool]  # (path, variant, text, reasoning)


@dataclass(frozen=True)
class CaptionJob:
    """One caption request to run, with its id and its own cancel flag.

    `root` is the library folder the request's paths are relative to, for prompts that name
    the folder; `cancel` is set directly from the GUI thread by `CaptionService.cancel()`.
    """

    job_id: int
    request: CaptionRequest
    root: Path | None = None
    cancel: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


class EngineWorker(QObject):
    """Owns the `CaptionEngine`; lives in the service's worker thread.

    Its slots are invoked through queued signals, so they run one after another in the
    worker thread: a job blocks the thread's event loop until it ends, which is why jobs are
    cancelled through their `threading.Event`, never through a slot. Errors never escape a
    slot; they become `model_load_failed` or `job_failed`.

    Signals:
        stage_changed(str, str): The engine entered a stage (loading, captioning, idle...)
            and its detail.
        model_loaded(str): A model is loaded; its description.
        model_load_failed(str): Loading failed; a message a person understands.
        model_unloaded(): The model was dropped.
        job_started(int): A job began (its id).
        tokens_streamed(object): A list of `TokensStreamed` events, emitted at most every
            ~20 ms and always before any other event (a GPU batch makes thousands of
            tokens a second: one queued signal each would swamp the GUI thread).
        image_captioned(object): An `ImageCaptioned` result.
        image_failed(object): An `ImageFailed` result.
        progress(object): A `Progress` event.
        job_finished(int, bool): A job ended; whether it was cancelled.
        job_failed(int, str): A job stopped on an error; the message.
    """

    stage_changed = Signal(str, str)
    model_loaded = Signal(str)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    job_started = Signal(int)
    tokens_streamed = Signal(object)
    image_captioned = Signal(object)
    image_failed = Signal(object)
    progress = Signal(object)
    job_finished = Signal(int, bool)
    job_failed = Signal(int, str)

    def __init__(self, runner: str = "auto", workers: int = 4) -> None:
        super().__init__()
        self._runner = runner
        self._workers = workers
        self._engine: CaptionEngine | RemoteEngine | None = None
        self._load_error = ""
        self._closing = threading.Event()
        self._pending_tokens: list[TokensStreamed] = []
        self._last_tokens_emit = 0.0

    # -- slots (worker thread) -------------------------------------------------------------
    @Slot(str, object)
    def load_model(self, model: str, options: LoadOptions | RemoteOptions) -> None:
        """Load `model` (no-op when that model is loaded with the same options)."""
        if self._closing.is_set():  # the service is shutting down: a load would hold it up
            return
        if self._is_loaded(model, options):
            self.model_loaded.emit(self._engine.loaded.describe())
            return
        self._drop_engine()
        try:
            if isinstance(options, RemoteOptions):  # the OpenAI-compatible servers, not a local model
                engine: Any = RemoteEngine.from_options(options)
            else:
                engine = CaptionEngine(model, options, runner=self._runner, workers=self._workers)
            engine.load(self._on_engine_event)
        except Exception as exc:  # noqa: BLE001 - a failed load must not end the thread
            self._load_error = _load_message(exc)
            self.stage_changed.emit("idle", "model not loaded")
            self.model_load_failed.emit(self._load_error)
            return
        self._engine, self._load_error = engine, ""
        self.model_loaded.emit(engine.loaded.describe())

    @Slot(object)
    def run_job(self, job: CaptionJob) -> None:
        """Caption `job.request`, reporting through signals; ends with job_finished or job_failed."""
        if job.cancel.is_set():  # cancelled while it waited in the queue
            self.job_finished.emit(job.job_id, True)
            return
        if self._engine is None:
            reason = f" ({self._load_error})" if self._load_error else ""
            self.job_failed.emit(job.job_id, f"no model is loaded{reason}")
            return
        self.job_started.emit(job.job_id)
        try:
            # The runners enter torch.inference_mode themselves, in this thread (it is
            # thread-local, so it has to be entered here and not in the GUI thread).
            results = self._engine.caption(job.request, job.cancel, self._on_engine_event, job.root)
            for _ in results:  # results also arrive as events, in the engine's order
                pass
        except Exception as exc:  # noqa: BLE001 - a failed job must not end the thread
            log.exception("caption job %d failed", job.job_id)
            self._emit_tokens()
            self.stage_changed.emit("idle", "failed")
            self.job_failed.emit(job.job_id, _error_message(exc))
            return
        self._emit_tokens()
        self.job_finished.emit(job.job_id, job.cancel.is_set())

    @Slot()
    def unload(self) -> None:
        """Drop the model and free its memory."""
        self._drop_engine()
        self.stage_changed.emit("idle", "model unloaded")
        self.model_unloaded.emit()

    def close(self) -> None:
        """From any thread: refuse further loads (queued jobs are cancelled by the service)."""
        self._closing.set()

    def release(self) -> None:
        """Drop the engine without signals; only once the worker thread has finished."""
        self._drop_engine()

    # -- engine callback (worker thread) ----------------------------------------------------
    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, TokensStreamed):
            self._pending_tokens.append(event)
            if time.monotonic() - self._last_tokens_emit >= TOKEN_BATCH_S:
                self._emit_tokens()
            return
        self._emit_tokens()  # streamed text always reaches the service before its result
        if isinstance(event, ImageCaptioned):
            self.image_captioned.emit(event)
        elif isinstance(event, ImageFailed):
            self.image_failed.emit(event)
        elif isinstance(event, Progress):
            self.progress.emit(event)
        elif isinstance(event, StageChanged):
            self.stage_changed.emit(event.stage, event.detail)

    def _emit_tokens(self) -> None:
        if self._pending_tokens:
            batch, self._pending_tokens = self._pending_tokens, []
            self._last_tokens_emit = time.monotonic()
            self.tokens_streamed.emit(batch)

    # -- helpers ----------------------------------------------------------------------------
    def _is_loaded(self, model: str, options: LoadOptions | RemoteOptions) -> bool:
        engine = self._engine
        if engine is None or engine.loaded is None or engine.options != options:
            return False
        if isinstance(options, RemoteOptions):
            return True
        try:
            return resolve_model(model) == engine.spec
        except ValueError:
            return False

    def _drop_engine(self) -> None:
        if self._engine is not None:
            self._engine.unload()
            self._engine = None


def _load_message(exc: Exception) -> str:
    if isinstance(exc, (ModelLoadError, ValueError)):
        return str(exc)  # already written for a person
    log.exception("model load failed")
    return f"could not load the model: {_error_message(exc)}"


def _error_message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class CaptionService(QObject):
    """The GUI thread's handle on the engine worker and its thread.

    Requests go to the worker through queued signals and run there in order; the worker's
    signals come back to slots of this object (GUI thread) and are re-emitted, so anything
    connected to the service runs in the GUI thread. Streamed tokens are merged and flushed
    at most every `FLUSH_INTERVAL_MS`; the tokens of an image are always flushed before its
    result, and all of them before a job's end.

    Signals:
        stage_changed(str, str): The engine's stage and its detail.
        model_loaded(str): A model is loaded (or was already); its description.
        model_load_failed(str): Loading failed; a message a person understands.
        model_unloaded(): The model was dropped.
        job_started(int): A job began running (its id).
        image_started(object): The first streamed text of an image arrived (its `Path`).
        tokens_streamed(object): A list of `(path, variant, text, reasoning)` tuples: the
            new text since the last flush, merged per path, variant and reasoning flag.
        image_captioned(object): An `ImageCaptioned` result.
        image_failed(object, str): An image's `Path` and the reason it failed.
        progress(int, int, int, float, float): done, failed, total, images per second and
            the estimated seconds left (-1 when unknown).
        job_finished(int, bool): A job ended; whether it was cancelled.
        job_failed(int, str): A job stopped on an error; the message.
    """

    stage_changed = Signal(str, str)
    model_loaded = Signal(str)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    job_started = Signal(int)
    image_started = Signal(object)
    tokens_streamed = Signal(object)
    image_captioned = Signal(object)
    image_failed = Signal(object, str)
    progress = Signal(int, int, int, float, float)
    job_finished = Signal(int, bool)
    job_failed = Signal(int, str)

    _load_requested = Signal(str, object)
    _job_requested = Signal(object)
    _unload_requested = Signal()

    def __init__(self, runner: str = "auto", workers: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, CaptionJob] = {}
        self._buffer: dict[tuple[Path, int, bool], list[str]] = {}
        self._started_paths: set[Path] = set()
        self._closed = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer_timeout)
        self._thread = QThread()
        self._thread.setObjectName("caption-engine")
        self._worker = EngineWorker(runner, workers)
        self._worker.moveToThread(self._thread)
        self._connect_worker()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)
        self._thread.start()

    def _connect_worker(self) -> None:
        w = self._worker
        self._load_requested.connect(w.load_model)
        self._job_requested.connect(w.run_job)
        self._unload_requested.connect(w.unload)
        w.stage_changed.connect(self._on_worker_stage_changed)
        w.model_loaded.connect(self._on_worker_model_loaded)
        w.model_load_failed.connect(self._on_worker_model_load_failed)
        w.model_unloaded.connect(self._on_worker_model_unloaded)
        w.job_started.connect(self._on_worker_job_started)
        w.tokens_streamed.connect(self._on_worker_tokens_streamed)
        w.image_captioned.connect(self._on_worker_image_captioned)
        w.image_failed.connect(self._on_worker_image_failed)
        w.progress.connect(self._on_worker_progress)
        w.job_finished.connect(self._on_worker_job_finished)
        w.job_failed.connect(self._on_worker_job_failed)

    # -- requests (GUI thread) --------------------------------------------------------------
    @property
    def thread(self) -> QThread:
        """The worker thread (for tests and diagnostics)."""
        return self._thread

    @property
    def worker(self) -> EngineWorker:
        """The worker object; connect only GUI-thread slots to it (prefer the service's signals)."""
        return self._worker

    @property
    def is_busy(self) -> bool:
        """Whether a job is queued or running."""
        return bool(self._jobs)

    def new_job(self, request: CaptionRequest, root: Path | None = None) -> CaptionJob:
        """A job for `request` with a fresh id."""
        return CaptionJob(next(self._ids), request, root)

    def load_model(self, model: str, options: LoadOptions | None = None) -> None:
        """Load `model` in the worker; answers with model_loaded or model_load_failed."""
        self._check_open()
        self._load_requested.emit(model, options or LoadOptions())

    def start(self, job: CaptionJob) -> int:
        """Queue `job` (it runs after what is already queued); returns its id."""
        self._check_open()
        if job.job_id in self._jobs:
            raise ValueError(f"job {job.job_id} is already queued or running")
        self._jobs[job.job_id] = job
        self._job_requested.emit(job)
        return job.job_id

    def cancel(self) -> None:
        """Cancel the running job and every queued one (each ends with job_finished(id, True))."""
        for job in self._jobs.values():
            job.cancel.set()  # directly: a queued slot would only run after the job

    def unload(self) -> None:
        """Drop the model once the queued work is done; answers with model_unloaded."""
        self._check_open()
        self._unload_requested.emit()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel all jobs, stop the worker thread and wait for it; True when it stopped.

        Safe to call twice and from closeEvent. A model load in progress cannot be
        interrupted, so the wait may take up to `timeout_ms`.
        """
        if self._closed:
            return self._thread.isFinished()
        self._closed = True
        self._worker.close()
        self.cancel()
        self._thread.quit()
        stopped = self._thread.wait(timeout_ms)
        if stopped:
            self._worker.release()
            self._jobs.clear()  # queued jobs never ran, so no job_finished comes for them
        else:
            log.error("the caption worker thread did not stop within %d ms", timeout_ms)
        self._flush_tokens()
        return stopped

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the caption service is shut down")

    # -- worker signals (GUI thread) --------------------------------------------------------
    @Slot(str, str)
    def _on_worker_stage_changed(self, stage: str, detail: str) -> None:
        self.stage_changed.emit(stage, detail)

    @Slot(str)
    def _on_worker_model_loaded(self, description: str) -> None:
        self.model_loaded.emit(description)

    @Slot(str)
    def _on_worker_model_load_failed(self, message: str) -> None:
        self.model_load_failed.emit(message)

    @Slot()
    def _on_worker_model_unloaded(self) -> None:
        self.model_unloaded.emit()

    @Slot(int)
    def _on_worker_job_started(self, job_id: int) -> None:
        self._started_paths.clear()
        self.job_started.emit(job_id)

    @Slot(object)
    def _on_worker_tokens_streamed(self, events: list[TokensStreamed]) -> None:
        for event in events:
            if event.path not in self._started_paths:
                self._started_paths.add(event.path)
                self.image_started.emit(event.path)
            self._buffer.setdefault((event.path, event.variant, event.reasoning), []).append(event.text)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot(object)
    def _on_worker_image_captioned(self, result: ImageCaptioned) -> None:
        self._flush_tokens()
        self.image_captioned.emit(result)

    @Slot(object)
    def _on_worker_image_failed(self, result: ImageFailed) -> None:
        self._flush_tokens()
        self.image_failed.emit(result.path, result.reason)

    @Slot(object)
    def _on_worker_progress(self, p: Progress) -> None:
        eta = -1.0 if p.eta_s is None else float(p.eta_s)
        self.progress.emit(p.done, p.failed, p.total, float(p.images_per_s), eta)

    @Slot(int, bool)
    def _on_worker_job_finished(self, job_id: int, cancelled: bool) -> None:
        self._flush_tokens()
        self._jobs.pop(job_id, None)
        self.job_finished.emit(job_id, cancelled)

    @Slot(int, str)
    def _on_worker_job_failed(self, job_id: int, message: str) -> None:
        self._flush_tokens()
        self._jobs.pop(job_id, None)
        self.job_failed.emit(job_id, message)

    @Slot()
    def _on_flush_timer_timeout(self) -> None:
        self._flush_tokens()

    @Slot()
    def _on_app_about_to_quit(self) -> None:
        self.shutdown()

    def _flush_tokens(self) -> None:
        """Emit the buffered text as one batch (all of it: results must not overtake it)."""
        self._flush_timer.stop()
        if not self._buffer:
            return
        batch: list[StreamedText] = [(path, variant, "".join(parts), reasoning)
                                     for (path, variant, reasoning), parts in self._buffer.items()]
        self._buffer.clear()
        self.tokens_streamed.emit(batch)
