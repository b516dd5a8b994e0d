"""CaptionService and EngineWorker with the tiny random Qwen3-VL on CPU (pytest-qt, offscreen).

Captions of a random model are garbage, so the tests compare streamed text with final
captions and count signals; they never look at the words.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image
from PySide6.QtCore import QObject, QThread, Qt, Slot
from PySide6.QtWidgets import QApplication

from desktop_app.engine import CaptionRequest, ImageCaptioned, LoadOptions, TokensStreamed
from desktop_app.ui.worker import FLUSH_INTERVAL_MS, CaptionService

pytestmark = pytest.mark.qt_log_level_fail("WARNING")  # any Qt warning fails the test

CPU = LoadOptions(device="cpu", dtype="fp32")
# The reference runner: these tests are about the Qt side, not about the decode loop.
RUNNER = "generate"
LOAD_TIMEOUT_MS = 60000


class Recorder(QObject):
    """Collects everything a service emits, in GUI-thread slots, with the thread each ran in."""

    def __init__(self, service: CaptionService) -> None:
        super().__init__()
        self.threads: set[QThread] = set()
        self.log: list[tuple[str, Any]] = []
        self.streamed: dict[tuple[Path, int, bool], str] = defaultdict(str)
        self.captioned: dict[Path, ImageCaptioned] = {}
        self.failed: dict[Path, str] = {}
        self.finished: list[tuple[int, bool]] = []
        self.jobs_of: dict[Path, list[int]] = defaultdict(list)  # the jobs that captioned each file
        self.runners: list[tuple[str, str]] = []
        self.job_failures: list[tuple[int, str]] = []
        self.late_tokens: list[Path] = []
        service.stage_changed.connect(self._on_service_stage_changed)
        service.model_loaded.connect(self._on_service_model_loaded)
        service.runner_chosen.connect(self._on_service_runner_chosen)
        service.model_load_failed.connect(self._on_service_model_load_failed)
        service.model_unloaded.connect(self._on_service_model_unloaded)
        service.image_started.connect(self._on_service_image_started)
        service.tokens_streamed.connect(self._on_service_tokens_streamed)
        service.image_captioned.connect(self._on_service_image_captioned)
        service.image_failed.connect(self._on_service_image_failed)
        service.progress.connect(self._on_service_progress)
        service.job_finished.connect(self._on_service_job_finished)
        service.job_failed.connect(self._on_service_job_failed)

    def count(self, kind: str, value: Any = None) -> int:
        return sum(1 for k, v in self.log if k == kind and (value is None or v == value))

    def _record(self, kind: str, value: Any = None) -> None:
        self.threads.add(QThread.currentThread())
        self.log.append((kind, value))

    @Slot(int, str, str)
    def _on_service_stage_changed(self, job_id: int, stage: str, detail: str) -> None:
        self._record("stage", stage)

    @Slot(str, str)
    def _on_service_runner_chosen(self, runner: str, reason: str) -> None:
        self.runners.append((runner, reason))

    @Slot(str)
    def _on_service_model_loaded(self, description: str) -> None:
        self._record("model_loaded", description)

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._record("model_load_failed", message)

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._record("model_unloaded")

    @Slot(int, object)
    def _on_service_image_started(self, job_id: int, path: Path) -> None:
        self._record("image_started", path)

    @Slot(int, object)
    def _on_service_tokens_streamed(self, job_id: int, batch: list[tuple[Path, int, str, bool]]) -> None:
        self._record("tokens", len(batch))
        for path, variant, text, reasoning in batch:
            if path in self.captioned:
                self.late_tokens.append(path)
            self.streamed[(path, variant, reasoning)] += text

    @Slot(int, object)
    def _on_service_image_captioned(self, job_id: int, result: ImageCaptioned) -> None:
        self._record("captioned", result.path)
        self.captioned[result.path] = result
        self.jobs_of[result.path].append(job_id)

    @Slot(int, object, str)
    def _on_service_image_failed(self, job_id: int, path: Path, reason: str) -> None:
        self._record("failed", path)
        self.failed[path] = reason

    @Slot(int, int, int, int, float, float)
    def _on_service_progress(self, job_id: int, done: int, failed: int, total: int, rate: float,
                             eta: float) -> None:
        self._record("progress", (done, failed, total))

    @Slot(int, bool)
    def _on_service_job_finished(self, job_id: int, cancelled: bool) -> None:
        self._record("job_finished", job_id)
        self.finished.append((job_id, cancelled))

    @Slot(int, str)
    def _on_service_job_failed(self, job_id: int, message: str) -> None:
        self._record("job_failed", job_id)
        self.job_failures.append((job_id, message))


def live_threads() -> set[threading.Thread]:
    """Python threads, less two that are no leak of ours.

    A QThread that ran Python code leaves a _DummyThread record behind on Python < 3.13 (it
    is not a running thread); tqdm (transformers' loading bar) starts one monitor thread for
    the whole process on first use.
    """
    return {t for t in threading.enumerate()
            if not isinstance(t, threading._DummyThread) and type(t).__name__ != "TMonitor"}


def gui_thread() -> QThread:
    return QApplication.instance().thread()


def make_images(folder: Path, count: int, size: tuple[int, int] = (48, 40)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i:03d}.png"
        Image.frombytes("RGB", size, random.Random(i).randbytes(size[0] * size[1] * 3)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def service(qapp: QApplication) -> Iterator[CaptionService]:
    """A service with its worker thread; shut down afterwards, leaving no thread behind."""
    before = live_threads()
    svc = CaptionService(runner=RUNNER, workers=2)
    yield svc
    assert svc.shutdown(10000)
    assert svc.thread.isFinished()
    assert live_threads() <= before


@pytest.fixture
def recorder(service: CaptionService) -> Recorder:
    return Recorder(service)


def load_tiny(qtbot: Any, service: CaptionService, model_dir: Path) -> None:
    with qtbot.waitSignal(service.model_loaded, timeout=LOAD_TIMEOUT_MS):
        service.load_model(str(model_dir), CPU)


def count_raw_tokens(service: CaptionService) -> Counter:
    """Counts the worker's unthrottled token events (a direct connection: runs in the worker)."""
    counter: Counter = Counter()
    service.worker.tokens_streamed.connect(lambda events: counter.update(events=len(events)),
                                           Qt.ConnectionType.DirectConnection)
    return counter


def test_job_streams_and_captions(qtbot: Any, service: CaptionService, recorder: Recorder,
                                  tiny_model_dir: Path, tmp_path: Path) -> None:
    load_tiny(qtbot, service, tiny_model_dir)
    good = make_images(tmp_path, 8)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    raw = count_raw_tokens(service)
    # One batch of 8 rows: each decoding step streams up to 8 events, whatever the CPU speed.
    request = CaptionRequest.for_paths([*good[:3], broken, *good[3:]], batch_size=8)
    request = request.with_params(max_new_tokens=32)

    started = time.perf_counter()
    with qtbot.waitSignal(service.job_finished, timeout=60000) as blocker:
        job_id = service.start(service.new_job(request))
        assert service.is_busy
    elapsed = time.perf_counter() - started

    assert blocker.args == [job_id, False]
    assert not service.is_busy
    assert set(recorder.captioned) == set(good)
    assert list(recorder.failed) == [broken] and recorder.failed[broken]
    for path, result in recorder.captioned.items():
        assert recorder.streamed.get((path, 0, False), "") == result.caption
    assert not recorder.late_tokens  # no text of an image arrived after its caption
    assert recorder.log[-1] == ("job_finished", job_id)
    assert [v for k, v in recorder.log if k == "progress"][-1] == (8, 1, 9)
    # Throttled: at most one batch per flush interval, plus one forced flush per result.
    batches = recorder.count("tokens")
    assert raw["events"] > 0 and batches > 0
    assert batches <= elapsed / (FLUSH_INTERVAL_MS / 1000) + len(request.items) + 2
    assert batches * 3 <= raw["events"], (batches, raw["events"])
    assert recorder.threads == {gui_thread()}


def test_cancel_is_prompt_and_keeps_the_model(qtbot: Any, service: CaptionService,
                                              recorder: Recorder, tiny_model_dir: Path,
                                              tmp_path: Path) -> None:
    load_tiny(qtbot, service, tiny_model_dir)
    paths = make_images(tmp_path, 24)
    long = CaptionRequest.for_paths(paths).with_params(max_new_tokens=4000, ignore_eos=True)
    with qtbot.waitSignal(service.image_started, timeout=30000):
        first = service.start(service.new_job(long))
        queued = service.start(service.new_job(long))

    started = time.perf_counter()
    service.cancel()
    qtbot.waitUntil(lambda: len(recorder.finished) == 2, timeout=5000)
    assert time.perf_counter() - started < 5
    assert recorder.finished == [(first, True), (queued, True)]
    assert not service.is_busy

    short = CaptionRequest.for_paths(paths[:2]).with_params(max_new_tokens=8)
    with qtbot.waitSignal(service.job_finished, timeout=30000) as blocker:
        again = service.start(service.new_job(short))
    assert blocker.args == [again, False]
    assert set(recorder.captioned) >= set(paths[:2])
    assert recorder.count("stage", "loading") == 1  # the model stayed loaded
    assert recorder.count("model_loaded") == 1

    load_tiny(qtbot, service, tiny_model_dir)  # the same model again: answered, not reloaded
    assert recorder.count("stage", "loading") == 1
    assert recorder.threads == {gui_thread()}


def test_shutdown_during_a_job(qtbot: Any, service: CaptionService, tiny_model_dir: Path,
                               tmp_path: Path) -> None:
    before = live_threads()
    load_tiny(qtbot, service, tiny_model_dir)
    request = CaptionRequest.for_paths(make_images(tmp_path, 16)).with_params(
        max_new_tokens=4000, ignore_eos=True)
    with qtbot.waitSignal(service.image_started, timeout=30000):
        service.start(service.new_job(request))

    started = time.perf_counter()
    assert service.shutdown(10000)
    assert time.perf_counter() - started < 5
    assert service.thread.isFinished()
    assert not service.is_busy
    assert live_threads() <= before  # the image prefetch threads are gone too
    assert service.shutdown(10000)  # a second call is harmless (the fixture calls it a third time)
    with pytest.raises(RuntimeError):
        service.start(service.new_job(request))


def test_failed_load_then_good_load(qtbot: Any, service: CaptionService, recorder: Recorder,
                                    tiny_model_dir: Path, tmp_path: Path) -> None:
    with qtbot.waitSignal(service.model_load_failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        service.load_model("/nonexistent/folder", CPU)
    assert "/nonexistent/folder" in blocker.args[0]

    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with qtbot.waitSignal(service.model_load_failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        service.load_model(str(empty), CPU)
    assert blocker.args[0]

    request = CaptionRequest.for_paths(make_images(tmp_path / "images", 1))
    with qtbot.waitSignal(service.job_failed, timeout=10000) as blocker:
        job_id = service.start(service.new_job(request))
    assert blocker.args[0] == job_id and "no model is loaded" in blocker.args[1]
    assert not service.is_busy

    load_tiny(qtbot, service, tiny_model_dir)
    with qtbot.waitSignal(service.model_unloaded, timeout=10000):
        service.unload()
    assert recorder.count("model_load_failed") == 2
    assert recorder.threads == {gui_thread()}


def test_tokens_are_merged_and_flushed_before_results(qtbot: Any, service: CaptionService,
                                                      recorder: Recorder) -> None:
    # Emitted from the GUI thread, the worker's signals reach the service directly.
    a, b = Path("/x/a.png"), Path("/x/b.png")
    for i in range(300):
        service.worker.tokens_streamed.emit([(1, TokensStreamed(a if i % 2 else b, str(i % 10)))])
    qtbot.waitUntil(lambda: recorder.count("tokens") == 1, timeout=1000)
    assert recorder.count("image_started") == 2
    assert recorder.streamed[(a, 0, False)] == "13579" * 30
    assert recorder.streamed[(b, 0, False)] == "02468" * 30

    service.worker.tokens_streamed.emit([(1, TokensStreamed(a, "tail"))])
    service.worker.image_captioned.emit(1, ImageCaptioned(a, "x", ("x",), False))
    kinds = [kind for kind, _ in recorder.log[-2:]]
    assert kinds == ["tokens", "captioned"]  # the text came first, without waiting for the timer
    assert recorder.streamed[(a, 0, False)].endswith("tail")
    qtbot.wait(3 * FLUSH_INTERVAL_MS)
    assert recorder.count("tokens") == 2  # nothing left to flush


# -- several jobs at once (issue 17) ----------------------------------------------------------
@pytest.fixture
def live_service(qapp: QApplication) -> Iterator[CaptionService]:
    """A service on the continuous runner: there, a job's rows join the slots another job
    leaves free (a generate() call runs to its end before new rows join)."""
    before = live_threads()
    svc = CaptionService(runner="auto", workers=2)
    yield svc
    assert svc.shutdown(10000)
    assert live_threads() <= before


def test_jobs_run_together_and_each_event_names_its_job(qtbot: Any, live_service: CaptionService,
                                                        tiny_model_dir: Path, tmp_path: Path) -> None:
    service = live_service
    recorder = Recorder(service)
    load_tiny(qtbot, service, tiny_model_dir)
    assert recorder.runners == [("continuous", "")]
    paths = make_images(tmp_path, 6)
    # The first job holds two slots for a long time; the second fits beside it.
    long = CaptionRequest.for_paths(paths[:2], batch_size=4).with_params(max_new_tokens=4000, ignore_eos=True)
    short = CaptionRequest.for_paths(paths[2:], batch_size=4).with_params(max_new_tokens=8)
    with qtbot.waitSignal(service.image_started, timeout=30000):
        first = service.start(service.new_job(long))
    with qtbot.waitSignal(service.job_finished, timeout=30000) as blocker:
        second = service.start(service.new_job(short))  # the worker is free: it starts at once
    assert blocker.args == [second, False]
    assert service.is_busy and recorder.finished == [(second, False)]  # the first is still going
    assert set(recorder.captioned) == set(paths[2:])
    assert all(recorder.jobs_of[p] == [second] for p in paths[2:])
    for path in paths[2:]:
        assert recorder.streamed[(path, 0, False)] == recorder.captioned[path].caption
    with qtbot.waitSignal(service.job_finished, timeout=5000) as blocker:
        service.cancel(first)
    assert blocker.args == [first, True]
    assert recorder.threads == {gui_thread()}


def test_cancelling_one_job_leaves_the_other_running(qtbot: Any, live_service: CaptionService,
                                                     tiny_model_dir: Path, tmp_path: Path) -> None:
    service = live_service
    recorder = Recorder(service)
    load_tiny(qtbot, service, tiny_model_dir)
    paths = make_images(tmp_path, 4)
    streamed: Counter = Counter()

    def count(job_id: int, batch: list) -> None:  # the service's signals run in the GUI thread
        streamed[job_id] += len(batch)

    service.tokens_streamed.connect(count)
    request = CaptionRequest.for_paths(paths[:2], batch_size=4).with_params(max_new_tokens=4000, ignore_eos=True)
    a = service.start(service.new_job(request))
    b = service.start(service.new_job(replace(request, items=CaptionRequest.for_paths(paths[2:]).items)))
    qtbot.waitUntil(lambda: streamed[a] > 0 and streamed[b] > 0, timeout=30000)
    started = time.perf_counter()
    with qtbot.waitSignal(service.job_finished, timeout=5000) as blocker:
        service.cancel(a)
    assert blocker.args == [a, True] and time.perf_counter() - started < 5
    after = streamed[b]
    qtbot.waitUntil(lambda: streamed[b] > after + 10, timeout=10000)  # b kept decoding
    assert recorder.finished == [(a, True)] and service.is_busy
    with qtbot.waitSignal(service.job_finished, timeout=5000) as blocker:
        service.cancel(b)
    assert blocker.args == [b, True] and not service.is_busy


def test_unloading_cancels_the_running_jobs_first(qtbot: Any, service: CaptionService,
                                                  recorder: Recorder, tiny_model_dir: Path,
                                                  tmp_path: Path) -> None:
    load_tiny(qtbot, service, tiny_model_dir)
    request = CaptionRequest.for_paths(make_images(tmp_path, 4)).with_params(max_new_tokens=4000,
                                                                             ignore_eos=True)
    with qtbot.waitSignal(service.image_started, timeout=30000):
        job_id = service.start(service.new_job(request))
    assert not service.can_load(str(tmp_path / "another-model"), CPU)  # would end the job
    assert not service.load_model(str(tmp_path / "another-model"), CPU)
    assert service.can_load(str(tiny_model_dir), CPU)
    with qtbot.waitSignal(service.model_unloaded, timeout=10000):
        service.unload()
    assert recorder.finished == [(job_id, True)] and not recorder.job_failures
    assert recorder.count("model_load_failed") == 0
    assert not service.is_busy
