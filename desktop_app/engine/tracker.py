"""Per-job bookkeeping: token ids to streamed text, finished rows to per-image results."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .events import (EventCallback, ImageCaptioned, ImageFailed, Progress, TokensStreamed,
                     ignore_event)
from .prompts import split_reasoning
from .runner import PreparedInput, RowDone
from .streaming import RowTextStream


@dataclass
class _Image:
    path: Path
    inp: PreparedInput
    started: float
    streams: list[RowTextStream]
    done: dict[int, RowDone] = field(default_factory=dict)
    in_reasoning: list[bool] = field(default_factory=list)


class JobTracker:
    """Turns runner output into engine events and results, in the order they finish."""

    def __init__(self, loaded: Any, request: Any, on_event: EventCallback, thinking: bool | None = None):
        """`thinking`: whether rows start inside a reasoning block (None: the model's default)."""
        self.loaded, self.request, self.on_event = loaded, request, on_event
        self.tokenizer = loaded.processor.tokenizer
        self.vocab = len(self.tokenizer)
        self.thinking = loaded.spec.thinking if thinking is None else thinking
        self.images: dict[int, _Image] = {}
        self.results: deque[ImageCaptioned | ImageFailed] = deque()
        self.total = len(request.items)
        self.done = self.failed = 0
        self.started = time.perf_counter()

    def start(self, key: int, path: Path, inp: PreparedInput) -> None:
        streams = [RowTextStream(self.tokenizer, vocab_size=self.vocab) for _ in inp.seeds]
        self.images[key] = _Image(path, inp, time.perf_counter(), streams,
                                  in_reasoning=[self.thinking] * len(streams))

    def on_tokens(self, rows: list[tuple[int, int, int]]) -> None:
        """Runner callback, once per decoding step: stream each row's new text."""
        live = self.on_event is not ignore_event  # unwatched: decode each caption once, at its end
        for key, variant, token in rows:
            image = self.images.get(key)
            if image is None:
                continue
            if not live:
                image.streams[variant].append(token)
                continue
            text = image.streams[variant].push(token)
            if text:
                self._stream(image, variant, text)

    def _stream(self, image: _Image, variant: int, text: str) -> None:
        if image.in_reasoning[variant] and "</think>" in image.streams[variant].text:
            image.in_reasoning[variant] = False
            head, _, tail = text.partition("</think>")
            if head:
                self.on_event(TokensStreamed(image.path, head, variant, reasoning=True))
            text = tail
            if not text:
                return
        self.on_event(TokensStreamed(image.path, text, variant, reasoning=image.in_reasoning[variant]))

    def row_done(self, row: RowDone) -> None:
        image = self.images.get(row.key)
        if image is None:
            return
        stream = image.streams[row.variant]
        tail = stream.flush()
        if tail:
            self._stream(image, row.variant, tail)
        image.done[row.variant] = row
        if len(image.done) == len(image.streams):
            self._finish(row.key, image)

    def _finish(self, key: int, image: _Image) -> None:
        del self.images[key]
        parts = [self._split(s.text) for s in image.streams]
        rows = [image.done[v] for v in range(len(image.streams))]
        seconds = time.perf_counter() - image.started
        metadata = {
            "model": self.loaded.spec.name, "prompt": self.request.prompt,
            "system_prompt": self.request.system_prompt, "params": self.request.params.as_dict(),
            "seeds": list(image.inp.seeds), "tokens": [len(r.token_ids) for r in rows],
            "prompt_tokens": int(image.inp.input_ids.shape[0]),
            "visual_tokens": image.inp.visual_tokens, "time": time.time(),
            "device": str(self.loaded.device), "dtype": str(self.loaded.dtype).removeprefix("torch."),
        }
        if image.inp.video_grid_thw is not None:
            metadata["video"] = self.request.video.as_dict()
        if getattr(self.request, "thinking", None) is not None:  # the switch was set: say how
            metadata["thinking"] = self.request.thinking
        result = ImageCaptioned(
            path=image.path, caption=parts[0][1], variants=tuple(a for _, a, _ in parts),
            truncated=not rows[0].stopped, reasoning=parts[0][0], seconds=seconds,
            tokens=sum(len(r.token_ids) for r in rows), metadata=metadata,
            finish="stop" if rows[0].stopped else "length", reasoning_cut=parts[0][2])
        if result.has_text:
            self.done += 1
        else:  # no caption text: the progress counts it with the failures
            self.failed += 1
        self._emit(result)

    def _split(self, text: str) -> tuple[str, str, bool]:
        """(reasoning, caption, reasoning still open) of one finished variant, as streamed."""
        if not self.thinking:
            return "", text, False
        if "</think>" not in text:  # the reasoning never closed (cut at the limit): no caption
            return text.replace("<think>", "").strip(), "", True
        return (*split_reasoning(text), False)

    def fail(self, key: int, path: Path, reason: str) -> None:
        """An image failed before or during generation."""
        self.images.pop(key, None)
        self.failed += 1
        self._emit(ImageFailed(path, reason))

    def fail_key(self, key: int, reason: str) -> None:
        image = self.images.get(key)
        if image is not None:
            self.fail(key, image.path, reason)

    def _emit(self, result: ImageCaptioned | ImageFailed) -> None:
        self.on_event(result)
        self.results.append(result)
        finished = self.done + self.failed
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - finished) / (finished / elapsed) if finished and elapsed > 0 else None
        self.on_event(Progress(self.done, self.failed, self.total, rate, eta))

    def drain(self) -> list[ImageCaptioned | ImageFailed]:
        """Results finished since the last call, oldest first."""
        out = list(self.results)
        self.results.clear()
        return out
