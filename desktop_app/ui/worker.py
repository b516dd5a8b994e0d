"""The engine on one long-lived QThread, and the GUI-thread service that drives it."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from ..engine import (CaptionEngine, CaptionRequest, Event, ImageCaptioned, ImageFailed,
                      LoadOptions, ModelLoadError, Progress, StageChanged, TokensStreamed,
                      resolve_model)
from ..engine.events import JobEnded
from ..engine.jobs import JobHandle
from ..engine.remote import RemoteEngine, RemoteOptions

log = logging.getLogger(__name__)
TOKEN_BATCH_S = 0.02  # the worker hands streamed text over in batches at most this often
JOB_END_TIMEOUT_S = 10.0  # how long an unload waits for a cancelled job to end

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

    Its slots are invoked through queued signals and run one after another in the worker
    thread. Loading a model blocks the thread; a job does not: `run_job` submits it to the
    engine and returns, so several jobs run at once (a live engine shares its slots between
    them; a remote engine runs them one after another). The engine reports each job's events
    on its own threads; they leave through this object's signals (Qt queues them to the
    service), each carrying the job's id. Jobs are cancelled through their `threading.Event`.
    Errors never escape a slot; they become `model_load_failed` or `job_failed`.

    Signals:
        stage_changed(int, str, str): The engine entered a stage (loading, captioning, idle...):
            the job it belongs to (0: the model's own load or unload), the stage, its detail.
        model_loaded(str): A model is loaded; its description.
        runner_chosen(str, str): Which runner captions with the loaded model ("continuous",
            "generate"; "" for a remote engine) and, for the generate() fallback, why.
        model_load_failed(str): Loading failed; a message a person understands.
        model_unloaded(): The model was dropped.
        job_started(int): A job was handed to the engine (its id).
        tokens_streamed(object): A list of `(job_id, TokensStreamed)`, emitted at most every
            ~20 ms and always before any other event (a GPU batch makes thousands of tokens
            a second: one queued signal each would swamp the GUI thread).
        image_captioned(int, object): A job's `ImageCaptioned` result.
        image_failed(int, object): A job's `ImageFailed` result.
        progress(int, object): A job's `Progress` event.
        job_finished(int, bool): A job ended; whether it was cancelled.
        job_failed(int, str): A job stopped on an error; the message.
    """

    stage_changed = Signal(int, str, str)
    model_loaded = Signal(str)
    runner_chosen = Signal(str, str)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    job_started = Signal(int)
    tokens_streamed = Signal(object)
    image_captioned = Signal(int, object)
    image_failed = Signal(int, object)
    progress = Signal(int, object)
    job_finished = Signal(int, bool)
    job_failed = Signal(int, str)

    def __init__(self, runner: str = "auto", workers: int = 4) -> None:
        super().__init__()
        self._runner = runner
        self._workers = workers
        self._engine: CaptionEngine | RemoteEngine | None = None
        self._load_error = ""
        self._closing = threading.Event()
        self._lock = threading.Lock()  # the engine's threads and this one share what follows
        self._handles: dict[int, JobHandle] = {}  # the jobs handed to the engine, until they end
        self._ended: set[int] = set()  # jobs that ended before their handle was stored
        self._pending_tokens: list[tuple[int, TokensStreamed]] = []
        self._last_tokens_emit = 0.0

    # -- slots (worker thread) -------------------------------------------------------------
    @Slot(str, object)
    def load_model(self, model: str, options: LoadOptions | RemoteOptions) -> None:
        """Load `model` (no-op when that model is loaded with the same options). Jobs still
        running on another model are cancelled first (each ends with job_finished(id, True))."""
        if self._closing.is_set():  # the service is shutting down: a load would hold it up
            return
        if self._is_loaded(model, options):
            self._announce(self._engine)
            return
        self._drop_engine()
        try:
            if isinstance(options, RemoteOptions):  # the OpenAI-compatible servers, not a local model
                engine: Any = RemoteEngine.from_options(options)
            else:
                engine = CaptionEngine(model, options, runner=self._runner, workers=self._workers)
            engine.load(partial(self._on_engine_event, 0))
        except Exception as exc:  # noqa: BLE001 - a failed load must not end the thread
            self._load_error = _load_message(exc)
            self.stage_changed.emit(0, "idle", "model not loaded")
            self.model_load_failed.emit(self._load_error)
            return
        self._engine, self._load_error = engine, ""
        self._announce(engine)

    @Slot(object)
    def run_job(self, job: CaptionJob) -> None:
        """Hand `job` to the engine and return at once; the job's events follow as signals
        and it ends with job_finished or job_failed."""
        if job.cancel.is_set() or self._closing.is_set():  # cancelled while it waited in the queue
            self.job_finished.emit(job.job_id, True)
            return
        if self._engine is None:
            reason = f" ({self._load_error})" if self._load_error else ""
            self.job_failed.emit(job.job_id, f"no model is loaded{reason}")
            return
        self.job_started.emit(job.job_id)
        try:
            # The runners enter torch.inference_mode themselves, in the engine's thread.
            # Results arrive as events; the handle keeps none (a 100k-file run would hold them all).
            handle = self._engine.submit(job.request, partial(self._on_engine_event, job.job_id),
                                         job.root, job.cancel, keep_results=False)
        except Exception as exc:  # noqa: BLE001 - a refused job must not end the thread
            log.exception("caption job %d could not start", job.job_id)
            self._emit_tokens()
            self.job_failed.emit(job.job_id, _error_message(exc))
            return
        with self._lock:
            if job.job_id in self._ended:  # it ended before submit() returned
                self._ended.discard(job.job_id)
            else:
                self._handles[job.job_id] = handle

    @Slot()
    def unload(self) -> None:
        """Cancel the jobs running, drop the model and free its memory."""
        self._drop_engine()
        self.stage_changed.emit(0, "idle", "model unloaded")
        self.model_unloaded.emit()

    def close(self) -> None:
        """From any thread: refuse further loads and jobs (the service cancels the running ones)."""
        self._closing.set()

    def release(self) -> None:
        """Drop the engine without signals; only once the worker thread has finished."""
        self._drop_engine()

    # -- engine callback (the engine's threads) ---------------------------------------------
    def _on_engine_event(self, job_id: int, event: Event) -> None:
        if isinstance(event, TokensStreamed):
            with self._lock:
                self._pending_tokens.append((job_id, event))
                due = time.monotonic() - self._last_tokens_emit >= TOKEN_BATCH_S
            if due:
                self._emit_tokens()
            return
        self._emit_tokens()  # streamed text always reaches the service before its result
        if isinstance(event, ImageCaptioned):
            self.image_captioned.emit(job_id, event)
        elif isinstance(event, ImageFailed):
            self.image_failed.emit(job_id, event)
        elif isinstance(event, Progress):
            self.progress.emit(job_id, event)
        elif isinstance(event, StageChanged):
            self.stage_changed.emit(job_id, event.stage, event.detail)
        elif isinstance(event, JobEnded):
            with self._lock:
                if self._handles.pop(job_id, None) is None:
                    self._ended.add(job_id)
            if event.error:
                log.error("caption job %d failed: %s", job_id, event.error)
                self.job_failed.emit(job_id, event.error)
            else:
                self.job_finished.emit(job_id, event.cancelled)

    def _emit_tokens(self) -> None:
        with self._lock:  # emitted under the lock: two threads' batches keep their order
            batch, self._pending_tokens = self._pending_tokens, []
            if batch:
                self._last_tokens_emit = time.monotonic()
                self.tokens_streamed.emit(batch)

    # -- helpers ----------------------------------------------------------------------------
    def _announce(self, engine: Any) -> None:
        loaded = engine.loaded
        self.runner_chosen.emit(getattr(loaded, "runner", ""), getattr(loaded, "runner_reason", ""))
        self.model_loaded.emit(loaded.describe())

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
        """Cancel the running jobs and wait for their end (one decoding step), then unload."""
        with self._lock:
            handles = list(self._handles.values())
        for handle in handles:
            handle.cancel()
        for handle in handles:
            if not handle.wait(JOB_END_TIMEOUT_S):
                log.error("caption job %d did not stop within %.0f s", handle.id, JOB_END_TIMEOUT_S)
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

    Requests go to the worker through queued signals; the worker's signals come back to
    slots of this object (GUI thread) and are re-emitted, so anything connected to the
    service runs in the GUI thread. Several jobs run at once; every signal about a job
    carries its id, so a listener keeps the jobs it started and ignores the others. Streamed
    tokens are merged and flushed at most every `FLUSH_INTERVAL_MS`; the tokens of an image
    are always flushed before its result, and all of them before a job's end.

    Signals:
        stage_changed(int, str, str): The engine's stage and its detail, with the job it
            belongs to (0: the model's own load or unload).
        model_loaded(str): A model is loaded (or was already); its description.
        runner_chosen(str, str): The loaded model's runner and, for the fallback, why
            (see `EngineWorker`); emitted just before model_loaded.
        model_load_failed(str): Loading failed; a message a person understands.
        model_unloaded(): The model was dropped.
        job_started(int): A job was handed to the engine (its id).
        image_started(int, object): A job's first streamed text of an image (its `Path`).
        tokens_streamed(int, object): A job's new text since the last flush: a list of
            `(path, variant, text, reasoning)` tuples, merged per path, variant and flag.
        image_captioned(int, object): A job's `ImageCaptioned` result.
        image_failed(int, object, str): A job's failed image: its `Path` and the reason.
        progress(int, int, int, int, float, float): A job's done, failed and total counts,
            images per second and the estimated seconds left (-1 when unknown).
        job_finished(int, bool): A job ended; whether it was cancelled.
        job_failed(int, str): A job stopped on an error; the message.
    """

    stage_changed = Signal(int, str, str)
    model_loaded = Signal(str)
    runner_chosen = Signal(str, str)
    model_load_failed = Signal(str)
    model_unloaded = Signal()
    job_started = Signal(int)
    image_started = Signal(int, object)
    tokens_streamed = Signal(int, object)
    image_captioned = Signal(int, object)
    image_failed = Signal(int, object, str)
    progress = Signal(int, int, int, int, float, float)
    job_finished = Signal(int, bool)
    job_failed = Signal(int, str)

    _load_requested = Signal(str, object)
    _job_requested = Signal(object)
    _unload_requested = Signal()

    def __init__(self, runner: str = "auto", workers: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, CaptionJob] = {}
        self._model: tuple[str, Any] | None = None  # the last model asked for, with its options
        self._buffer: dict[tuple[int, Path, int, bool], list[str]] = {}
        self._started_paths: dict[int, set[Path]] = {}
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
        w.runner_chosen.connect(self._on_worker_runner_chosen)
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

    def can_load(self, model: str, options: LoadOptions | RemoteOptions | None = None) -> bool:
        """Whether `load_model(model, options)` would be taken: always, except while jobs run
        on another model or other options (loading would end them)."""
        return not self._jobs or self._model in (None, (model, options or LoadOptions()))

    def load_model(self, model: str, options: LoadOptions | RemoteOptions | None = None) -> bool:
        """Load `model` in the worker; answers with model_loaded or model_load_failed.

        Refused (False, nothing sent) while jobs run on another model: see `can_load`.
        """
        self._check_open()
        options = options or LoadOptions()
        if not self.can_load(model, options):
            return False
        self._model = (model, options)
        self._load_requested.emit(model, options)
        return True

    def start(self, job: CaptionJob) -> int:
        """Hand `job` to the engine (after the loads asked for before it); returns its id.
        It runs beside the jobs already running."""
        self._check_open()
        if job.job_id in self._jobs:
            raise ValueError(f"job {job.job_id} is already queued or running")
        self._jobs[job.job_id] = job
        self._job_requested.emit(job)
        return job.job_id

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job (by id), or every job (None); each ends with job_finished(id, True)
        within a decoding step. The other jobs keep running."""
        for job in self._jobs.values():
            if job_id is None or job.job_id == job_id:
                job.cancel.set()  # directly: the engine reads it at its next step

    def unload(self) -> None:
        """Drop the model; jobs still running are cancelled first. Answers with model_unloaded."""
        self._check_open()
        self._model = None
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
            self._worker.release()  # waits for the cancelled jobs to end, then unloads
            self._jobs.clear()  # their job_finished signals are still queued for this object
        else:
            log.error("the caption worker thread did not stop within %d ms", timeout_ms)
        self._flush_tokens()
        return stopped

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the caption service is shut down")

    # -- worker signals (GUI thread) --------------------------------------------------------
    @Slot(int, str, str)
    def _on_worker_stage_changed(self, job_id: int, stage: str, detail: str) -> None:
        self.stage_changed.emit(job_id, stage, detail)

    @Slot(str)
    def _on_worker_model_loaded(self, description: str) -> None:
        self.model_loaded.emit(description)

    @Slot(str, str)
    def _on_worker_runner_chosen(self, runner: str, reason: str) -> None:
        self.runner_chosen.emit(runner, reason)

    @Slot(str)
    def _on_worker_model_load_failed(self, message: str) -> None:
        self.model_load_failed.emit(message)

    @Slot()
    def _on_worker_model_unloaded(self) -> None:
        self.model_unloaded.emit()

    @Slot(int)
    def _on_worker_job_started(self, job_id: int) -> None:
        self._started_paths[job_id] = set()
        self.job_started.emit(job_id)

    @Slot(object)
    def _on_worker_tokens_streamed(self, events: list[tuple[int, TokensStreamed]]) -> None:
        for job_id, event in events:
            started = self._started_paths.setdefault(job_id, set())
            if event.path not in started:
                started.add(event.path)
                self.image_started.emit(job_id, event.path)
            self._buffer.setdefault((job_id, event.path, event.variant, event.reasoning), []).append(event.text)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot(int, object)
    def _on_worker_image_captioned(self, job_id: int, result: ImageCaptioned) -> None:
        self._flush_tokens()
        self.image_captioned.emit(job_id, result)

    @Slot(int, object)
    def _on_worker_image_failed(self, job_id: int, result: ImageFailed) -> None:
        self._flush_tokens()
        self.image_failed.emit(job_id, result.path, result.reason)

    @Slot(int, object)
    def _on_worker_progress(self, job_id: int, p: Progress) -> None:
        eta = -1.0 if p.eta_s is None else float(p.eta_s)
        self.progress.emit(job_id, p.done, p.failed, p.total, float(p.images_per_s), eta)

    @Slot(int, bool)
    def _on_worker_job_finished(self, job_id: int, cancelled: bool) -> None:
        self._end_job(job_id)
        self.job_finished.emit(job_id, cancelled)

    @Slot(int, str)
    def _on_worker_job_failed(self, job_id: int, message: str) -> None:
        self._end_job(job_id)
        self.job_failed.emit(job_id, message)

    def _end_job(self, job_id: int) -> None:
        self._flush_tokens()
        self._jobs.pop(job_id, None)
        self._started_paths.pop(job_id, None)

    @Slot()
    def _on_flush_timer_timeout(self) -> None:
        self._flush_tokens()

    @Slot()
    def _on_app_about_to_quit(self) -> None:
        self.shutdown()

    def _flush_tokens(self) -> None:
        """Emit the buffered text, one batch per job (all of it: results must not overtake it)."""
        self._flush_timer.stop()
        if not self._buffer:
            return
        batches: dict[int, list[StreamedText]] = {}
        for (job_id, path, variant, reasoning), parts in self._buffer.items():
            batches.setdefault(job_id, []).append((path, variant, "".join(parts), reasoning))
        self._buffer.clear()
        for job_id, batch in batches.items():
            self.tokens_streamed.emit(job_id, batch)
