"""The adapter interface the continuous runner uses, and the load-time self-check."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ..kv_cache import DecodeState, SlotCache, SlotStates, TextShape

log = logging.getLogger(__name__)


class AdapterError(RuntimeError):
    """The model cannot run on the engine's decode loop (no adapter, a missing attribute)."""


@dataclass
class Prefill:
    """What a prefill of B left-padded rows leaves behind.

    `logits`: (B, vocab) at each row's last (real) token. `kv`: per layer (K, V), each
    (B, kv_heads, T, head_dim) with row r's tokens at the last lengths[r] indices.
    `rope_deltas`: (B,) ints: a decoded token at cache index i has mrope position i + delta.
    `states`: hybrid models only: each row's fixed-size layer states, batch first, in the order
    of the adapter's `slot_states` tensors (None for models that keep only K/V).
    """

    logits: torch.Tensor
    kv: list[tuple[torch.Tensor, torch.Tensor]]
    rope_deltas: list[int]
    states: list[torch.Tensor] | None = None


class ModelAdapter:
    """One model family's way into the model. Subclasses implement `prefill` and `step_logits`.

    Attributes:
        model: The transformers model (eval mode).
        shape: The text model's cache shapes (layers, kv heads, head dim, vocab, dtype, device).
        merge: The vision tower's spatial merge size (visual tokens = patches / merge**2).
        pad_id: The id left padding uses.
        graph_safe: Whether `step_logits` has fixed shapes and no host syncs (a CUDA graph can
            hold it); MoE routing is data dependent, so MoE adapters say False.
    """

    family = "base"
    graph_safe = True

    def __init__(self, model: Any):
        self.model = model
        self.shape = TextShape.of(model)
        pad = getattr(getattr(model, "generation_config", None), "pad_token_id", None)
        self.pad_id = pad if isinstance(pad, int) else 0
        self.merge = 1

    def prefill(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor,
                pixels: torch.Tensor | None, grid: torch.Tensor | None,
                video: torch.Tensor | None, video_grid: torch.Tensor | None) -> Prefill:
        """Run the model's own forward over a left-padded group (inputs on the CPU except pixels)."""
        raise NotImplementedError

    def step_logits(self, cache: SlotCache, state: DecodeState) -> torch.Tensor:
        """Feed every slot's `state.tokens` at `state.positions`, writing its K/V (and, for a
        hybrid model, its `cache.states`) into `cache`; return (slots, vocab) float logits.
        Must not change `state`."""
        raise NotImplementedError

    def slot_states(self, slots: int) -> SlotStates | None:
        """Zeroed fixed-size per-slot states for a hybrid model's recurrent layers, or None
        (the model keeps only K/V)."""
        return None

    @staticmethod
    def require(obj: Any, path: str, what: str) -> Any:
        """`obj.<path>` (dotted), or AdapterError naming what is missing."""
        value = obj
        for part in path.split("."):
            if not hasattr(value, part):
                raise AdapterError(f"{what}: the model has no {path} (stopped at {part!r})")
            value = getattr(value, part)
        return value


@dataclass(frozen=True)
class SelfCheck:
    """The outcome of `self_check`: `ok`, the worst relative logit difference and why not."""

    ok: bool
    max_diff: float
    tolerance: float
    detail: str


def tolerance_for(dtype: torch.dtype) -> float:
    """Worst allowed |ours - reference| / max(1, |reference|max) for a dtype."""
    return 1e-3 if dtype in (torch.float32, torch.float64) else 6e-2


@torch.inference_mode()
def self_check(adapter: ModelAdapter, input_ids: torch.Tensor, types: torch.Tensor,
               pixels: torch.Tensor | None, grid: torch.Tensor | None, steps: int = 2) -> SelfCheck:
    """Prefill one prompt and decode `steps` greedy tokens through the adapter, then run the
    model's own forward over the whole sequence and compare the logits at every position.

    Any exception (a moved attribute, a changed signature) is a failed check, not a crash.
    """
    tol = tolerance_for(adapter.shape.dtype)
    try:
        ours, tokens = _adapter_logits(adapter, input_ids, types, pixels, grid, steps)
        reference = _reference_logits(adapter, input_ids, types, pixels, grid, tokens)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the caller falls back
        return SelfCheck(False, float("inf"), tol, f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
    diffs = [float((a - b).abs().max()) / max(1.0, float(b.abs().max())) for a, b in zip(ours, reference)]
    worst = max(diffs)
    bad = [i for i, d in enumerate(diffs) if not d <= tol]  # `not <=` also catches NaN
    if bad:
        at = bad[0]  # the first position that drifts: later ones inherit its tokens
        where = "the prefill" if at == 0 else f"decode step {at}"
        return SelfCheck(False, worst, tol, f"logits differ from the model's own forward at {where} "
                                            f"(relative difference {diffs[at]:.2e} > {tol:.0e})")
    return SelfCheck(True, worst, tol, f"prefill and {steps} decode steps match the model's "
                                       f"forward (relative difference {worst:.1e})")


def _adapter_logits(adapter: ModelAdapter, input_ids, types, pixels, grid,
                    steps: int) -> tuple[list[torch.Tensor], list[int]]:
    n = int(input_ids.numel())
    dev = adapter.shape.device
    mask = torch.ones((1, n), dtype=torch.long)
    pf = adapter.prefill(input_ids[None], mask, types[None], _dev(pixels, dev), _dev(grid, dev), None, None)
    cache = SlotCache(adapter.shape, 1, n + steps + 1, adapter.slot_states(1))
    index = torch.arange(n, device=dev)
    zero = torch.zeros(n, dtype=torch.long, device=dev)
    cache.load_prefill(pf.kv, dst_slot=zero, dst_pos=index, src_row=zero, src_pos=index)
    cache.load_states(pf.states, dst_slot=zero[:1], src_row=zero[:1])
    logits = [pf.logits[0].float()]
    tokens = [int(logits[0].argmax())]
    state = DecodeState(adapter.shape, 1)
    state.place([0], tokens[:1], [n], pf.rope_deltas[:1], [0])
    for _ in range(steps):
        logits.append(adapter.step_logits(cache, state)[0].float())
        tokens.append(int(logits[-1].argmax()))
        state.tokens.fill_(tokens[-1])
        state.positions.add_(1)
    return logits, tokens[:steps]


def _reference_logits(adapter: ModelAdapter, input_ids, types, pixels, grid,
                      tokens: Sequence[int]) -> list[torch.Tensor]:
    dev = adapter.shape.device
    extra = torch.tensor(tokens, dtype=input_ids.dtype)
    ids = torch.cat([input_ids, extra])[None]
    kinds = torch.cat([types, torch.zeros(len(tokens), dtype=types.dtype)])[None]
    out = adapter.model(input_ids=ids.to(dev), attention_mask=torch.ones_like(ids).to(dev),
                        mm_token_type_ids=kinds.to(dev), pixel_values=_dev(pixels, dev),
                        image_grid_thw=_dev(grid, dev), use_cache=False)
    n = int(input_ids.numel())
    return [out.logits[0, n - 1 + i].float() for i in range(len(tokens) + 1)]


def _dev(t: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if t is None else t.to(device)
