"""ContinuousRunner: the engine's own slot scheduler and decode loop (continuous batching).

Model-specific code (the forward of a prefill, the per-layer decode step, cache shapes) lives
in the model's adapter (`engine.adapters`); this module owns slots, sampling and the loop.
Design, in the spirit of gpt-fast:

- Slots. The runner owns a fixed number of slots, each with a preallocated KV cache row
  (`kv_cache.SlotCache`: per layer K/V of shape (slots, kv_heads, max_len, head_dim)) and
  per-slot decode state (`kv_cache.DecodeState`: next token, cache position, mrope delta,
  sampling seed, step count, "seen" mask for penalties). A row (one variant of one image)
  holds a slot from its prefill until it stops; the slot then takes the next input at once.
- Prefill. Inputs are pulled lazily from the caller's iterable, only when slots are free, and
  prefilled together (up to `prefill_batch`, left padded) through the adapter, which runs the
  HF model's own forward with a fresh DynamicCache, so the vision tower, deepstack injection and 3-D mrope are exactly
  HF's. Each row's K/V (padding dropped) is copied into its slot(s) from index 0; an input with
  n variants fans out to n slots from one prefill. Its first token comes from the prefill
  logits. Decode positions follow HF: the token at cache index i (i >= prompt length) has
  mrope position i + rope_delta on all three axes (rope_delta from `get_rope_index`), which is
  what HF computes for a left-padded row from the attention-mask cumsum plus rope_deltas.
- Decode step (`decode_step`). One forward over ALL slots with fixed shapes (the adapter's
  `step_logits`): embed the (S,) tokens, and per decoder layer call HF's own modules (norms, projections, q/k norms, rotary,
  MLP), write each slot's new K/V at its position with one scatter, and attend with SDPA under
  a boolean "key index <= position" mask; grouped-query heads are folded into the query length
  so K/V are never repeated. Then the final norm, lm_head, penalties and per-row token selection
  (`sampling`), and the step advances its own state (tokens, positions, steps, seen). Inactive
  slots compute garbage that nobody reads. No data-dependent Python control flow, no host
  syncs: on CUDA the step is captured in a CUDA graph per `StepMode` and replayed; the CPU path (and
  `cuda_graph=False`) runs the very same function eagerly.
- Host loop. After each step the host reads the (S,) new tokens once, streams them through
  `on_tokens`, detects stops and limits, returns `RowDone`s; the caller (the live engine or
  `run()`) refills free slots. Every row carries its own `DecodeSettings`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Collection, Iterable, Iterator

import torch

from . import kv_cache
from .adapters import ModelAdapter, adapter_for
from .kv_cache import DecodeState, SlotCache
from .runner import (DecodeSettings, InputFailed, PreparedInput, RowDone, RunnerOutput,
                     RunnerStats, TokenCallback)
from .sampling import RowSampling, apply_row_penalties, sample_tokens, select_tokens

LEN_ALIGN = 64  # cache lengths are rounded up to this
DEFAULT_MAX_LEN = 1024  # what warmup() allocates when no length is known yet
MAX_GRAPHS = 4  # captured decode steps kept at once (one per StepMode in use)


@dataclass(frozen=True)
class StepMode:
    """The host-side choices baked into a decode step (one captured graph per mode).

    Rows with different settings share one step: temperature, top_p, top_k, seeds and both
    penalties are per-slot tensors. The mode only chooses which code the step runs: the
    greedy argmax (every row greedy), the sampling path cut to `max_top_k` candidates (0 = the
    whole vocabulary, needed as soon as one sampled row has top_k off), and whether penalties
    are applied (any row with one). A greedy row inside a sampling step still gets its argmax.
    """

    greedy: bool
    max_top_k: int
    penalties: bool

    @classmethod
    def of(cls, settings: DecodeSettings) -> "StepMode":
        return cls.of_rows([settings])

    @classmethod
    def of_rows(cls, rows: Iterable[DecodeSettings]) -> "StepMode":
        rows = list(rows)
        sampled = [s for s in rows if s.temperature > 0]
        top_k = 0 if not sampled or any(s.top_k <= 0 for s in sampled) else max(s.top_k for s in sampled)
        penalties = any(s.repetition_penalty != 1.0 or s.presence_penalty != 0.0 for s in rows)
        return cls(not sampled, top_k, penalties)


def decode_step(adapter: ModelAdapter, cache: SlotCache, state: DecodeState, mode: StepMode) -> None:
    """Feed every slot's next token, pick the following one, advance the state in place.

    Fixed shapes, no host syncs and no data-dependent branches: safe to capture in a CUDA graph
    (when the adapter's own step is).
    """
    logits = adapter.step_logits(cache, state)
    if mode.penalties:
        logits = apply_row_penalties(logits, state.seen, state.repetition, state.presence)
    if mode.greedy:
        new = logits.argmax(dim=-1)  # what select_tokens returns for temperature 0
    else:
        sampling = RowSampling(state.temperature, state.top_p, state.top_k, state.seeds)
        new = sample_tokens(logits, sampling, state.steps, mode.max_top_k)
    state.seen.scatter_(1, new[:, None], True)
    state.tokens.copy_(new)
    state.positions.add_(1)
    state.steps.add_(1)


@dataclass
class _Row:
    """A caption in flight in one slot."""

    key: int
    variant: int
    max_new: int
    tokens: list[int]
    settings: DecodeSettings
    stop_ids: frozenset[int]


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc)


def _round_up(n: int, align: int = LEN_ALIGN) -> int:
    return -(-n // align) * align


def take_group(pending: deque, free: int, limit: int) -> list[PreparedInput]:
    """Pop up to `limit` inputs from the front of `pending` whose variants fit in `free` slots."""
    group, need = [], 0
    while pending and len(group) < limit and need + pending[0].variants <= free:
        need += pending[0].variants
        group.append(pending.popleft())
    return group


class ContinuousRunner:
    """Continuous batching over a fixed set of KV-cache slots.

    Two ways to drive it:
    - incrementally (what the live engine does): `admit()` a group into free slots, `step()`
      every busy slot once, `drop()` the rows of cancelled keys; each input carries its own
      `DecodeSettings`, and rows with different settings share every step (see `StepMode`);
    - `run(inputs, settings, cancel, on_tokens)`: the `Runner` protocol over one iterable.

    `cuda_graph=None` captures the decode step in a CUDA graph when the model is on CUDA and
    the adapter's step allows it. `refill_at`: while rows are decoding, free slots are refilled
    once at least this many are free (batches the prefills; default min(prefill_batch,
    slots // 8), at least 1) or when fewer rows wait than slots are free.
    """

    pin_pixels = True  # copy pixels to the GPU from pinned memory, without blocking the host

    def __init__(self, model, slots: int = 64, max_len: int | None = None, prefill_batch: int = 8,
                 cuda_graph: bool | None = None, refill_at: int | None = None,
                 adapter: ModelAdapter | None = None):
        self.model = model
        self.adapter = adapter or adapter_for(model)
        self.shape = self.adapter.shape
        self.slots = int(slots)
        self.prefill_batch = max(1, int(prefill_batch))
        self.refill_at = refill_at or max(1, min(self.prefill_batch, self.slots // 8))
        on_cuda = self.shape.device.type == "cuda"
        self.cuda_graph = (on_cuda and self.adapter.graph_safe) if cuda_graph is None else bool(cuda_graph)
        if self.cuda_graph and not on_cuda:
            raise ValueError("cuda_graph needs a model on a CUDA device")
        self._max_len_hint = max_len
        self.cache: SlotCache | None = None
        self.state: DecodeState | None = None
        self._graphs: dict[StepMode, torch.cuda.CUDAGraph] = {}
        self.rows: list[_Row | None] = [None] * self.slots
        self.stats = RunnerStats()
        for name in ("prefills", "prefill_calls", "graph_captures", "cache_grows"):
            self.stats.extra[name] = 0.0

    # ----------------------------------------------------------------- memory and graph
    @staticmethod
    def slots_for_memory(model, free_bytes: int, max_len: int, fraction: float = 0.5) -> int:
        """How many slots of `max_len` tokens fit in `fraction` of `free_bytes`."""
        return kv_cache.slots_for_memory(model, free_bytes, max_len, fraction)

    @property
    def max_len(self) -> int | None:
        """The cache's current length in tokens (None before the first allocation)."""
        return self.cache.max_len if self.cache is not None else self._max_len_hint

    def _ensure_cache(self, need: int) -> None:
        """Allocate, or grow (copying live rows, dropping the graphs) so `need` tokens fit."""
        with torch.inference_mode(False), torch.no_grad():  # plain tensors, updatable anywhere
            if self.cache is None:
                self.cache = SlotCache(self.shape, self.slots,
                                       _round_up(max(need, self._max_len_hint or 0)),
                                       self.adapter.slot_states(self.slots))
                self.state = DecodeState(self.shape, self.slots)
            elif need > self.cache.max_len:
                self._graphs.clear()  # they point at the old tensors; free their pools first
                self.cache = self.cache.grown(_round_up(max(need, self.cache.max_len * 5 // 4)))
                self.stats.extra["cache_grows"] += 1
        self.stats.extra["max_len"] = float(self.cache.max_len)

    @torch.inference_mode()
    def _discarded_steps(self, mode: StepMode, count: int) -> None:
        """Run `count` real decode steps, then undo their effect on the rows in flight.

        The state goes back to the snapshot; the K/V they wrote sit at or past each slot's
        position, which the next real step overwrites before any query can see it. A hybrid
        model's per-slot states are advanced in place, so they go back to a copy too.
        """
        saved = self.state.snapshot()
        states = self.cache.states
        saved_states = states.snapshot() if states is not None else None
        for _ in range(count):
            decode_step(self.adapter, self.cache, self.state, mode)
        self.state.restore(saved)
        if states is not None:
            states.restore(saved_states)

    @torch.inference_mode()
    def _capture(self, mode: StepMode) -> None:
        """Record decode_step in a CUDA graph (warm-up on a side stream first, as torch says)."""
        if len(self._graphs) >= MAX_GRAPHS:
            self._graphs.pop(next(iter(self._graphs)))  # the oldest mode
        device = self.shape.device
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            self._discarded_steps(mode, 2)  # library handles, workspaces, kernel selection
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # Recording does not execute anything, so the state is left as it was.
        # thread_local: image-decoding threads may touch CUDA while this thread captures.
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            decode_step(self.adapter, self.cache, self.state, mode)
        self._graphs[mode] = graph
        self.stats.extra["graph_captures"] += 1

    def warmup(self, progress: Callable[[str], None] | None = None,
               settings: DecodeSettings | None = None) -> None:
        """Allocate the cache (DEFAULT_MAX_LEN tokens unless known) and capture the step graph."""
        say = progress or (lambda message: None)
        if self.cache is None:
            length = _round_up(self._max_len_hint or DEFAULT_MAX_LEN)
            say(f"allocating KV cache: {self.slots} slots x {length} tokens "
                f"({self.shape.kv_bytes_per_token * self.slots * length / 2**30:.2f} GiB)")
            self._ensure_cache(length)
        if self.cuda_graph:
            say("capturing the decode step in a CUDA graph")
            mode = StepMode.of(settings or DecodeSettings(stop_ids=frozenset()))
            if mode not in self._graphs:
                self._capture(mode)
        say("decoder ready")

    def _step(self, mode: StepMode) -> list[int]:
        """Run one decode step over all slots; returns every slot's new token."""
        if self.cuda_graph:
            if mode not in self._graphs:
                self._capture(mode)
            self._graphs[mode].replay()
        else:
            with torch.inference_mode():
                decode_step(self.adapter, self.cache, self.state, mode)
        return self.state.tokens.tolist()  # the one host sync per step

    # ----------------------------------------------------------------------- prefill
    def _cat_pixels(self, parts: list[torch.Tensor]) -> torch.Tensor | None:
        """One tensor of a group's pixels on the model's device (pinned first for a GPU)."""
        if not parts:
            return None
        if self.shape.device.type != "cuda" or not self.pin_pixels:
            return torch.cat(parts).to(self.shape.device)
        rows = sum(p.shape[0] for p in parts)
        out = torch.empty((rows, *parts[0].shape[1:]), dtype=parts[0].dtype, pin_memory=True)
        return torch.cat(parts, out=out).to(self.shape.device, non_blocking=True)

    def reject(self, inp: PreparedInput) -> str | None:
        """Why an input cannot run at all (checked before it takes slots), or None."""
        ids, types = inp.input_ids, inp.mm_token_type_ids
        if ids.dim() != 1 or ids.numel() == 0 or types.shape != ids.shape:
            return "input_ids and mm_token_type_ids must be equal-length 1-D tensors"
        if inp.max_new_tokens < 1:
            return "max_new_tokens must be at least 1"
        if not 1 <= inp.variants <= self.slots:
            return f"{inp.variants} variants need 1 to {self.slots} slots"
        merge = self.adapter.merge
        for kind, pixels, grid in ((1, inp.pixel_values, inp.image_grid_thw),
                                   (2, inp.pixel_values_videos, inp.video_grid_thw)):
            tokens = int((types == kind).sum())
            if pixels is None:
                if tokens:
                    return "visual tokens in the prompt but no pixels"
                continue
            if grid is None:
                return "pixels without a grid"
            patches = int(grid.long().prod(-1).sum())
            if pixels.shape[0] != patches or tokens != patches // merge**2:
                return (f"pixels ({pixels.shape[0]} patches), grid ({patches} patches) and "
                        f"prompt ({tokens} visual tokens) disagree")
        return None

    _reject = reject  # the name the tests and older callers use

    @torch.inference_mode()
    def _prefill(self, group: list[PreparedInput], slot_lists: list[list[int]]) -> list[list[int]]:
        """Prefill `group` (left padded) through the adapter, load each row's K/V into its slots.

        Returns each input's first token per variant and starts those rows' decode state.
        """
        self.stats.extra["prefill_calls"] += 1
        dev = self.shape.device
        lengths = [int(inp.input_ids.numel()) for inp in group]
        width = max(lengths)
        ids = torch.full((len(group), width), self.adapter.pad_id, dtype=torch.long)
        types = torch.zeros((len(group), width), dtype=group[0].mm_token_type_ids.dtype)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, (inp, n) in enumerate(zip(group, lengths)):
            ids[row, width - n:] = inp.input_ids
            types[row, width - n:] = inp.mm_token_type_ids
            mask[row, width - n:] = 1
        cat = lambda xs: torch.cat(xs) if xs else None  # noqa: E731
        images = [i for i in group if i.pixel_values is not None]
        videos = [i for i in group if i.pixel_values_videos is not None]
        pf = self.adapter.prefill(
            ids, mask, types, self._cat_pixels([i.pixel_values for i in images]),
            cat([i.image_grid_thw for i in images]),
            self._cat_pixels([i.pixel_values_videos for i in videos]),
            cat([i.video_grid_thw for i in videos]))
        # One row per (input, variant): the first token, from step 0 of each variant's seed.
        row_of = [r for r, slots in enumerate(slot_lists) for _ in slots]
        settings = [group[r].settings for r in row_of]
        seeds = [int(s) for inp in group for s in inp.seeds]
        full = lambda attr, dt: torch.tensor([getattr(s, attr) for s in settings], dtype=dt, device=dev)  # noqa: E731
        sampling = RowSampling(full("temperature", torch.float32), full("top_p", torch.float32),
                               full("top_k", torch.long), torch.tensor(seeds, dtype=torch.long, device=dev))
        steps = torch.zeros(len(row_of), dtype=torch.long, device=dev)
        first = select_tokens(pf.logits[torch.tensor(row_of, device=dev)], sampling, steps,
                              max_top_k=StepMode.of_rows(settings).max_top_k).tolist()
        # Move K/V: token (width - n + j) of prefill row r -> index j of each of r's slots.
        parts = [(slot, r, n) for r, (slots, n) in enumerate(zip(slot_lists, lengths)) for slot in slots]
        index = lambda xs: torch.cat(xs).to(dev)  # noqa: E731
        self.cache.load_prefill(
            pf.kv,
            dst_slot=index([torch.full((n,), s) for s, _, n in parts]),
            dst_pos=index([torch.arange(n) for _, _, n in parts]),
            src_row=index([torch.full((n,), r) for _, r, n in parts]),
            src_pos=index([torch.arange(width - n, width) for _, _, n in parts]))
        if pf.states is not None or self.cache.states is not None:
            # A hybrid model's fixed-size states: prefill row r -> each of r's slots.
            self.cache.load_states(pf.states, dst_slot=torch.tensor([s for s, _, _ in parts], device=dev),
                                   src_row=torch.tensor([r for _, r, _ in parts], device=dev))
        deltas = pf.rope_deltas
        del pf
        self.state.place([s for s, _, _ in parts], first, [n for _, _, n in parts],
                         [deltas[r] for _, r, _ in parts], seeds, settings)
        self.stats.extra["prefills"] += len(group)
        self.stats.batches += 1
        firsts, at = [], 0
        for slots in slot_lists:
            firsts.append(first[at:at + len(slots)])
            at += len(slots)
        return firsts

    def _prefill_split(self, group: list[PreparedInput], slot_lists: list[list[int]]) -> list[list[int] | str]:
        """_prefill, retrying a failing group in halves: per input, first tokens or a reason."""
        try:
            return self._prefill(group, slot_lists)
        except Exception as exc:  # noqa: BLE001 - any input-specific failure is reported per input
            reason, oom = f"{type(exc).__name__}: {exc}".splitlines()[0][:300], _is_oom(exc)
        # Outside the except block: the traceback, and the tensors its frames hold, are gone.
        if oom and self.shape.device.type == "cuda":
            torch.cuda.empty_cache()
        if len(group) == 1:
            return [("out of memory: " if oom else "") + reason]
        half = len(group) // 2
        return (self._prefill_split(group[:half], slot_lists[:half])
                + self._prefill_split(group[half:], slot_lists[half:]))

    # ------------------------------------------------------------- incremental API
    def free_slots(self) -> int:
        return sum(row is None for row in self.rows)

    def busy(self) -> bool:
        return any(row is not None for row in self.rows)

    def should_refill(self, waiting_rows: int) -> bool:
        """Whether to prefill now, with `waiting_rows` rows (variants) ready to start."""
        free = self.free_slots()
        if not free or not waiting_rows:
            return False
        return free == self.slots or waiting_rows <= free or free >= self.refill_at

    def admit(self, group: list[PreparedInput], on_tokens: TokenCallback) -> list[RunnerOutput]:
        """Prefill a group (each input with its `settings`) into free slots; report first tokens
        and return the rows that end right away and the inputs that failed."""
        out: list[RunnerOutput] = []
        need = lambda i: int(i.input_ids.numel()) + i.max_new_tokens  # noqa: E731
        try:
            self._ensure_cache(max(need(i) for i in group))
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()  # the cache could not grow: fail only what needed it
            if self.cache is None:
                return [InputFailed(i.key, "out of memory allocating the KV cache") for i in group]
            out += [InputFailed(i.key, f"out of memory growing the KV cache to {need(i)}")
                    for i in group if need(i) > self.cache.max_len]
            group = [i for i in group if need(i) <= self.cache.max_len]
            if not group:
                return out
        free = [s for s, row in enumerate(self.rows) if row is None]
        slot_lists, at = [], 0
        for inp in group:
            slot_lists.append(free[at:at + inp.variants])
            at += inp.variants
        start = time.perf_counter()
        outcomes = self._prefill_split(group, slot_lists)
        self.stats.prefill_s += time.perf_counter() - start
        emitted = []
        for inp, slots, outcome in zip(group, slot_lists, outcomes):
            if isinstance(outcome, str):
                out.append(InputFailed(inp.key, outcome))
                continue
            stops = frozenset() if inp.settings.ignore_eos else frozenset(inp.settings.stop_ids)
            for variant, (slot, token) in enumerate(zip(slots, outcome)):
                if token in stops:
                    out.append(RowDone(inp.key, variant, (), True))
                    continue
                emitted.append((inp.key, variant, token))
                if inp.max_new_tokens <= 1:
                    out.append(RowDone(inp.key, variant, (token,), False))
                else:
                    self.rows[slot] = _Row(inp.key, variant, inp.max_new_tokens, [token],
                                           inp.settings, stops)
        self.stats.tokens += len(emitted)
        if emitted:
            on_tokens(emitted)
        return out

    def step(self, on_tokens: TokenCallback) -> list[RunnerOutput]:
        """One decode step over every slot; streams the new tokens, returns the rows that ended."""
        live = [row.settings for row in self.rows if row is not None]
        mode = StepMode.of_rows(live)
        extra = self.stats.extra
        extra["max_rows_in_step"] = max(extra.get("max_rows_in_step", 0.0), float(len(live)))
        start = time.perf_counter()
        new = self._step(mode)
        self.stats.decode_s += time.perf_counter() - start
        self.stats.decode_steps += 1
        emitted, done = [], []
        for slot, row in enumerate(self.rows):
            if row is None:
                continue
            token = new[slot]
            if token in row.stop_ids:
                done.append(RowDone(row.key, row.variant, tuple(row.tokens), True))
                self.rows[slot] = None
                continue
            row.tokens.append(token)
            emitted.append((row.key, row.variant, token))
            if len(row.tokens) >= row.max_new:
                done.append(RowDone(row.key, row.variant, tuple(row.tokens), False))
                self.rows[slot] = None
        self.stats.tokens += len(emitted)
        if emitted:
            on_tokens(emitted)
        return done

    def drop(self, keys: Collection[int] | None = None) -> int:
        """Free the slots of these keys' rows (all rows for None); returns how many."""
        freed = 0
        for slot, row in enumerate(self.rows):
            if row is not None and (keys is None or row.key in keys):
                self.rows[slot] = None
                freed += 1
        return freed

    # ---------------------------------------------------------------------- the loop
    def run(self, inputs: Iterable[PreparedInput], settings: DecodeSettings,
            cancel: threading.Event, on_tokens: TokenCallback) -> Iterator[RunnerOutput]:
        """Caption `inputs` (pulled lazily, never more than the free slots take) with continuous
        batching; inputs without their own settings use `settings`."""
        source, pending, exhausted = iter(inputs), deque(), False
        try:
            while not cancel.is_set():
                free = self.free_slots()
                if free and (not self.busy() or exhausted or free >= self.refill_at):
                    while (not exhausted and not cancel.is_set()
                           and sum(p.variants for p in pending) < free):
                        inp = next(source, None)
                        if inp is None:
                            exhausted = True
                            break
                        if inp.settings is None:
                            inp = replace(inp, settings=settings)
                        reason = self.reject(inp)
                        if reason is not None:
                            yield InputFailed(inp.key, reason)
                        else:
                            pending.append(inp)
                    while pending and not cancel.is_set():
                        group = take_group(pending, self.free_slots(), self.prefill_batch)
                        if not group:
                            break  # the next input waits for more slots
                        done = self.admit(group, on_tokens)
                        if not cancel.is_set():
                            yield from done
                if cancel.is_set():
                    return
                if not self.busy():
                    if exhausted and not pending:
                        return
                    continue  # nothing to decode: go refill
                done = self.step(on_tokens)
                if cancel.is_set():
                    return
                yield from done
        finally:
            self.drop()
