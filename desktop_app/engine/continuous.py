"""ContinuousRunner: the engine's own scheduler and decode loop for Qwen3-VL (continuous batching).

Design, in the spirit of gpt-fast:

- Slots. The runner owns a fixed number of slots, each with a preallocated KV cache row
  (`kv_cache.SlotCache`: per layer K/V of shape (slots, kv_heads, max_len, head_dim)) and
  per-slot decode state (`kv_cache.DecodeState`: next token, cache position, mrope delta,
  sampling seed, step count, "seen" mask for penalties). A row (one variant of one image)
  holds a slot from its prefill until it stops; the slot then takes the next input at once.
- Prefill. Inputs are pulled lazily from the caller's iterable, only when slots are free, and
  prefilled together (up to `prefill_batch`, left padded) through the HF model's own forward
  with a fresh DynamicCache, so the vision tower, deepstack injection and 3-D mrope are exactly
  HF's. Each row's K/V (padding dropped) is copied into its slot(s) from index 0; an input with
  n variants fans out to n slots from one prefill. Its first token comes from the prefill
  logits. Decode positions follow HF: the token at cache index i (i >= prompt length) has
  mrope position i + rope_delta on all three axes (rope_delta from `get_rope_index`), which is
  what HF computes for a left-padded row from the attention-mask cumsum plus rope_deltas.
- Decode step (`decode_step`). One forward over ALL slots with fixed shapes: embed the (S,)
  tokens, and per decoder layer call HF's own modules (norms, projections, q/k norms, rotary,
  MLP), write each slot's new K/V at its position with one scatter, and attend with SDPA under
  a boolean "key index <= position" mask; grouped-query heads are folded into the query length
  so K/V are never repeated. Then the final norm, lm_head, penalties and per-row token selection
  (`sampling`), and the step advances its own state (tokens, positions, steps, seen). Inactive
  slots compute garbage that nobody reads. No data-dependent Python control flow, no host
  syncs: on CUDA the step is captured once in a CUDA graph and replayed; the CPU path (and
  `cuda_graph=False`) runs the very same function eagerly.
- Host loop. After each step the host reads the (S,) new tokens once, streams them through
  `on_tokens`, detects stops and limits, yields `RowDone`s and refills free slots.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import DynamicCache
from transformers.models.qwen3_vl.modeling_qwen3_vl import apply_rotary_pos_emb

from . import kv_cache
from .kv_cache import DecodeState, SlotCache, TextShape
from .runner import (DecodeSettings, InputFailed, PreparedInput, RowDone, RunnerOutput,
                     RunnerStats, TokenCallback)
from .sampling import RowSampling, apply_penalties, sample_tokens, select_tokens

LEN_ALIGN = 64  # cache lengths are rounded up to this
DEFAULT_MAX_LEN = 1024  # what warmup() allocates when no length is known yet
# Attention kernels for the masked decode attention: on CUDA flash refuses masks, so this is
# memory-efficient attention (math as the fallback); keeping cuDNN attention out of the
# captured graph makes the kernel choice predictable. On CPU: its flash kernel or math.
SDPA_BACKENDS = [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]
# "matmul" (default) or "sdpa" (above): two batched matrix products around a masked softmax read
# each slot's K/V once with no query tiling (a query here is only heads/kv_heads rows long).
# Measured on an H200, 2B bf16: 8.57 vs 9.30 ms a step at 64 slots, 11.40 vs 13.29 at 128.
DECODE_ATTENTION = os.environ.get("CAPTION_STUDIO_DECODE_ATTENTION", "matmul")


@dataclass(frozen=True)
class StepMode:
    """The host-side choices baked into a decode step (one captured graph per mode)."""

    greedy: bool
    max_top_k: int
    repetition: float
    presence: float

    @classmethod
    def of(cls, settings: DecodeSettings) -> "StepMode":
        return cls(settings.temperature <= 0, settings.top_k, settings.repetition_penalty,
                   settings.presence_penalty)


def _attention(attn, h: torch.Tensor, cos, sin, k_cache: torch.Tensor, v_cache: torch.Tensor,
               write_at: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """One decoder layer's self-attention for one new token per slot; h is (S, 1, hidden)."""
    slots, head_dim, kv_heads = h.shape[0], attn.head_dim, k_cache.shape[1]
    q = attn.q_norm(attn.q_proj(h).view(slots, 1, -1, head_dim)).transpose(1, 2)
    k = attn.k_norm(attn.k_proj(h).view(slots, 1, -1, head_dim)).transpose(1, 2)
    v = attn.v_proj(h).view(slots, 1, -1, head_dim).transpose(1, 2)
    q, k = apply_rotary_pos_emb(q, k, cos, sin)  # (S, heads, 1, head_dim)
    k_cache.scatter_(2, write_at, k)  # each slot writes at its own position: one kernel
    v_cache.scatter_(2, write_at, v)
    # Query head h uses KV head h // n_rep (HF's repeat_kv order), so (S, heads, 1, D) viewed as
    # (S, kv_heads, n_rep, D) lets SDPA share each KV head without copying the cache.
    q = q.reshape(slots, kv_heads, -1, head_dim)
    if DECODE_ATTENTION == "matmul":
        scores = torch.matmul(q, k_cache.transpose(-1, -2)).float() * attn.scaling
        probs = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
        out = torch.matmul(probs.to(v_cache.dtype), v_cache)
    else:
        out = F.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=visible, scale=attn.scaling)
    return attn.o_proj(out.reshape(slots, 1, -1))


def decode_step(model, cache: SlotCache, state: DecodeState, mode: StepMode) -> None:
    """Feed every slot's next token, pick the following one, advance the state in place.

    Fixed shapes, no host syncs and no data-dependent branches: safe to capture in a CUDA graph.
    """
    lm = model.model.language_model
    slots, max_len = state.tokens.shape[0], cache.max_len
    x = lm.embed_tokens(state.tokens)[:, None, :]  # (S, 1, hidden)
    rope_pos = (state.positions + state.rope_deltas).view(1, slots, 1).expand(3, slots, 1)
    cos, sin = lm.rotary_emb(x, rope_pos)
    # Inactive slots keep counting up: clamp so their garbage writes stay inside the cache.
    write_at = state.positions.clamp(max=max_len - 1).view(slots, 1, 1, 1)
    write_at = write_at.expand(slots, cache.shape.kv_heads, 1, cache.shape.head_dim)
    visible = (cache.key_range[None, :] <= state.positions[:, None]).view(slots, 1, 1, max_len)
    with sdpa_kernel(SDPA_BACKENDS):
        for layer, k_cache, v_cache in zip(lm.layers, cache.k, cache.v):
            x = x + _attention(layer.self_attn, layer.input_layernorm(x), cos, sin, k_cache,
                               v_cache, write_at, visible)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
    logits = model.lm_head(lm.norm(x)[:, 0]).float()  # (S, vocab)
    logits = apply_penalties(logits, state.seen, mode.repetition, mode.presence)
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


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc)


def _round_up(n: int, align: int = LEN_ALIGN) -> int:
    return -(-n // align) * align


class ContinuousRunner:
    """Continuous batching over a fixed set of KV-cache slots (the `Runner` protocol).

    `cuda_graph=None` captures the decode step in a CUDA graph when the model is on CUDA.
    `refill_at`: while rows are decoding, free slots are refilled once at least this many are
    free (batches the prefills; default min(prefill_batch, slots // 8), at least 1).
    """

    def __init__(self, model, slots: int = 64, max_len: int | None = None, prefill_batch: int = 8,
                 cuda_graph: bool | None = None, refill_at: int | None = None):
        self.model = model
        self.shape = TextShape.of(model)
        self.slots = int(slots)
        self.prefill_batch = max(1, int(prefill_batch))
        self.refill_at = refill_at or max(1, min(self.prefill_batch, self.slots // 8))
        on_cuda = self.shape.device.type == "cuda"
        self.cuda_graph = on_cuda if cuda_graph is None else bool(cuda_graph)
        if self.cuda_graph and not on_cuda:
            raise ValueError("cuda_graph needs a model on a CUDA device")
        self._max_len_hint = max_len
        self.cache: SlotCache | None = None
        self.state: DecodeState | None = None
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_mode: StepMode | None = None
        config = model.config
        self._merge = config.vision_config.spatial_merge_size
        pad = getattr(getattr(model, "generation_config", None), "pad_token_id", None)
        self._pad_id = pad if isinstance(pad, int) else 0
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
        """Allocate, or grow (copying live rows, dropping the graph) so `need` tokens fit."""
        with torch.inference_mode(False), torch.no_grad():  # plain tensors, updatable anywhere
            if self.cache is None:
                self.cache = SlotCache(self.shape, self.slots,
                                       _round_up(max(need, self._max_len_hint or 0)))
                self.state = DecodeState(self.shape, self.slots)
            elif need > self.cache.max_len:
                self._graph = None  # it points at the old tensors; free its pool first
                self.cache = self.cache.grown(_round_up(max(need, self.cache.max_len * 5 // 4)))
                self.stats.extra["cache_grows"] += 1
        self.stats.extra["max_len"] = float(self.cache.max_len)

    @torch.inference_mode()
    def _discarded_steps(self, mode: StepMode, count: int) -> None:
        """Run `count` real decode steps, then undo their effect on the rows in flight.

        The state goes back to the snapshot; the K/V they wrote sit at or past each slot's
        position, which the next real step overwrites before any query can see it.
        """
        saved = self.state.snapshot()
        for _ in range(count):
            decode_step(self.model, self.cache, self.state, mode)
        self.state.restore(saved)

    @torch.inference_mode()
    def _capture(self, mode: StepMode) -> None:
        """Record decode_step in a CUDA graph (warm-up on a side stream first, as torch says)."""
        self._graph = None  # free the previous graph's memory pool before recording a new one
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
            decode_step(self.model, self.cache, self.state, mode)
        self._graph, self._graph_mode = graph, mode
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
            if self._graph is None or self._graph_mode != mode:
                self._capture(mode)
        say("decoder ready")

    def _step(self, mode: StepMode) -> list[int]:
        """Run one decode step over all slots; returns every slot's new token."""
        if self.cuda_graph:
            if self._graph is None or self._graph_mode != mode:
                self._capture(mode)
            self._graph.replay()
        else:
            with torch.inference_mode():
                decode_step(self.model, self.cache, self.state, mode)
        return self.state.tokens.tolist()  # the one host sync per step

    # ----------------------------------------------------------------------- prefill
    pin_pixels = True  # copy pixels to the GPU from pinned memory, without blocking the host

    def _cat_pixels(self, parts: list[torch.Tensor]) -> torch.Tensor | None:
        """One tensor of a group's pixels; in pinned memory when bound for a GPU."""
        if not parts:
            return None
        if self.shape.device.type != "cuda" or not self.pin_pixels:
            return torch.cat(parts)
        rows = sum(p.shape[0] for p in parts)
        out = torch.empty((rows, *parts[0].shape[1:]), dtype=parts[0].dtype, pin_memory=True)
        return torch.cat(parts, out=out)

    def _to_device(self, t: torch.Tensor | None) -> torch.Tensor | None:
        if t is None:
            return None
        return t.to(self.shape.device, non_blocking=t.is_pinned())

    def _reject(self, inp: PreparedInput) -> str | None:
        """Why an input cannot run at all (checked before it takes slots), or None."""
        ids, types = inp.input_ids, inp.mm_token_type_ids
        if ids.dim() != 1 or ids.numel() == 0 or types.shape != ids.shape:
            return "input_ids and mm_token_type_ids must be equal-length 1-D tensors"
        if inp.max_new_tokens < 1:
            return "max_new_tokens must be at least 1"
        if not 1 <= inp.variants <= self.slots:
            return f"{inp.variants} variants need 1 to {self.slots} slots"
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
            if pixels.shape[0] != patches or tokens != patches // self._merge**2:
                return (f"pixels ({pixels.shape[0]} patches), grid ({patches} patches) and "
                        f"prompt ({tokens} visual tokens) disagree")
        return None

    @torch.inference_mode()
    def _prefill(self, group: list[PreparedInput], slot_lists: list[list[int]],
                 settings: DecodeSettings) -> list[list[int]]:
        """Prefill `group` (left padded) with HF's forward, load each row's K/V into its slots.

        Returns each input's first token per variant and starts those rows' decode state.
        """
        self.stats.extra["prefill_calls"] += 1
        dev, core = self.shape.device, self.model.model
        lengths = [int(inp.input_ids.numel()) for inp in group]
        width = max(lengths)
        ids = torch.full((len(group), width), self._pad_id, dtype=torch.long)
        types = torch.zeros((len(group), width), dtype=group[0].mm_token_type_ids.dtype)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, (inp, n) in enumerate(zip(group, lengths)):
            ids[row, width - n:] = inp.input_ids
            types[row, width - n:] = inp.mm_token_type_ids
            mask[row, width - n:] = 1
        cat = lambda xs: torch.cat(xs) if xs else None  # noqa: E731
        pixels = self._cat_pixels([i.pixel_values for i in group if i.pixel_values is not None])
        grid = cat([i.image_grid_thw for i in group if i.pixel_values is not None])
        video = self._cat_pixels([i.pixel_values_videos for i in group if i.pixel_values_videos is not None])
        video_grid = cat([i.video_grid_thw for i in group if i.pixel_values_videos is not None])
        # Positions as generate() builds them (text row from the mask, 3-D mrope rows), passed
        # explicitly so the model's cached rope_deltas are neither used nor overwritten.
        mrope, deltas = core.get_rope_index(ids, types, grid, video_grid, attention_mask=mask)
        text = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        to_dev = self._to_device
        kv = DynamicCache(config=self.model.config.get_text_config())
        out = core(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                   position_ids=torch.cat([text[None], mrope]).to(dev), past_key_values=kv,
                   use_cache=True, pixel_values=to_dev(pixels), image_grid_thw=to_dev(grid),
                   pixel_values_videos=to_dev(video), video_grid_thw=to_dev(video_grid),
                   mm_token_type_ids=types.to(dev))
        logits = self.model.lm_head(out.last_hidden_state[:, -1])  # left padded: last is real
        del out
        # One row per (input, variant): the first token, from step 0 of each variant's seed.
        row_of = [r for r, slots in enumerate(slot_lists) for _ in slots]
        seeds = [int(s) for inp in group for s in inp.seeds]
        sampling = RowSampling.uniform(len(row_of), settings.temperature, settings.top_p,
                                       settings.top_k, seeds, dev)
        steps = torch.zeros(len(row_of), dtype=torch.long, device=dev)
        rows = torch.tensor(row_of, device=dev)
        first = select_tokens(logits[rows], sampling, steps, max_top_k=settings.top_k).tolist()
        # Move K/V: token (width - n + j) of prefill row r -> index j of each of r's slots.
        parts = [(slot, r, n) for r, (slots, n) in enumerate(zip(slot_lists, lengths))
                 for slot in slots]
        index = lambda xs: torch.cat(xs).to(dev)  # noqa: E731
        self.cache.load_prefill(
            [(layer.keys, layer.values) for layer in kv.layers],
            dst_slot=index([torch.full((n,), s) for s, _, n in parts]),
            dst_pos=index([torch.arange(n) for _, _, n in parts]),
            src_row=index([torch.full((n,), r) for _, r, n in parts]),
            src_pos=index([torch.arange(width - n, width) for _, _, n in parts]))
        self.state.place([s for s, _, _ in parts], first, [n for _, _, n in parts],
                         [int(deltas[r]) for _, r, _ in parts], seeds)
        self.stats.extra["prefills"] += len(group)
        self.stats.batches += 1
        firsts, at = [], 0
        for slots in slot_lists:
            firsts.append(first[at:at + len(slots)])
            at += len(slots)
        return firsts

    def _prefill_split(self, group: list[PreparedInput], slot_lists: list[list[int]],
                       settings: DecodeSettings) -> list[list[int] | str]:
        """_prefill, retrying a failing group in halves: per input, first tokens or a reason."""
        try:
            return self._prefill(group, slot_lists, settings)
        except Exception as exc:  # noqa: BLE001 - any input-specific failure is reported per input
            reason, oom = f"{type(exc).__name__}: {exc}".splitlines()[0][:300], _is_oom(exc)
        # Outside the except block: the traceback, and the tensors its frames hold, are gone.
        if oom and self.shape.device.type == "cuda":
            torch.cuda.empty_cache()
        if len(group) == 1:
            return [("out of memory: " if oom else "") + reason]
        half = len(group) // 2
        return (self._prefill_split(group[:half], slot_lists[:half], settings)
                + self._prefill_split(group[half:], slot_lists[half:], settings))

    def _admit(self, group: list[PreparedInput], free: list[int], rows: list[_Row | None],
               settings: DecodeSettings, stop_ids: frozenset[int], cancel: threading.Event,
               on_tokens: TokenCallback) -> Iterator[RunnerOutput]:
        """Prefill a group into free slots; report first tokens and rows that end right away."""
        need = lambda i: int(i.input_ids.numel()) + i.max_new_tokens  # noqa: E731
        try:
            self._ensure_cache(max(need(i) for i in group))
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()  # the cache could not grow: fail only what needed it
            too_long = [i for i in group if need(i) > self.cache.max_len]
            group = [i for i in group if need(i) <= self.cache.max_len]
            for inp in too_long:
                yield InputFailed(inp.key, f"out of memory growing the KV cache to {need(inp)}")
            if not group:
                return
        slot_lists, at = [], 0
        for inp in group:
            slot_lists.append(free[at:at + inp.variants])
            at += inp.variants
        start = time.perf_counter()
        outcomes = self._prefill_split(group, slot_lists, settings)
        self.stats.prefill_s += time.perf_counter() - start
        emitted, done = [], []
        for inp, slots, outcome in zip(group, slot_lists, outcomes):
            if isinstance(outcome, str):
                done.append(InputFailed(inp.key, outcome))
                continue
            for variant, (slot, token) in enumerate(zip(slots, outcome)):
                if token in stop_ids:
                    done.append(RowDone(inp.key, variant, (), True))
                    continue
                emitted.append((inp.key, variant, token))
                if inp.max_new_tokens <= 1:
                    done.append(RowDone(inp.key, variant, (token,), False))
                else:
                    rows[slot] = _Row(inp.key, variant, inp.max_new_tokens, [token])
        self.stats.tokens += len(emitted)
        if emitted:
            on_tokens(emitted)
        if not cancel.is_set():
            yield from done

    # ---------------------------------------------------------------------- the loop
    def run(self, inputs: Iterable[PreparedInput], settings: DecodeSettings,
            cancel: threading.Event, on_tokens: TokenCallback) -> Iterator[RunnerOutput]:
        """Caption `inputs` with continuous batching; see the module docstring."""
        mode = StepMode.of(settings)
        stop_ids = frozenset() if settings.ignore_eos else frozenset(settings.stop_ids)
        rows: list[_Row | None] = [None] * self.slots
        source, pending, exhausted = iter(inputs), deque(), False
        sampling_set = False
        while True:
            if cancel.is_set():
                return
            free = [s for s, row in enumerate(rows) if row is None]
            busy = self.slots - len(free)
            if free and (busy == 0 or exhausted or len(free) >= self.refill_at):
                # Pull lazily: never more inputs than the free slots can take.
                while (not exhausted and not cancel.is_set()
                       and sum(p.variants for p in pending) < len(free)):
                    inp = next(source, None)
                    if inp is None:
                        exhausted = True
                    elif (reason := self._reject(inp)) is not None:
                        yield InputFailed(inp.key, reason)
                    else:
                        pending.append(inp)
                if pending and not sampling_set:
                    self._ensure_cache(max(p.input_ids.numel() + p.max_new_tokens for p in pending))
                    self.state.set_sampling(settings)
                    sampling_set = True
                while pending and not cancel.is_set():
                    group, need = [], 0
                    while (pending and len(group) < self.prefill_batch
                           and need + pending[0].variants <= len(free)):
                        need += pending[0].variants
                        group.append(pending.popleft())
                    if not group:
                        break  # the next input waits for more slots
                    yield from self._admit(group, free, rows, settings, stop_ids, cancel, on_tokens)
                    free = [s for s, row in enumerate(rows) if row is None]
                if cancel.is_set():
                    return
            if all(row is None for row in rows):
                if exhausted and not pending:
                    return
                continue  # nothing to decode: go refill
            start = time.perf_counter()
            new = self._step(mode)
            self.stats.decode_s += time.perf_counter() - start
            self.stats.decode_steps += 1
            emitted, done = [], []
            for slot, row in enumerate(rows):
                if row is None:
                    continue
                token = new[slot]
                if token in stop_ids:
                    done.append(RowDone(row.key, row.variant, tuple(row.tokens), True))
                    rows[slot] = None
                    continue
                row.tokens.append(token)
                emitted.append((row.key, row.variant, token))
                if len(row.tokens) >= row.max_new:
                    done.append(RowDone(row.key, row.variant, tuple(row.tokens), False))
                    rows[slot] = None
            self.stats.tokens += len(emitted)
            if emitted:
                on_tokens(emitted)
            if cancel.is_set():
                return
            yield from done
