"""`CaptionEngine`: load a model once, caption requests on a live engine, stream events, unload.

The engine is plain Python (no Qt). After `load()`, every caller submits to one `LiveEngine`
(engine/live.py): `submit()` returns a `JobHandle` at once, from any thread, and jobs share the
runner's slots; `caption()` is submit-and-iterate for callers that want one job's results in
a loop. Images are decoded and preprocessed on each job's prefetch pool ahead of the model.

At load the engine picks its runner: the continuous decode loop when the model's family has an
adapter (engine/adapters) whose load-time self-check matches the model's own forward, otherwise
`generate()`, with one WARNING saying why; `loaded.describe()` names the runner in use.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import torch

from . import memory
from .events import EventCallback, ImageCaptioned, ImageFailed, StageChanged, ignore_event
from .hf_runner import GenerateRunner
from .live import JobHandle, LiveEngine
from .loading import LoadedModel, LoadOptions, ModelLoadError, load_model
from .models import DEFAULT_MODEL, ModelSpec, resolve_model
from .runner import DecodeSettings
from .types import CaptionRequest

log = logging.getLogger(__name__)
RUNNERS = ("auto", "continuous", "generate")


class CaptionEngine:
    """Owns one loaded model and the live engine that captions with it."""

    def __init__(self, model: str | ModelSpec = DEFAULT_MODEL, options: LoadOptions | None = None,
                 runner: str = "auto", workers: int = 4):
        if runner not in RUNNERS:
            raise ValueError(f"unknown runner {runner!r}: use one of {', '.join(RUNNERS)}")
        self.spec = model if isinstance(model, ModelSpec) else resolve_model(model)
        self.options = options or LoadOptions()
        self.runner_choice = runner
        self.workers = workers
        self.loaded: LoadedModel | None = None
        self._adapter: Any = None
        self._live: LiveEngine | None = None
        self._live_key: tuple[Any, ...] | None = None
        self._lock = threading.Lock()  # load, and making the live engine

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, runner: str = "auto", workers: int = 4) -> "CaptionEngine":
        """An engine around a model loaded elsewhere (benchmarks with random weights, tests)."""
        engine = cls(loaded.spec, runner=runner, workers=workers)
        engine.loaded = loaded
        engine._choose_runner(loaded)
        return engine

    # -- lifecycle -----------------------------------------------------------------------
    def load(self, on_event: EventCallback = ignore_event) -> LoadedModel:
        """Load the model (once; later calls return the loaded one) and choose its runner."""
        with self._lock:
            if self.loaded is None:
                on_event(StageChanged("loading", self.spec.name))
                started = time.perf_counter()
                loaded = load_model(self.spec, self.options)
                if self.runner_choice != "generate":
                    on_event(StageChanged("checking", "comparing the decode loop with the model"))
                self._choose_runner(loaded)
                self.loaded = loaded
                log.info("loaded %s in %.1f s", loaded.describe(), time.perf_counter() - started)
                on_event(StageChanged("loaded", loaded.describe()))
            return self.loaded

    def warmup(self, on_event: EventCallback = ignore_event) -> None:
        """Run one generated image through the whole path (compiles CUDA graphs where used)."""
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
        """Stop the live engine, drop the model and free its memory."""
        with self._lock:
            if self._live is not None:
                self._live.close()
            self._live = self._live_key = self._adapter = None
            self.loaded = None
        gc.unfreeze()  # the window freezes its heap (ui.store_ops.freeze_heap): the model's cycles too
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- captioning ----------------------------------------------------------------------
    def submit(self, request: CaptionRequest, on_event: EventCallback = ignore_event,
               root: Path | None = None, cancel: threading.Event | None = None,
               keep_results: bool = True) -> JobHandle:
        """Queue `request` on the live engine (loading the model first if needed); returns at
        once. Events of this job only go to `on_event`, on the engine's threads."""
        request.params.validate()
        request.video.validate()
        loaded = self.load(on_event)
        return self._live_for(loaded, request).submit(request, on_event, root, cancel, keep_results)

    def caption(self, request: CaptionRequest, cancel: threading.Event | None = None,
                on_event: EventCallback = ignore_event,
                root: Path | None = None) -> Iterator[ImageCaptioned | ImageFailed]:
        """Caption every item of `request`; yields one result per image as it finishes.

        Images that cannot be read or run fail alone with their reason. After `cancel` is set,
        work stops within a decoding step; what finished is already yielded. Other jobs may run
        at the same time (they share the slots).
        """
        handle = self.submit(request, on_event, root, cancel)
        yield from handle.results()

    def _live_for(self, loaded: LoadedModel, request: CaptionRequest) -> LiveEngine:
        """The live engine; made again (only while idle) when a request needs another runner
        size: an explicit batch size, or videos after images (far longer rows)."""
        key = (request.batch_size, memory.has_video(request))
        with self._lock:
            live = self._live
            if live is not None and (self._live_key == key or not live.idle()
                                     or (request.batch_size is None and not self._cuda(loaded))):
                if isinstance(live.runner, GenerateRunner) and live.idle():
                    live.runner.batch_size = request.batch_size or memory.auto_batch_size(loaded, request, "generate")
                return live
            if live is not None:
                live.close()
            size = request.batch_size or memory.auto_batch_size(loaded, request, loaded.runner)
            if loaded.runner == "continuous":
                from .continuous import ContinuousRunner

                runner: Any = ContinuousRunner(loaded.model, slots=max(size, request.params.variants),
                                               adapter=self._adapter)
            else:
                pad = loaded.processor.tokenizer.pad_token_id or 0
                runner = GenerateRunner(loaded.model, batch_size=size, pad_token_id=pad)
            self._live = LiveEngine(loaded, runner, lambda r: self._settings(loaded, r), self.workers)
            self._live_key = key
            return self._live

    @staticmethod
    def _cuda(loaded: LoadedModel) -> bool:
        return loaded.device.type == "cuda"

    @staticmethod
    def _settings(loaded: LoadedModel, request: CaptionRequest) -> DecodeSettings:
        p = request.params
        stop_ids = loaded.model.generation_config.eos_token_id
        stop_ids = [stop_ids] if isinstance(stop_ids, int) else list(stop_ids or [])
        # Qwen's two end tokens, also for a checkpoint without generation_config.json (the
        # Thinking releases ship none: their eos would be <|im_end|> alone).
        tokenizer = loaded.processor.tokenizer
        for token in ("<|im_end|>", "<|endoftext|>"):
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id >= 0 and token_id != tokenizer.unk_token_id:
                stop_ids.append(token_id)
        return DecodeSettings(frozenset(stop_ids), p.temperature, p.top_p, p.top_k,
                              p.repetition_penalty, p.presence_penalty, p.ignore_eos)

    # -- choosing the runner -------------------------------------------------------------
    def _choose_runner(self, loaded: LoadedModel) -> None:
        """Set `loaded.runner`/`runner_reason`: the decode loop if its adapter passes the
        self-check, else generate() (auto: one WARNING naming what failed)."""
        if self.runner_choice == "generate":
            loaded.runner, loaded.runner_reason = "generate", "chosen with --runner generate"
            return
        try:
            reason = self._adapter_problem(loaded)
        except Exception as exc:  # noqa: BLE001 - any failure of the check means: do not trust it
            reason = f"the decode-loop self-check broke: {type(exc).__name__}: {exc}"
        if reason is None:
            loaded.runner, loaded.runner_reason = "continuous", ""
            return
        if self.runner_choice == "continuous":
            raise ModelLoadError(f"the continuous runner cannot run {loaded.spec.name}: {reason}")
        self._adapter = None
        log.warning("captioning with generate() instead of the decode loop: %s", reason)
        loaded.runner, loaded.runner_reason = "generate", reason

    def _adapter_problem(self, loaded: LoadedModel) -> str | None:
        """Why the decode loop cannot serve this model, or None (the adapter is kept)."""
        from .adapters import AdapterError, adapter_for, self_check

        if loaded.quantization != "none":
            return f"{loaded.quantization} quantization runs on generate() only"
        try:
            adapter = adapter_for(loaded.model)
        except AdapterError as exc:
            return str(exc)
        check = self_check(adapter, *_probe_input(loaded))
        if not check.ok:
            return f"self-check failed: {check.detail}"
        log.info("decode loop self-check: %s", check.detail)
        self._adapter = adapter
        return None

    @property
    def runner(self) -> Any:
        """The live engine's runner (for its stats), or None before the first job."""
        return self._live.runner if self._live is not None else None

    @property
    def live(self) -> LiveEngine | None:
        return self._live


def _probe_input(loaded: LoadedModel) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A short real prompt (a generated 64x64 image and a sentence) for the self-check."""
    from PIL import Image

    from .prepare import InputBuilder

    builder = InputBuilder(loaded.processor, "Describe this image.", None, 64 * 64)
    with tempfile.TemporaryDirectory(prefix="caption-studio-check-") as tmp:
        path = Path(tmp) / "check.png"
        Image.effect_noise((64, 64), 64).convert("RGB").save(path)
        inp = builder.build(0, path, builder.pixels(path), 2, (0,))
    return inp.input_ids, inp.mm_token_type_ids, inp.pixel_values, inp.image_grid_thw
