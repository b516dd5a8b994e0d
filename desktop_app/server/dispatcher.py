"""One thread owns the engine and runs the queued requests together in batches.

HTTP handlers submit `Job`s (one image each). The dispatcher thread takes the first job that
arrives, waits a short sliding window for more (until the engine's slots would be full),
takes whatever else is queued (up to 4x the slots: the engine's continuous runner moves the
extra ones into slots as captions end, so a short caption's slot does not idle until the
longest one ends), groups them by what must be shared in one `CaptionRequest` (system prompt
and sampling settings; the user prompt, the token limit and the seed are per item), and runs
each group as one engine job. Jobs that arrive while a job runs are picked up together in the
next round. Events are routed back to each job by its image path through `Job.sink`, called
on the engine thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..engine import (CaptionEngine, CaptionItem, CaptionRequest, GenerationParams, ImageCaptioned,
                      ImageFailed, TokensStreamed)
from ..engine.types import VideoOptions

log = logging.getLogger(__name__)

# What a job's sink receives: ("delta", variant, text, reasoning), ("done", ImageCaptioned),
# ("failed", reason) or ("error", message) when the whole engine job broke.
Sink = Callable[[tuple[Any, ...]], None]


@dataclass
class Job:
    """One image to caption for one HTTP request."""

    path: Path
    prompt: str
    system_prompt: str | None
    params: GenerationParams
    sink: Sink
    max_pixels: int | None = 1024 * 1024
    extra_paths: tuple[Path, ...] = ()  # more images in the same turn (a multi-image question)

    def group_key(self) -> tuple[Any, ...]:
        # The token limit is per item, and the seed is not shared either: a sampled request's
        # seed is part of its image's stored name (`ImageStore.add(tag=...)`), from which the
        # engine derives each row's seed; greedy captions ignore it. Requests that differ only
        # in these run in one engine job.
        return (self.system_prompt, replace(self.params, max_new_tokens=0, seed=0), self.max_pixels)


@dataclass
class DispatchStats:
    """Counters the tests and /v1/stats read: engine jobs run and their sizes."""

    engine_jobs: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    images: int = 0


class ImageStore:
    """The server's private folder of decoded request images, named by content.

    Same bytes (and tag) give the same path. The engine derives each row's sampling seed from
    the path, so the server tags a sampled request's image with its seed: the same image and
    seed give the same sampled caption for as long as the server runs, whatever else is in
    the batch. Files are reference-counted and deleted when the last request using them ends.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="caption-studio-serve-"))
        self._refs: dict[Path, int] = {}
        self._lock = threading.Lock()

    def add(self, data: bytes, suffix: str, tag: str = "") -> Path:
        """The stored file for `data`; `tag` (e.g. a sampling seed) makes it a distinct file."""
        name = hashlib.sha256(data).hexdigest()[:40] + (f"-{tag}" if tag else "")
        path = self.root / (name + suffix)
        with self._lock:
            if path not in self._refs:
                tmp = path.with_name(path.name + ".part")
                tmp.write_bytes(data)
                os.replace(tmp, path)
            self._refs[path] = self._refs.get(path, 0) + 1
        return path

    def release(self, path: Path) -> None:
        with self._lock:
            left = self._refs.get(path, 0) - 1
            if left > 0:
                self._refs[path] = left
                return
            self._refs.pop(path, None)
            path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Dispatcher:
    """Owns the engine on one thread; `submit()` is safe from any thread."""

    def __init__(self, engine: CaptionEngine, batch_size: int | None = None, window_s: float = 0.01,
                 video: VideoOptions | None = None, max_wait_s: float | None = None):
        self.engine = engine
        self.video = video or VideoOptions()  # how video requests are sampled
        self.batch_size = batch_size
        self.limit = 4 * (batch_size or 8)  # the most images one round takes (see slots())
        self.window_s = window_s
        self.max_wait_s = max_wait_s if max_wait_s is not None else 5 * window_s
        self.stats = DispatchStats()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="caption-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._cancel.set()
        self._thread.join(timeout)

    def submit(self, job: Job) -> None:
        if self._stop.is_set():
            raise RuntimeError("the server is shutting down")
        self._queue.put(job)

    # -- the engine thread ---------------------------------------------------------------
    def _loop(self) -> None:
        pending: list[Job] = []
        while not self._stop.is_set():
            if not pending:
                try:
                    pending.append(self._queue.get(timeout=0.1))
                except queue.Empty:
                    continue
                # A sliding window: keep collecting while requests keep coming within
                # `window_s` of each other (clients send theirs a few ms apart), for at most
                # `max_wait_s` after the first one.
                cap = time.monotonic() + max(self.window_s, self.max_wait_s)
                fill = self.slots()
                while len(pending) < fill:
                    left = min(self.window_s, cap - time.monotonic())
                    if left <= 0:
                        break
                    try:
                        pending.append(self._queue.get(timeout=left))
                    except queue.Empty:
                        break
            while True:  # whatever else is already queued joins this round
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batch, pending = self._take_group(pending)
            self._run(batch)
        for job in pending + self._drain():
            job.sink(("error", "the server is shutting down"))

    def slots(self) -> int:
        """Requests that fill the engine: `batch_size`, else the runner's slot count once a
        job has made it (the engine sizes it from free memory on GPUs), else 8."""
        runner = getattr(self.engine, "runner", None)
        slots = self.batch_size or getattr(runner, "slots", None) or 8
        self.limit = 4 * slots
        return slots

    def _drain(self) -> list[Job]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def _take_group(self, pending: list[Job]) -> tuple[list[Job], list[Job]]:
        """The oldest job's group (distinct paths, up to the limit) and what is left."""
        key = pending[0].group_key()
        batch: list[Job] = []
        rest: list[Job] = []
        paths: set[Path] = set()
        for job in pending:
            if len(batch) < self.limit and job.group_key() == key and job.path not in paths:
                batch.append(job)
                paths.add(job.path)
            else:
                rest.append(job)
        return batch, rest

    def _run(self, batch: list[Job]) -> None:
        first = batch[0]
        by_path = {job.path: job for job in batch}
        limit = max(job.params.max_new_tokens for job in batch)
        request = CaptionRequest(
            items=tuple(CaptionItem(job.path, max_new_tokens=job.params.max_new_tokens, prompt=job.prompt,
                                    extra_paths=job.extra_paths)
                        for job in batch),
            prompt=first.prompt, system_prompt=first.system_prompt,
            params=replace(first.params, max_new_tokens=limit, seed=0), max_pixels=first.max_pixels,
            batch_size=self.batch_size, video=self.video)
        self.stats.engine_jobs += 1
        self.stats.batch_sizes.append(len(batch))
        self.stats.images += len(batch)

        def on_event(event: Any) -> None:
            if isinstance(event, TokensStreamed):
                job = by_path.get(event.path)
                if job is not None:
                    job.sink(("delta", event.variant, event.text, event.reasoning))

        unfinished = dict(by_path)
        try:
            for result in self.engine.caption(request, cancel=self._cancel, on_event=on_event):
                job = unfinished.pop(result.path, None)
                if job is None:
                    continue
                if isinstance(result, ImageCaptioned):
                    job.sink(("done", result))
                elif isinstance(result, ImageFailed):
                    job.sink(("failed", result.reason))
        except Exception as exc:  # noqa: BLE001 - a broken job fails its requests, not the server
            log.exception("engine job failed")
            for job in unfinished.values():
                job.sink(("error", f"{type(exc).__name__}: {exc}"))
            unfinished.clear()
        for job in unfinished.values():  # cancelled (shutdown) or silently dropped
            job.sink(("error", "the request was not completed"))
