"""The bridge from HTTP requests to the live engine: one engine job per request.

Each request becomes one `CaptionEngine.submit()` (its own `JobHandle`): its rows take the
engine's free slots at once and share every decoding step with the other requests' rows,
whatever their prompts, limits, seeds and sampling settings (engine/live.py says what shares a
step). Nothing waits for a round to fill or for another request's longest caption. The
request's events come back through `Job.sink`, called on the engine's threads; a client that
hangs up cancels its job (`JobHandle.cancel()`), which frees its slots within a step.

`ImageStore` keeps the decoded request images as files (the engine reads files), named by
content; the seed travels with the item (`CaptionItem.seed`), not in the file name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..engine import (CaptionEngine, CaptionItem, CaptionRequest, GenerationParams, ImageCaptioned,
                      ImageFailed, TokensStreamed)
from ..engine.events import JobEnded
from ..engine.jobs import JobHandle
from ..engine.types import VideoOptions

log = logging.getLogger(__name__)

# What a job's sink receives: ("delta", variant, text, reasoning), ("done", ImageCaptioned),
# ("failed", reason) or ("error", message) when the job broke or was not completed.
Sink = Callable[[tuple[Any, ...]], None]


@dataclass
class Job:
    """One image (plus a comparison's other images) to caption for one HTTP request."""

    path: Path
    prompt: str
    system_prompt: str | None
    params: GenerationParams
    sink: Sink
    max_pixels: int | None = 1024 * 1024
    extra_paths: tuple[Path, ...] = ()  # more images in the same turn (a multi-image question)
    seed: int | None = None  # the request's seed: the same image and seed, the same caption
    video: VideoOptions | None = None  # the request's own video sampling (None: the server's)

    def request(self, batch_size: int | None, video: VideoOptions) -> CaptionRequest:
        item = CaptionItem(self.path, prompt=self.prompt, extra_paths=self.extra_paths, seed=self.seed)
        return CaptionRequest(items=(item,), prompt=self.prompt, system_prompt=self.system_prompt,
                              params=self.params, max_pixels=self.max_pixels,
                              batch_size=batch_size, video=self.video or video)


@dataclass
class BridgeStats:
    """Counters /v1/stats shows: requests submitted and how they ended."""

    requests: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


class EngineBridge:
    """Submits each request's `Job` to the engine; `submit()` is safe from any thread.

    `batch_size`: the engine's slot count (None: the engine's own choice, 8 on the CPU, from
    free memory on a GPU). `video`: how video requests are sampled.
    """

    def __init__(self, engine: CaptionEngine, batch_size: int | None = None,
                 video: VideoOptions | None = None):
        self.engine = engine
        self.batch_size = batch_size
        self.video = video or VideoOptions()
        self.stats = BridgeStats()
        self._handles: set[JobHandle] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        """Load the model (if the caller has not) so the first request does not wait for it."""
        self.engine.load()

    def stop(self, timeout: float = 10.0) -> None:
        """Refuse new jobs and cancel the running ones (each request then ends with an error)."""
        with self._lock:
            self._stopping = True
            handles = list(self._handles)
        for handle in handles:
            handle.cancel()
        for handle in handles:
            handle.wait(timeout)

    def submit(self, job: Job) -> JobHandle:
        """Start `job`; its events go to `job.sink`. RuntimeError while shutting down."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("the server is shutting down")
            self.stats.requests += 1
        finished: list[bool] = []

        def on_event(event: Any) -> None:
            if isinstance(event, TokensStreamed):
                job.sink(("delta", event.variant, event.text, event.reasoning))
            elif isinstance(event, ImageCaptioned):
                finished.append(True)
                self.stats.completed += 1
                job.sink(("done", event))
            elif isinstance(event, ImageFailed):
                finished.append(True)
                self.stats.failed += 1
                job.sink(("failed", event.reason))
            elif isinstance(event, JobEnded):
                with self._lock:
                    if handle_box:
                        self._handles.discard(handle_box[0])
                if not finished:
                    self.stats.cancelled += event.cancelled
                    job.sink(("error", event.error or "the request was not completed"))

        handle_box: list[JobHandle] = []
        handle = self.engine.submit(job.request(self.batch_size, self.video), on_event)
        handle_box.append(handle)
        with self._lock:
            if not handle.done:
                self._handles.add(handle)
        return handle

    def snapshot(self) -> dict[str, Any]:
        """The bridge's counters and the live engine's (jobs, slots, decode counters)."""
        s = self.stats
        out: dict[str, Any] = {"requests": s.requests, "completed": s.completed, "failed": s.failed,
                               "cancelled": s.cancelled}
        live = getattr(self.engine, "live", None)
        if live is not None:
            out.update(live.stats())
        return out


class ImageStore:
    """The server's private folder of decoded request images, named by content.

    Same bytes give the same path; files are reference-counted and deleted when the last
    request using them ends.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="caption-studio-serve-"))
        self._refs: dict[Path, int] = {}
        self._lock = threading.Lock()

    def add(self, data: bytes, suffix: str) -> Path:
        """The stored file for `data` (written once, atomically)."""
        path = self.root / (hashlib.sha256(data).hexdigest()[:40] + suffix)
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
