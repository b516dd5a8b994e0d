"""The continuous runner's device memory: a per-slot KV cache and the per-slot decode state.

Both are allocated once and updated in place, so the decode step that reads them always sees
the same tensors (a captured CUDA graph holds their addresses). Only growing the cache's
length makes new tensors, and the runner re-captures its graph after that.

Layout: per layer, K and V of shape (slots, kv_heads, max_len, head_dim) in the model's dtype.
A slot's tokens sit at indices 0.. of its rows with no padding; `DecodeState.positions[s]` is
where slot s writes its next token, and keys at indices <= that position are visible.

Hybrid models (Qwen3.5: Gated-DeltaNet layers between attention layers) keep K/V only for
their attention layers; each linear-attention layer has a fixed-size state per slot instead
(`SlotStates`, made by the model's adapter), which the decode step updates in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .runner import DecodeSettings


@dataclass(frozen=True)
class TextShape:
    """What the cache needs to know of the language model.

    `layers`: the layers that keep K/V (all of them, or a hybrid model's attention layers);
    `state_bytes`: a slot's fixed-size state of the other (linear-attention) layers.
    """

    layers: int
    kv_heads: int
    head_dim: int
    vocab: int
    dtype: torch.dtype
    device: torch.device
    state_bytes: int = 0

    @classmethod
    def of(cls, model) -> "TextShape":
        text = model.config.get_text_config()
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        weight = model.lm_head.weight
        types = list(getattr(text, "layer_types", None) or [])[: text.num_hidden_layers]
        linear = sum(t == "linear_attention" for t in types)
        itemsize = torch.empty((), dtype=weight.dtype).element_size()
        return cls(text.num_hidden_layers - linear, text.num_key_value_heads, head_dim,
                   weight.shape[0], weight.dtype, weight.device,
                   linear * linear_state_bytes(text, itemsize) if linear else 0)

    @property
    def kv_bytes_per_token(self) -> int:
        """K and V of every layer for one token."""
        itemsize = torch.empty((), dtype=self.dtype).element_size()
        return 2 * self.layers * self.kv_heads * self.head_dim * itemsize


def linear_state_bytes(text, itemsize: int) -> int:
    """One slot's state of one Gated-DeltaNet layer: the conv window (conv channels x kernel,
    model dtype) and the float32 recurrent matrix (value heads x key dim x value dim)."""
    key_dim = text.linear_num_key_heads * text.linear_key_head_dim
    value_dim = text.linear_num_value_heads * text.linear_value_head_dim
    conv = (2 * key_dim + value_dim) * text.linear_conv_kernel_dim * itemsize
    return conv + value_dim * text.linear_key_head_dim * 4


def slots_for_memory(model, free_bytes: int, max_len: int, fraction: float = 0.5,
                     most: int = 256) -> int:
    """How many slots of `max_len` tokens fit in `fraction` of `free_bytes` (at least 1).

    Per slot: its KV cache and fixed-size state plus the decode step's per-row
    vocabulary-sized buffers (the "seen" mask and a few float32 copies of the logits while
    sampling).
    """
    shape = TextShape.of(model)
    per_slot = shape.kv_bytes_per_token * max_len + shape.state_bytes + shape.vocab * (1 + 4 * 4)
    return max(1, min(most, int(free_bytes * fraction) // per_slot))


class SlotStates:
    """Fixed-size per-slot state of a hybrid model's recurrent layers: tensors with the slot as
    dim 0 (what they hold is the adapter's business), updated in place by the decode step.
    Their size never depends on a caption's length."""

    def __init__(self, tensors: list[torch.Tensor]):
        self.tensors = list(tensors)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors)

    def load(self, rows: list[torch.Tensor], dst_slot: torch.Tensor, src_row: torch.Tensor) -> None:
        """Copy row src_row[n] of each prefill state (same order as `tensors`) to slot dst_slot[n]."""
        if len(rows) != len(self.tensors):
            raise ValueError(f"the prefill left {len(rows)} states, the slots hold {len(self.tensors)}")
        for slot_t, row_t in zip(self.tensors, rows):
            slot_t[dst_slot] = row_t[src_row].to(slot_t.dtype)

    def snapshot(self) -> list[torch.Tensor]:
        return [t.clone() for t in self.tensors]

    def restore(self, saved: list[torch.Tensor]) -> None:
        for t, value in zip(self.tensors, saved):
            t.copy_(value)


class SlotCache:
    """Per-layer K/V for every slot, plus `key_range` (arange(max_len)) for the visibility mask,
    and for hybrid models the adapter's fixed-size `states` (None otherwise)."""

    def __init__(self, shape: TextShape, slots: int, max_len: int, states: SlotStates | None = None):
        self.shape, self.slots, self.max_len = shape, slots, max_len
        size = (slots, shape.kv_heads, max_len, shape.head_dim)
        make = lambda: torch.zeros(size, dtype=shape.dtype, device=shape.device)  # noqa: E731
        self.k = [make() for _ in range(shape.layers)]
        self.v = [make() for _ in range(shape.layers)]
        self.key_range = torch.arange(max_len, device=shape.device)
        self.states = states

    @property
    def nbytes(self) -> int:
        states = self.states.nbytes if self.states is not None else 0
        return self.shape.kv_bytes_per_token * self.slots * self.max_len + states

    def grown(self, max_len: int) -> "SlotCache":
        """A longer cache holding this one's contents (live rows keep their tokens and states)."""
        new = SlotCache(self.shape, self.slots, max_len, self.states)
        for old_t, new_t in zip(self.k + self.v, new.k + new.v):
            new_t[:, :, : self.max_len].copy_(old_t)
        return new

    def load_states(self, rows: list[torch.Tensor] | None, dst_slot: torch.Tensor, src_row: torch.Tensor) -> None:
        """Copy each prefill row's fixed-size states into its slots (nothing for plain models)."""
        if self.states is None:
            if rows:
                raise ValueError("the prefill left per-row states but the cache has no room for them")
            return
        if rows is None:
            raise ValueError("the cache holds per-slot states but the prefill left none")
        self.states.load(rows, dst_slot, src_row)

    def load_prefill(self, layers_kv, dst_slot: torch.Tensor, dst_pos: torch.Tensor,
                     src_row: torch.Tensor, src_pos: torch.Tensor) -> None:
        """Copy prefill K/V (per layer (B, kv_heads, T, head_dim)) into slots, one op per tensor.

        Entry n of the index tensors moves token src_pos[n] of prefill row src_row[n] to index
        dst_pos[n] of slot dst_slot[n]: this drops the left padding and fans one prompt out to
        all of its variants' slots.
        """
        for layer, (keys, values) in enumerate(layers_kv):
            self.k[layer][dst_slot, :, dst_pos] = keys[src_row, :, src_pos].to(self.shape.dtype)
            self.v[layer][dst_slot, :, dst_pos] = values[src_row, :, src_pos].to(self.shape.dtype)


class DecodeState:
    """Per-slot inputs of the decode step, as static device tensors of shape (slots,).

    The step itself advances them (tokens <- new tokens, positions and steps + 1, seen |= new),
    so the host only writes slots it refills.
    """

    def __init__(self, shape: TextShape, slots: int):
        dev = shape.device
        zeros = lambda dt: torch.zeros(slots, dtype=dt, device=dev)  # noqa: E731
        self.tokens = zeros(torch.long)  # the token each slot feeds in next
        self.positions = zeros(torch.long)  # cache index that token goes to
        self.rope_deltas = zeros(torch.long)  # mrope position = cache index + delta
        self.steps = zeros(torch.long)  # tokens the row has generated so far
        self.seeds = zeros(torch.long)
        self.temperature = zeros(torch.float32)
        self.top_p = torch.ones(slots, dtype=torch.float32, device=dev)
        self.top_k = zeros(torch.long)
        self.repetition = torch.ones(slots, dtype=torch.float32, device=dev)  # 1 = off
        self.presence = zeros(torch.float32)  # 0 = off
        self.seen = torch.zeros(slots, shape.vocab, dtype=torch.bool, device=dev)  # generated ids

    def set_sampling(self, settings: DecodeSettings) -> None:
        """The same sampling settings for every slot."""
        self.temperature.fill_(settings.temperature)
        self.top_p.fill_(settings.top_p)
        self.top_k.fill_(settings.top_k)
        self.repetition.fill_(settings.repetition_penalty)
        self.presence.fill_(settings.presence_penalty)

    def place(self, slots: list[int], first_tokens: list[int], lengths: list[int],
              deltas: list[int], seeds: list[int],
              settings: list[DecodeSettings] | None = None) -> None:
        """Start rows in `slots`: their first token (from prefill) goes to index `lengths`;
        `settings` (one per slot) are each row's own sampling settings."""
        dev = self.tokens.device
        idx = torch.tensor(slots, dtype=torch.long, device=dev)
        if settings is not None:
            for name, attr, dtype in (("temperature", "temperature", torch.float32),
                                      ("top_p", "top_p", torch.float32), ("top_k", "top_k", torch.long),
                                      ("repetition", "repetition_penalty", torch.float32),
                                      ("presence", "presence_penalty", torch.float32)):
                values = [getattr(s, attr) for s in settings]
                getattr(self, name)[idx] = torch.tensor(values, dtype=dtype, device=dev)
        first = torch.tensor(first_tokens, dtype=torch.long, device=dev)
        self.tokens[idx] = first
        self.positions[idx] = torch.tensor(lengths, dtype=torch.long, device=dev)
        self.rope_deltas[idx] = torch.tensor(deltas, dtype=torch.long, device=dev)
        self.seeds[idx] = torch.tensor(seeds, dtype=torch.long, device=dev)
        self.steps[idx] = 1  # the first token was step 0
        self.seen[idx] = False  # penalties cover this row's generated tokens only
        self.seen[idx, first] = True

    def snapshot(self) -> dict[str, torch.Tensor]:
        """Copies of what the step advances (graph warm-up runs the step for real)."""
        return {n: getattr(self, n).clone() for n in ("tokens", "positions", "steps", "seen")}

    def restore(self, saved: dict[str, torch.Tensor]) -> None:
        for name, value in saved.items():
            getattr(self, name).copy_(value)
