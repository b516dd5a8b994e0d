"""`CaptionEngine`: load a model once, caption requests, stream events, unload.

The engine is plain Python (no Qt). Results come out of `caption()`'s iterator; tokens,
stages and progress go through a callback; cancellation is a `threading.Event`. Images
are decoded and preprocessed on a small thread pool ahead of the GPU, so the model never
waits for a file. One engine runs one job at a time (the model keeps per-call state).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import torch

from . import memory
from .base import SingleJobEngine
from .events import (EventCallback, ImageCaptioned, ImageFailed, Progress, StageChanged,
                     ignore_event)
from .hf_runner import GenerateRunner
from .images import ImageLoadError, prefetch
from .loading import LoadedModel, LoadOptions, load_model
from .models import DEFAULT_MODEL, ModelSpec, resolve_model
from .prepare import InputBuilder
from .runner import DecodeSettings, InputFailed, PreparedInput, RowDone, Runner
from .tracker import JobTracker
from .types import CaptionRequest, row_seed

log = logging.getLogger(__name__)
RUNNERS = ("auto", "continuous", "generate")


class CaptionEngine(SingleJobEngine):
    """Owns one loaded model and captions requests with it."""

    def __init__(self, model: str | ModelSpec = DEFAULT_MODEL, options: LoadOptions | None = None,
                 runner: str = "auto", workers: int = 4):
        super().__init__()
        if runner not in RUNNERS:
            raise ValueError(f"unknown runner {runner!r}: use one of {', '.join(RUNNERS)}")
        self.spec = model if isinstance(model, ModelSpec) else resolve_model(model)
        self.options = options or LoadOptions()
        self.runner_choice = runner
        self.workers = workers
        self.loaded: LoadedModel | None = None
        self._runner: Runner | None = None
        self._runner_key: tuple[Any, ...] | None = None

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, runner: str = "auto", workers: int = 4) -> "CaptionEngine":
        """An engine around a model loaded elsewhere (benchmarks with random weights, tests)."""
        engine = cls(loaded.spec, runner=runner, workers=workers)
        engine.loaded = loaded
        return engine

    # -- lifecycle -----------------------------------------------------------------------
    def load(self, on_event: EventCallback = ignore_event) -> LoadedModel:
        """Load the model (once; later calls return the loaded one)."""
        if self.loaded is None:
            on_event(StageChanged("loading", self.spec.name))
            started = time.perf_counter()
            self.loaded = load_model(self.spec, self.options)
            log.info("loaded %s in %.1f s", self.loaded.describe(), time.perf_counter() - started)
            on_event(StageChanged("loaded", self.loaded.describe()))
        return self.loaded

    def warmup(self, on_event: EventCallback = ignore_event) -> None:
        """Run one generated image through the whole path (compiles CUDA graphs where used)."""
        import tempfile

        from PIL import Image

        self.load(on_event)
        on_event(StageChanged("warmup"))
        with tempfile.TemporaryDirectory(prefix="caption-studio-warmup-") as tmp:
            path = Path(tmp) / "warmup.png"
            Image.effect_noise((256, 256), 64).convert("RGB").save(path)
            request = CaptionRequest.for_paths([path]).with_params(max_new_tokens=4)
            for _ in self.caption(request):
                pass
        on_event(StageChanged("ready"))

    def unload(self) -> None:
        """Drop the model and free its memory (CUDA memory goes back to the allocator's pool)."""
        self._runner = None
        self._runner_key = None
        self.loaded = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- captioning ----------------------------------------------------------------------
    def _caption(self, loaded: LoadedModel, request: CaptionRequest, cancel: threading.Event,
                 on_event: EventCallback, root: Path | None) -> Iterator[ImageCaptioned | ImageFailed]:
        on_event(StageChanged("captioning", f"{len(request.items)} images"))
        builder = InputBuilder(loaded.processor, request.prompt, request.system_prompt,
                               request.max_pixels, root, request.video)
        tracker = JobTracker(loaded, request, on_event)
        runner = self._get_runner(loaded, request)
        inputs = self._inputs(request, builder, tracker, cancel)
        settings = self._settings(loaded, request)
        results = runner.run(inputs, settings, cancel, tracker.on_tokens)
        try:
            for out in results:
                if isinstance(out, RowDone):
                    tracker.row_done(out)
                elif isinstance(out, InputFailed):
                    tracker.fail_key(out.key, out.reason)
                yield from tracker.drain()
        finally:
            close = getattr(results, "close", None)
            if close:
                close()
            on_event(StageChanged("idle", "cancelled" if cancel.is_set() else "finished"))
        yield from tracker.drain()

    def _inputs(self, request: CaptionRequest, builder: InputBuilder, tracker: JobTracker,
                cancel: threading.Event) -> Iterator[PreparedInput]:
        """Prepared inputs in request order; unreadable files are reported and skipped."""
        paths = (item.path for item in request.items)
        # A decoded video can hold hundreds of MB of patches: look fewer items ahead then.
        ahead = 2 * self.workers if memory.has_video(request) else 4 * self.workers + 8
        loads = prefetch(paths, builder.pixels, workers=self.workers, ahead=ahead)
        try:
            for key, (item, (path, pixels)) in enumerate(zip(request.items, loads)):
                if cancel.is_set():
                    return
                if item.extra_paths and not isinstance(pixels, ImageLoadError):
                    # A comparison (rare, one item): its other images load here, in order.
                    pixels = builder.with_extra_images(path, pixels, item.extra_paths)
                if isinstance(pixels, ImageLoadError):
                    tracker.fail(key, path, pixels.reason)
                    continue
                limit = item.max_new_tokens or request.params.max_new_tokens
                seeds = tuple(row_seed(request.params.seed, path, v) for v in range(request.params.variants))
                try:
                    inp = (builder.build_many(key, (path, *item.extra_paths), pixels, limit, seeds, item.prompt)
                           if item.extra_paths else builder.build(key, path, pixels, limit, seeds, item.prompt))
                except Exception as exc:  # noqa: BLE001 - a bad prompt fails its image only
                    tracker.fail(key, path, f"cannot build the prompt: {exc}")
                    continue
                tracker.start(key, path, inp)
                yield inp
        finally:
            loads.close()

    def _settings(self, loaded: LoadedModel, request: CaptionRequest) -> DecodeSettings:
        p = request.params
        stop_ids = loaded.model.generation_config.eos_token_id
        stop_ids = [stop_ids] if isinstance(stop_ids, int) else list(stop_ids or [])
        im_end = loaded.processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end >= 0:
            stop_ids.append(im_end)
        return DecodeSettings(frozenset(stop_ids), p.temperature, p.top_p, p.top_k,
                              p.repetition_penalty, p.presence_penalty, p.ignore_eos)

    def _get_runner(self, loaded: LoadedModel, request: CaptionRequest) -> Runner:
        """The runner for this request; reused while kind and batch size stay the same.

        The continuous runner's automatic size is computed only when it is made, so jobs after
        the first (and after warmup) keep its cache and captured graph.
        """
        kind = self._runner_kind(loaded)
        # Video rows are far longer: a runner sized for images must not take them (and back).
        key = (kind, request.batch_size, request.params.variants, memory.has_video(request))
        if self._runner is None or self._runner_key != key:
            size = request.batch_size or memory.auto_batch_size(loaded, request, kind)
            if kind == "continuous":
                from .continuous import ContinuousRunner

                # An image's variants take one slot each at once: fewer slots fail every image.
                self._runner = ContinuousRunner(loaded.model, slots=max(size, request.params.variants))
            else:
                pad = loaded.processor.tokenizer.pad_token_id or 0
                self._runner = GenerateRunner(loaded.model, batch_size=size, pad_token_id=pad)
            self._runner_key = key
        elif isinstance(self._runner, GenerateRunner):  # a plain number there: follow each request
            self._runner.batch_size = request.batch_size or memory.auto_batch_size(loaded, request, kind)
        return self._runner

    def _runner_kind(self, loaded: LoadedModel) -> str:
        if self.runner_choice != "auto":
            return self.runner_choice
        supported = (type(loaded.model).__name__ == "Qwen3VLForConditionalGeneration"
                     and loaded.quantization == "none")
        try:
            from . import continuous  # noqa: F401
        except ImportError:
            supported = False
        return "continuous" if supported else "generate"

    @property
    def runner(self) -> Runner | None:
        """The runner of the last job (for its stats)."""
        return self._runner

