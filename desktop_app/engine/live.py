"""`LiveEngine`: one long-lived engine thread, one runner, one queue for every caller.

Any thread calls `submit(request, on_event)` and gets a `JobHandle` at once; the job's files
are decoded, preprocessed and tokenised on the engine's one prefetch pool (a few threads shared
by every job, each job at most `ahead` files in flight), in the job's order. The engine thread
loops: apply cancels, admit ready rows into free slots, run
one decode step, hand each finished caption to its job. A free slot takes the next ready row
at once, whichever job it belongs to; jobs take turns (round robin), so a five-image "Caption
Selected" queued behind a 10,000-image run starts within a step or two, and every HTTP request
of `serve` is one job sharing the slots with the others. There are no rounds and no batching
window: a slot never waits for a job to end.

Which settings share a step: on the continuous runner, all of them. Prompt, system prompt,
image budget, video sampling, token limit, seed, temperature, top_p, top_k and both penalties
are per row (see `continuous.StepMode`: the mix only chooses the step's code path, e.g. one
sampled row makes the step run the sampling path, one sampled row with top_k off makes it sort
the whole vocabulary). On the `generate()` runner (the fallback), a batch is one generate()
call: rows with different `DecodeSettings` (temperature, top_p, top_k, penalties, ignore_eos)
go to separate calls, and a call runs to its end before new rows join.

Events of a job go to that job's `on_event` only: "captioning" on the submitting thread, all
the others on the engine thread. Keep the callback quick. A job
ends with `JobEnded`, after its last result.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from . import memory
from .events import EventCallback, StageChanged, ignore_event
from .images import ImageLoadError
from .jobs import JobHandle
from .prepare import InputBuilder
from .runner import DecodeSettings, InputFailed, PreparedInput, RowDone
from .tracker import JobTracker
from .types import CaptionRequest, item_seeds

log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()  # tokenisers are not meant to be shared between threads


@dataclass
class _Ready:
    """A prepared file: its input, or why it failed."""

    key: int
    path: Path
    inp: PreparedInput | None = None
    reason: str = ""


@dataclass
class _Feed:
    """A job's files on their way through the prefetch pool (engine thread only)."""

    builder: InputBuilder
    items: Iterator[tuple[int, Any]]
    ahead: int
    pending: deque[Future] = field(default_factory=deque)
    exhausted: bool = False


class LiveEngine:
    """Owns a loaded model's runner on one engine thread; `submit()` is safe from any thread.

    `settings_for(request)` gives a request's `DecodeSettings` (stop ids come from the model).
    `workers`: image-decoding threads per job.
    """

    def __init__(self, loaded: Any, runner: Any, settings_for: Callable[[CaptionRequest], DecodeSettings],
                 workers: int = 4):
        self.loaded = loaded
        self.runner = runner
        self.settings_for = settings_for
        self.workers = workers
        self._jobs: list[JobHandle] = []
        self._owner: dict[int, tuple[JobHandle, int]] = {}  # engine key -> (job, the job's key)
        self._keys = itertools.count()
        self._ids = itertools.count(1)
        self._cv = threading.Condition()
        self._closing = False
        self._turn = 0
        self.jobs_submitted = 0
        self._builders: dict[tuple[Any, ...], InputBuilder] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="caption-prefetch")
        self._thread = threading.Thread(target=self._loop, name="caption-engine", daemon=True)
        self._thread.start()

    # -- callers -------------------------------------------------------------------------
    def submit(self, request: CaptionRequest, on_event: EventCallback = ignore_event,
               root: Path | None = None, cancel: threading.Event | None = None,
               keep_results: bool = True) -> JobHandle:
        """Queue `request`; its rows share the slots with every other job's at once."""
        request.params.validate()
        request.video.validate()
        # A decoded video can hold hundreds of MB of patches: look fewer files ahead then.
        ahead = 2 * self.workers if memory.has_video(request) else 4 * self.workers + 8
        builder = self._builder(request, root)
        job = JobHandle(next(self._ids), request, on_event, cancel, self._wake, keep_results)
        job.settings = self.settings_for(request)
        # With the switch set, the prompt the template really writes says whether rows reason.
        thinking = None if request.thinking is None else builder.opens_thinking()
        job.tracker = JobTracker(self.loaded, request, job.emit, thinking)
        job.feed = _Feed(builder, enumerate(request.items), ahead)
        job.emit(StageChanged("captioning", f"{len(request.items)} images"))
        with self._cv:
            if self._closing:
                raise RuntimeError("the engine is closed")
            self._jobs.append(job)
            self.jobs_submitted += 1
            self._cv.notify_all()
        return job

    def _builder(self, request: CaptionRequest, root: Path | None) -> InputBuilder:
        """The input builder for a request's prompt settings, shared by jobs with the same ones
        (its prompt ids are cached: serve's requests would otherwise tokenise theirs each time)."""
        key = (request.prompt, request.system_prompt, request.max_pixels, root, request.video,
               request.thinking)
        with _BUILD_LOCK:
            builder = self._builders.pop(key, None)
            if builder is None:
                builder = InputBuilder(self.loaded.processor, request.prompt, request.system_prompt,
                                       request.max_pixels, root, request.video, request.thinking)
            self._builders[key] = builder  # most recently used last
            while len(self._builders) > 64:
                self._builders.pop(next(iter(self._builders)))
        return builder

    def idle(self) -> bool:
        """No job is queued or running."""
        with self._cv:
            return not self._jobs

    def close(self, timeout: float = 10.0) -> None:
        """End every job (with an error), stop the engine thread."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)

    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    # -- the prefetch pool: files -> prepared inputs -----------------------------------------
    def _top_up(self, job: JobHandle) -> None:
        """Send the job's next files to the pool until `ahead` are in flight."""
        feed = job.feed
        while not feed.exhausted and len(feed.pending) < feed.ahead:
            nxt = next(feed.items, None)
            if nxt is None:
                feed.exhausted = True
                return
            key, item = nxt
            future = self._pool.submit(self._prepare, job.request, feed.builder, key, item)
            future.add_done_callback(lambda _: self._wake())
            feed.pending.append(future)

    @staticmethod
    def _prepare(request: CaptionRequest, builder: InputBuilder, key: int, item: Any) -> _Ready:
        """One file (and a comparison's other images) decoded, preprocessed and tokenised."""
        path = item.path
        try:
            pixels = builder.pixels(path)
        except ImageLoadError as exc:
            return _Ready(key, path, reason=exc.reason)
        except Exception as exc:  # noqa: BLE001 - any failure belongs to this file
            return _Ready(key, path, reason=f"{type(exc).__name__}: {exc}")
        if item.extra_paths:
            pixels = builder.with_extra_images(path, pixels, item.extra_paths)
            if isinstance(pixels, ImageLoadError):
                return _Ready(key, path, reason=pixels.reason)
        limit = item.max_new_tokens or request.params.max_new_tokens
        seeds = item_seeds(item, request.params)
        try:
            with _BUILD_LOCK:
                inp = (builder.build_many(key, (path, *item.extra_paths), pixels, limit, seeds, item.prompt)
                       if item.extra_paths else builder.build(key, path, pixels, limit, seeds, item.prompt))
        except Exception as exc:  # noqa: BLE001 - a bad prompt fails its image only
            return _Ready(key, path, reason=f"cannot build the prompt: {exc}")
        return _Ready(key, path, inp)

    # -- the engine thread -------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._closing and not self._has_work():
                    self._cv.wait(0.5)
                if self._closing:
                    break
            try:
                self._turn_once()
            except Exception as exc:  # noqa: BLE001 - a runner crash fails the jobs it touched
                log.exception("the engine step failed")
                self._fail_running(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        self.runner.drop()
        for job in list(self._jobs):
            self._drop_feed(job)
            job.end("the engine was closed")
        self._jobs.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _has_work(self) -> bool:
        if self.runner.busy():
            return True
        for job in self._jobs:
            feed = job.feed
            if job.cancelled or job.head is not None or (feed.pending and feed.pending[0].done()):
                return True
            if not feed.pending:
                return True  # files to send to the pool, or the job is over
        return False

    def _turn_once(self) -> None:
        self._apply_cancels()
        for job in list(self._jobs):
            self._refill_head(job)
        self._admit()
        if self.runner.busy():
            if hasattr(self.runner, "accepts"):  # generate(): a whole batch, cancelled rows stop
                outs = self.runner.step(self._on_tokens, self._key_cancelled)
            else:
                outs = self.runner.step(self._on_tokens)
            for out in outs:
                self._route(out)
        self._finish_jobs()

    def _key_cancelled(self, key: int) -> bool:
        owner = self._owner.get(key)
        return owner is None or owner[0].cancelled

    def _apply_cancels(self) -> None:
        cancelled = [job for job in self._jobs if job.cancelled]
        for job in cancelled:
            self.runner.drop(set(job.open))
            for key in job.open:
                self._owner.pop(key, None)
            job.open.clear()
            job.head = None
            self._drop_feed(job)
            self._jobs.remove(job)
            job.end()

    @staticmethod
    def _drop_feed(job: JobHandle) -> None:
        """Cancel the job's files not yet started in the pool (running ones finish, unread)."""
        for future in job.feed.pending:
            future.cancel()
        job.feed.pending.clear()
        job.feed.exhausted = True

    def _refill_head(self, job: JobHandle) -> None:
        """Move the job's next prepared file into `head` (in the job's order); failures are
        reported on the way; more files go to the pool as these come out."""
        feed = job.feed
        while job.head is None and not job.fed:
            self._top_up(job)
            if not feed.pending:
                job.fed = feed.exhausted
                return
            if not feed.pending[0].done():
                return
            item = feed.pending.popleft().result()
            if item.inp is None:
                job.tracker.fail(item.key, item.path, item.reason)
                self._drain(job)
            else:
                reason = self.runner.reject(item.inp)
                if reason is not None:
                    job.tracker.fail(item.key, item.path, reason)
                    self._drain(job)
                else:
                    job.head = item

    def _admit(self) -> None:
        """Fill free slots from the jobs' ready rows, one job after another (round robin)."""
        runner = self.runner
        waiting = sum(job.head.inp.variants + len(job.feed.pending) for job in self._jobs if job.head)
        if not runner.should_refill(waiting):
            return
        group: list[PreparedInput] = []
        free, need = runner.free_slots(), 0
        accepts = getattr(runner, "accepts", None)
        while len(group) < runner.prefill_batch:
            took = False
            for i in range(len(self._jobs)):
                job = self._jobs[(self._turn + i) % len(self._jobs)]
                head = job.head
                if head is None or need + head.inp.variants > free:
                    continue
                inp = replace(head.inp, key=next(self._keys), settings=job.settings)
                if accepts is not None and not accepts(inp, group):
                    continue
                self._owner[inp.key] = (job, head.key)
                job.open[inp.key] = inp.variants
                job.tracker.start(head.key, head.path, head.inp)
                job.head = None
                self._refill_head(job)
                group.append(inp)
                need += inp.variants
                self._turn = (self._turn + i + 1) % max(1, len(self._jobs))
                took = True
                break
            if not took:
                break
        if group:
            for out in runner.admit(group, self._on_tokens):
                self._route(out)

    def _on_tokens(self, rows: list[tuple[int, int, int]]) -> None:
        by_job: dict[int, tuple[JobHandle, list[tuple[int, int, int]]]] = {}
        for key, variant, token in rows:
            owner = self._owner.get(key)
            if owner is None or owner[0].cancelled:
                continue
            job, local = owner
            by_job.setdefault(job.id, (job, []))[1].append((local, variant, token))
        for job, batch in by_job.values():
            job.tracker.on_tokens(batch)

    def _route(self, out: RowDone | InputFailed) -> None:
        owner = self._owner.get(out.key)
        if owner is None:
            return
        job, local = owner
        if job.cancelled:
            return
        if isinstance(out, InputFailed):
            job.tracker.fail_key(local, out.reason)
            job.open.pop(out.key, None)
        else:
            job.tracker.row_done(replace(out, key=local))
            left = job.open.get(out.key, 1) - 1
            if left > 0:
                job.open[out.key] = left
            else:
                job.open.pop(out.key, None)
        if out.key not in job.open:
            self._owner.pop(out.key, None)
        self._drain(job)

    @staticmethod
    def _drain(job: JobHandle) -> None:
        for result in job.tracker.drain():
            job.put_result(result)

    def _finish_jobs(self) -> None:
        for job in list(self._jobs):
            if job.fed and job.head is None and not job.open:
                self._drain(job)
                self._jobs.remove(job)
                job.end(job.error)

    def _fail_running(self, reason: str) -> None:
        """After a runner crash: every row in flight fails with `reason`; queued rows go on."""
        self.runner.drop()
        for key, (job, local) in list(self._owner.items()):
            job.tracker.fail_key(local, reason)
            job.open.pop(key, None)
            self._drain(job)
        self._owner.clear()
        self._finish_jobs()

    # -- counters --------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Jobs, slots and the runner's counters, for /v1/stats and benchmarks."""
        with self._cv:
            running = len(self._jobs)
        s = self.runner.stats
        busy = sum(row is not None for row in getattr(self.runner, "rows", []))
        return {"jobs_submitted": self.jobs_submitted, "jobs_running": running,
                "slots": self.runner.slots, "slots_busy": busy,
                "runner": {"prefill_s": s.prefill_s, "decode_s": s.decode_s,
                           "decode_steps": s.decode_steps, "tokens": s.tokens, "batches": s.batches,
                           **s.extra}}
