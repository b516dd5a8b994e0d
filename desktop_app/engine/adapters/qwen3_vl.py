"""Qwen3-VL (dense) and Qwen3-VL-MoE: the decode loop's way into transformers' modules.

transformers notes (where this module depends on them; tested on 5.17 and 5.25, see
docs/transformers-versions.md for the whole list):
- The language model's forward takes the cache as `past_key_values` up to 5.23 and as `cache`
  from 5.24 (the old name still works until 5.40, with a warning on every call): the name is
  read from the signature at load time. The output's `.past_key_values` field became `.cache`
  in 5.24 without an alias, which is why the prefill keeps its own `DynamicCache` object
  instead of reading it back from the output.
- `DynamicCache.layers[i].keys/values` hold (B, kv_heads, T, head_dim) per layer (unchanged
  through 5.25).
- `get_rope_index(input_ids, mm_token_type_ids, image_grid_thw, video_grid_thw,
  attention_mask=...)` returns (3, B, T) mrope positions and (B, 1) rope deltas; passing the
  positions explicitly keeps the model's cached `rope_deltas` untouched.
- `apply_rotary_pos_emb(q, k, cos, sin)` and `rotary_emb(x, position_ids (3, S, 1))` as in 5.17.
- The MoE text layer's `mlp` is a sparse block returning one tensor, like the dense MLP; its
  routing is data dependent, so the MoE step is not captured in a CUDA graph.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..kv_cache import DecodeState, SlotCache
from .base import AdapterError, ModelAdapter, Prefill

# Attention kernels for the masked decode attention: on CUDA flash refuses masks, so this is
# memory-efficient attention (math as the fallback); keeping cuDNN attention out of the
# captured graph makes the kernel choice predictable. On CPU: its flash kernel or math.
SDPA_BACKENDS = [SDPBackend.EFFICIENT_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]
# "matmul" (default) or "sdpa" (above): two batched matrix products around a masked softmax read
# each slot's K/V once with no query tiling (a query here is only heads/kv_heads rows long).
# Measured on an H200, 2B bf16: 8.57 vs 9.30 ms a step at 64 slots, 11.40 vs 13.29 at 128.
DECODE_ATTENTION = os.environ.get("CAPTION_STUDIO_DECODE_ATTENTION", "matmul")

_LAYER_ATTRS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "self_attn.q_norm", "self_attn.k_norm", "self_attn.head_dim", "self_attn.scaling",
                "input_layernorm", "post_attention_layernorm", "mlp")


def _rotary_module(family_module: str):
    import importlib

    module = importlib.import_module(f"transformers.models.{family_module}.modeling_{family_module}")
    fn = getattr(module, "apply_rotary_pos_emb", None)
    if fn is None:
        raise AdapterError(f"transformers.models.{family_module} has no apply_rotary_pos_emb")
    return fn


class Qwen3VLAdapter(ModelAdapter):
    """Qwen3-VL dense: HF's vision tower, deepstack and mrope in the prefill; per-layer HF
    modules (norms, projections, q/k norms, rotary, MLP) in the decode step."""

    family = "qwen3_vl"
    transformers_module = "qwen3_vl"

    def __init__(self, model: Any):
        super().__init__(model)
        what = f"{self.family} adapter"
        self.core = self.require(model, "model", what)
        self.lm = self.require(self.core, "language_model", what)
        for name in ("embed_tokens", "layers", "norm", "rotary_emb"):
            self.require(self.lm, name, what)
        self.require(model, "lm_head", what)
        self.require(self.core, "get_rope_index", what)
        for i, layer in enumerate(self.lm.layers):
            for attr in _LAYER_ATTRS:
                self.require(layer, attr, f"{what} (decoder layer {i})")
        self.merge = int(self.require(model, "config.vision_config.spatial_merge_size", what))
        self.apply_rotary = _rotary_module(self.transformers_module)
        params = inspect.signature(self.core.forward).parameters
        self.cache_kwarg = next((n for n in ("past_key_values", "cache") if n in params), None)
        if self.cache_kwarg is None:
            raise AdapterError(f"{what}: the model's forward takes neither past_key_values nor cache")

    # ------------------------------------------------------------------------ prefill
    def prefill(self, ids, mask, types, pixels, grid, video, video_grid) -> Prefill:
        logits, kv, deltas = forward_prefill(self, ids, mask, types, pixels, grid, video, video_grid)
        return Prefill(logits, [(layer.keys, layer.values) for layer in kv.layers], deltas)

    # ---------------------------------------------------------------------- decode step
    def step_logits(self, cache: SlotCache, state: DecodeState) -> torch.Tensor:
        lm = self.lm
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
                x = x + self._attention(layer.self_attn, layer.input_layernorm(x), cos, sin, k_cache,
                                        v_cache, write_at, visible)
                x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.model.lm_head(lm.norm(x)[:, 0]).float()  # (S, vocab)

    def _attention(self, attn, h, cos, sin, k_cache, v_cache, write_at, visible) -> torch.Tensor:
        """One layer's self-attention for one new token per slot; h is (S, 1, hidden)."""
        slots, head_dim, kv_heads = h.shape[0], attn.head_dim, k_cache.shape[1]
        q = attn.q_norm(attn.q_proj(h).view(slots, 1, -1, head_dim)).transpose(1, 2)
        k = attn.k_norm(attn.k_proj(h).view(slots, 1, -1, head_dim)).transpose(1, 2)
        v = attn.v_proj(h).view(slots, 1, -1, head_dim).transpose(1, 2)
        q, k = self.apply_rotary(q, k, cos, sin)  # (S, heads, 1, head_dim)
        k_cache.scatter_(2, write_at, k)  # each slot writes at its own position: one kernel
        v_cache.scatter_(2, write_at, v)
        # Query head h uses KV head h // n_rep (HF's repeat_kv order), so (S, heads, 1, D)
        # viewed as (S, kv_heads, n_rep, D) shares each KV head without copying the cache.
        q = q.reshape(slots, kv_heads, -1, head_dim)
        if DECODE_ATTENTION == "matmul":
            scores = torch.matmul(q, k_cache.transpose(-1, -2)).float() * attn.scaling
            probs = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
            out = torch.matmul(probs.to(v_cache.dtype), v_cache)
        else:
            out = F.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=visible, scale=attn.scaling)
        return attn.o_proj(out.reshape(slots, 1, -1))


class Qwen3VLMoeAdapter(Qwen3VLAdapter):
    """Qwen3-VL-MoE (30B-A3B, 235B-A22B): the same layer layout; the sparse MLP routes per token."""

    family = "qwen3_vl_moe"
    transformers_module = "qwen3_vl_moe"
    graph_safe = False


def forward_prefill(adapter: Any, ids, mask, types, pixels, grid, video, video_grid) -> tuple[Any, Any, list[int]]:
    """The model's own forward over a left-padded group, for adapters of the Qwen3-VL layout
    (`adapter.core`, `.model`, `.shape`, `.cache_kwarg`): (last-token logits, the filled
    DynamicCache, each row's rope delta). Each adapter reads its own layers from the cache."""
    from transformers import DynamicCache

    dev = adapter.shape.device
    # Positions as generate() builds them (text row from the mask, 3-D mrope rows), passed
    # explicitly so the model's cached rope_deltas are neither used nor overwritten.
    mrope, deltas = adapter.core.get_rope_index(ids, types, _cpu(grid), _cpu(video_grid), attention_mask=mask)
    text = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
    cache = DynamicCache(config=adapter.model.config.get_text_config())
    out = adapter.core(input_ids=ids.to(dev), attention_mask=mask.to(dev),
                       position_ids=torch.cat([text[None], mrope]).to(dev), use_cache=True,
                       pixel_values=pixels, image_grid_thw=_to(grid, dev),
                       pixel_values_videos=video, video_grid_thw=_to(video_grid, dev),
                       mm_token_type_ids=types.to(dev), **{adapter.cache_kwarg: cache})
    logits = adapter.model.lm_head(out.last_hidden_state[:, -1])  # left padded: last is real
    return logits, cache, [int(d) for d in deltas.reshape(-1).tolist()]


def _cpu(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.cpu()


def _to(t: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if t is None else t.to(device)
