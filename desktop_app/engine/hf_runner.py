"""`GenerateRunner`: static batches through transformers' `generate()`, for any model.

It is the fallback where the engine's own decode loop cannot serve (quantized or MoE
models, other architectures) and the reference the decode loop is tested against. Each
batch groups images of similar visual-token count (less padding); every row streams,
stops at its own limit, and samples with its own seed through a logits processor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Collection, Iterable, Iterator

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from .runner import (DecodeSettings, InputFailed, PreparedInput, RowDone, RunnerOutput,
                     RunnerStats, TokenCallback)
from .sampling import RowSampling, apply_penalties, select_tokens

log = logging.getLogger(__name__)


class _Batch:
    """Row bookkeeping for one generate() call: row r is input r // n, variant r % n."""

    def __init__(self, inputs: list[PreparedInput], settings: DecodeSettings, device: torch.device):
        self.inputs = inputs
        self.rows = [(inp, v) for inp in inputs for v in range(inp.variants)]
        self.limits = torch.tensor([inp.max_new_tokens for inp, _ in self.rows], device=device)
        self.tokens: list[list[int]] = [[] for _ in self.rows]
        self.done = [False] * len(self.rows)
        self.stopped = [False] * len(self.rows)
        self.settings = settings
        self.prompt_len = 0

    def accept(self, step_tokens: list[int]) -> list[tuple[int, int, int, int]]:
        """Record one step's tokens; returns (row, key, variant, token) for those that count."""
        out = []
        for r, tok in enumerate(step_tokens):
            if self.done[r]:
                continue
            inp, variant = self.rows[r]
            if not self.settings.ignore_eos and tok in self.settings.stop_ids:
                self.done[r] = self.stopped[r] = True
                continue
            self.tokens[r].append(tok)
            out.append((r, inp.key, variant, tok))
            if len(self.tokens[r]) >= inp.max_new_tokens:
                self.done[r] = True
        return out


class _RowStreamer(BaseStreamer):
    """Receives the prompt (B, T) first, then one (B,) tensor per step."""

    def __init__(self, batch: _Batch, on_tokens: TokenCallback, delivered: dict[tuple[int, int], int]):
        self.batch, self.on_tokens, self.delivered = batch, on_tokens, delivered
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        fresh = []
        for r, key, variant, tok in self.batch.accept(value.reshape(-1).tolist()):
            n = len(self.batch.tokens[r])
            if n > self.delivered.get((key, variant), 0):  # an OOM retry must not stream twice
                self.delivered[(key, variant)] = n
                fresh.append((key, variant, tok))
        if fresh:
            self.on_tokens(fresh)

    def end(self) -> None:
        pass


class _RowCriteria(StoppingCriteria):
    """Per-row stop: own limit, stop token (unless ignore_eos), cancel for every row, or the
    row's key cancelled (`is_cancelled`, the live engine's per-job cancel)."""

    def __init__(self, batch: _Batch, cancel: threading.Event,
                 is_cancelled: Callable[[int], bool] | None = None):
        self.batch, self.cancel, self.is_cancelled = batch, cancel, is_cancelled

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        generated = input_ids.shape[1] - self.batch.prompt_len
        done = generated >= self.batch.limits
        if not self.batch.settings.ignore_eos:
            stops = torch.tensor(sorted(self.batch.settings.stop_ids), device=input_ids.device)
            done |= torch.isin(input_ids[:, -1], stops)
        if self.cancel.is_set():
            done[:] = True
        elif self.is_cancelled is not None:
            for r, (inp, _) in enumerate(self.batch.rows):
                if self.is_cancelled(inp.key):
                    done[r] = True
        return done


class _RowSampler(LogitsProcessor):
    """Seeded per-row sampling and penalties; leaves one finite logit, so greedy search takes it."""

    def __init__(self, batch: _Batch, sampling: RowSampling):
        self.batch, self.sampling = batch, sampling

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        s = self.batch.settings
        step = input_ids.shape[1] - self.batch.prompt_len
        if s.repetition_penalty != 1.0 or s.presence_penalty != 0.0:
            seen = torch.zeros_like(scores, dtype=torch.bool)
            seen.scatter_(1, input_ids[:, self.batch.prompt_len:], True)
            scores = apply_penalties(scores.float(), seen, s.repetition_penalty, s.presence_penalty)
        steps = torch.full((scores.shape[0],), step, dtype=torch.long, device=scores.device)
        chosen = select_tokens(scores, self.sampling, steps, max_top_k=s.top_k)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, chosen[:, None], 0.0)


class GenerateRunner:
    """Runs `model.generate()` on batches of up to `batch_size` inputs (halved on OOM)."""

    def __init__(self, model: Any, batch_size: int = 8, pad_token_id: int = 0,
                 cache_implementation: str | None = None, group_window: int = 4):
        self.model = model
        self.batch_size = max(1, batch_size)
        self.pad_token_id = pad_token_id
        self.cache_implementation = cache_implementation
        self.group_window = group_window
        self.stats = RunnerStats()
        self._admitted: list[PreparedInput] = []

    # -- the incremental API the live engine drives (see ContinuousRunner) ---------------
    # One admitted group is one generate() call, run whole by step(): rows join a batch only
    # before it starts, and a batch shares one DecodeSettings (`accepts`).
    @property
    def slots(self) -> int:
        return self.batch_size

    @property
    def prefill_batch(self) -> int:
        return self.batch_size

    def free_slots(self) -> int:
        return 0 if self._admitted else 1 << 20  # inputs, not rows, limit a batch

    def busy(self) -> bool:
        return bool(self._admitted)

    def should_refill(self, waiting_rows: int) -> bool:
        return not self._admitted and waiting_rows > 0

    def reject(self, inp: PreparedInput) -> str | None:
        return None if inp.max_new_tokens >= 1 else "max_new_tokens must be at least 1"

    @staticmethod
    def accepts(inp: PreparedInput, group: list[PreparedInput]) -> bool:
        """generate() takes one set of settings per call: rows join only a group with theirs."""
        return not group or inp.settings == group[0].settings

    def admit(self, group: list[PreparedInput], on_tokens: TokenCallback) -> list[RunnerOutput]:
        self._admitted = list(group)
        return []

    def drop(self, keys: Collection[int] | None = None) -> int:
        return 0  # a running batch stops cancelled rows itself (is_cancelled in step)

    def step(self, on_tokens: TokenCallback,
             is_cancelled: Callable[[int], bool] | None = None) -> list[RunnerOutput]:
        """Run the admitted group through generate() to its end (halving it on OOM)."""
        group, self._admitted = self._admitted, []
        group.sort(key=lambda p: (p.visual_tokens, p.input_ids.shape[0]))
        return list(self._run_group(group, group[0].settings, threading.Event(), on_tokens, {},
                                    is_cancelled))

    def run(self, inputs: Iterable[PreparedInput], settings: DecodeSettings,
            cancel: threading.Event, on_tokens: TokenCallback) -> Iterator[RunnerOutput]:
        delivered: dict[tuple[int, int], int] = {}
        for group in self._groups(inputs, cancel):
            yield from self._run_group(group, settings, cancel, on_tokens, delivered)

    def _run_group(self, group: list[PreparedInput], settings: DecodeSettings, cancel: threading.Event,
                   on_tokens: TokenCallback, delivered: dict[tuple[int, int], int],
                   is_cancelled: Callable[[int], bool] | None = None) -> Iterator[RunnerOutput]:
        """One group in batches of at most batch_size, retried in halves when out of memory."""
        queue = [group]
        while queue and not cancel.is_set():
            batch = queue.pop(0)
            try:
                yield from self._generate(batch, settings, cancel, on_tokens, delivered, is_cancelled)
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                if len(batch) == 1:
                    yield InputFailed(batch[0].key, "out of memory even alone: lower the "
                                      "image resolution cap or max new tokens")
                    continue
                half = len(batch) // 2
                self.batch_size = max(1, min(self.batch_size, half))
                log.warning("out of memory with a batch of %d: retrying in halves", len(batch))
                queue[:0] = [batch[:half], batch[half:]]

    def _groups(self, inputs: Iterable[PreparedInput], cancel: threading.Event) -> Iterator[list[PreparedInput]]:
        """Batches of similar visual-token count, sorted within a look-ahead window."""
        window: list[PreparedInput] = []
        size = lambda: self.batch_size * self.group_window  # noqa: E731 - batch size may shrink
        for inp in inputs:
            if cancel.is_set():
                return
            window.append(inp)
            if len(window) >= size():
                yield from self._split(window)
                window = []
        if window and not cancel.is_set():
            yield from self._split(window)

    def _split(self, window: list[PreparedInput]) -> Iterator[list[PreparedInput]]:
        window.sort(key=lambda p: (p.visual_tokens, p.input_ids.shape[0]))
        for i in range(0, len(window), self.batch_size):
            yield window[i:i + self.batch_size]

    def _generate(self, group: list[PreparedInput], settings: DecodeSettings, cancel: threading.Event,
                  on_tokens: TokenCallback, delivered: dict[tuple[int, int], int],
                  is_cancelled: Callable[[int], bool] | None = None) -> Iterator[RunnerOutput]:
        device = self.model.device
        batch = _Batch(group, settings, device)
        # Variants are rows of their own (greedy search refuses num_return_sequences).
        model_inputs = collate([inp for inp, _ in batch.rows], self.pad_token_id, device)
        batch.prompt_len = model_inputs["input_ids"].shape[1]
        seeds = [seed for inp in group for seed in inp.seeds]
        sampling = RowSampling.uniform(len(seeds), settings.temperature, settings.top_p,
                                       settings.top_k, seeds, device)
        started = time.perf_counter()
        with torch.inference_mode():
            self.model.generate(
                **model_inputs, do_sample=False, num_beams=1,
                max_new_tokens=max(inp.max_new_tokens for inp in group),
                eos_token_id=None, pad_token_id=self.pad_token_id,
                logits_processor=LogitsProcessorList([_RowSampler(batch, sampling)]),
                stopping_criteria=StoppingCriteriaList([_RowCriteria(batch, cancel, is_cancelled)]),
                streamer=_RowStreamer(batch, on_tokens, delivered),
                cache_implementation=self.cache_implementation,
                # The generation config's own sampling settings must not interfere.
                temperature=None, top_p=None, top_k=None, repetition_penalty=None,
            )
        self.stats.decode_s += time.perf_counter() - started
        self.stats.batches += 1
        if cancel.is_set():
            return
        for r, (inp, variant) in enumerate(batch.rows):
            self.stats.tokens += len(batch.tokens[r])
            yield RowDone(inp.key, variant, tuple(batch.tokens[r]), batch.stopped[r])


def collate(group: list[PreparedInput], pad_token_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Left-pad prompts into one batch and concatenate pixels, on `device`."""
    length = max(inp.input_ids.shape[0] for inp in group)
    ids = torch.full((len(group), length), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(group), length), dtype=torch.long)
    types = torch.zeros((len(group), length), dtype=torch.int)
    for i, inp in enumerate(group):
        t = inp.input_ids.shape[0]
        ids[i, length - t:] = inp.input_ids
        mask[i, length - t:] = 1
        types[i, length - t:] = inp.mm_token_type_ids
    out = {"input_ids": ids, "attention_mask": mask, "mm_token_type_ids": types}
    for name, grid in (("pixel_values", "image_grid_thw"), ("pixel_values_videos", "video_grid_thw")):
        parts = [getattr(inp, name) for inp in group if getattr(inp, name) is not None]
        if parts:
            out[name] = torch.cat(parts)
            out[grid] = torch.cat([getattr(inp, grid) for inp in group if getattr(inp, grid) is not None])
    return {k: v.to(device) for k, v in out.items()}
