"""Qwen3.5 / Qwen3.6 (dense) and Qwen3.5-MoE: the hybrid family's way into transformers' modules.

The text decoder repeats three Gated-DeltaNet (linear attention) layers and one gated
full-attention layer. Per slot, the attention layers keep K/V rows in the `SlotCache` as for
Qwen3-VL; each linear layer keeps a fixed-size state instead (`slot_states`): its causal-conv
window (conv channels x kernel, model dtype) and its recurrent matrix (value heads x key dim
x value dim, float32), filled from the prefill and advanced in place by every decode step.

transformers notes (5.17, where this module depends on them):
- The prefill runs the model's own forward with a `DynamicCache` built from the text config:
  `layers[i]` is a `LinearAttentionLayer` with `conv_states[0]` (B, conv_dim, kernel) and
  `recurrent_states[0]` (B, v_heads, k_dim, v_dim) for a linear layer, a `DynamicLayer` with
  `keys`/`values` (B, kv_heads, T, head_dim) for an attention layer. Left padding is safe:
  the linear layers zero the hidden states of padded positions, so a padded row's conv window
  and recurrent state equal those of the row alone.
- The decode step follows `Qwen3_5GatedDeltaNet.forward`'s single-token path
  (`causal_conv1d_update`, `torch_recurrent_gated_delta_rule`) in plain torch ops with
  fixed shapes, and `Qwen3_5Attention.forward` (q_proj gives query and output gate; partial
  rotary through the module's `apply_rotary_pos_emb`).
- Positions and rope deltas come from `get_rope_index` as for Qwen3-VL; the forward's cache
  argument is `past_key_values` in 5.17 (`cache` later: read from the signature).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel

from ..kv_cache import DecodeState, SlotCache, SlotStates
from .base import AdapterError, ModelAdapter, Prefill
from .qwen3_vl import DECODE_ATTENTION, SDPA_BACKENDS, _rotary_module, forward_prefill

_ATTENTION_ATTRS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "self_attn.q_norm", "self_attn.k_norm", "self_attn.head_dim", "self_attn.scaling")
_LINEAR_ATTRS = ("linear_attn.in_proj_qkv", "linear_attn.in_proj_z", "linear_attn.in_proj_b",
                 "linear_attn.in_proj_a", "linear_attn.conv1d", "linear_attn.dt_bias",
                 "linear_attn.A_log", "linear_attn.norm", "linear_attn.out_proj",
                 "linear_attn.num_k_heads", "linear_attn.num_v_heads", "linear_attn.head_k_dim",
                 "linear_attn.head_v_dim", "linear_attn.key_dim", "linear_attn.value_dim",
                 "linear_attn.conv_kernel_size", "linear_attn.activation")
_COMMON_ATTRS = ("input_layernorm", "post_attention_layernorm", "mlp")
KINDS = ("linear_attention", "full_attention")


class Qwen35Adapter(ModelAdapter):
    """Qwen3.5 dense: HF's vision tower, mrope and both layer kinds in the prefill; per-layer
    HF modules (norms, projections, gated RMS norm, MLP) around a fixed-shape recurrent and
    attention step in the decode."""

    family = "qwen3_5"
    transformers_module = "qwen3_5"

    def __init__(self, model: Any):
        super().__init__(model)
        what = f"{self.family} adapter"
        self.core = self.require(model, "model", what)
        self.lm = self.require(self.core, "language_model", what)
        for name in ("embed_tokens", "layers", "norm", "rotary_emb"):
            self.require(self.lm, name, what)
        self.require(model, "lm_head", what)
        self.require(self.core, "get_rope_index", what)
        text = model.config.get_text_config()
        self.kinds = list(self.require(text, "layer_types", what))[: len(self.lm.layers)]
        if len(self.kinds) != len(self.lm.layers) or set(self.kinds) - set(KINDS):
            raise AdapterError(f"{what}: unknown layer types {sorted(set(self.kinds) - set(KINDS))} "
                               f"or {len(self.kinds)} types for {len(self.lm.layers)} layers")
        for i, (layer, kind) in enumerate(zip(self.lm.layers, self.kinds)):
            own = _LINEAR_ATTRS if kind == "linear_attention" else _ATTENTION_ATTRS
            for attr in own + _COMMON_ATTRS:
                self.require(layer, attr, f"{what} (decoder layer {i}, {kind})")
        if self.shape.layers != self.kinds.count("full_attention"):
            raise AdapterError(f"{what}: the cache shape counts {self.shape.layers} attention layers")
        self.merge = int(self.require(model, "config.vision_config.spatial_merge_size", what))
        self.apply_rotary = _rotary_module(self.transformers_module)
        params = inspect.signature(self.core.forward).parameters
        self.cache_kwarg = next((n for n in ("past_key_values", "cache") if n in params), None)
        if self.cache_kwarg is None:
            raise AdapterError(f"{what}: the model's forward takes neither past_key_values nor cache")

    # ------------------------------------------------------------------- per-slot states
    def slot_states(self, slots: int) -> SlotStates:
        """Per linear layer, in layer order: conv window (slots, conv_dim, kernel) in the model's
        dtype, recurrent matrix (slots, v_heads, k_dim, v_dim) in float32."""
        dev, dtype = self.shape.device, self.shape.dtype
        tensors = []
        for layer, kind in zip(self.lm.layers, self.kinds):
            if kind != "linear_attention":
                continue
            la = layer.linear_attn
            conv_dim = 2 * la.key_dim + la.value_dim
            tensors.append(torch.zeros((slots, conv_dim, la.conv_kernel_size), dtype=dtype, device=dev))
            tensors.append(torch.zeros((slots, la.num_v_heads, la.head_k_dim, la.head_v_dim),
                                       dtype=torch.float32, device=dev))
        return SlotStates(tensors)

    # ------------------------------------------------------------------------ prefill
    def prefill(self, ids, mask, types, pixels, grid, video, video_grid) -> Prefill:
        logits, cache, deltas = forward_prefill(self, ids, mask, types, pixels, grid, video, video_grid)
        kv, states = [], []
        for layer, kind in zip(cache.layers, self.kinds):
            if kind == "full_attention":
                kv.append((layer.keys, layer.values))
            else:
                states += [layer.conv_states[0], layer.recurrent_states[0]]
        return Prefill(logits, kv, deltas, states)

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
        kv = iter(zip(cache.k, cache.v))
        states = iter(cache.states.tensors)
        with sdpa_kernel(SDPA_BACKENDS):
            for layer, kind in zip(lm.layers, self.kinds):
                h = layer.input_layernorm(x)
                if kind == "linear_attention":
                    x = x + self._linear(layer.linear_attn, h, next(states), next(states))
                else:
                    k_cache, v_cache = next(kv)
                    x = x + self._attention(layer.self_attn, h, cos, sin, k_cache, v_cache, write_at, visible)
                mlp = layer.mlp(layer.post_attention_layernorm(x))
                x = x + (mlp[0] if isinstance(mlp, tuple) else mlp)
        return self.model.lm_head(lm.norm(x)[:, 0]).float()  # (S, vocab)

    @staticmethod
    def _linear(la, h, conv_state, recurrent) -> torch.Tensor:
        """One Gated-DeltaNet layer for one new token per slot; h is (S, 1, hidden). Advances
        `conv_state` (S, conv_dim, kernel) and `recurrent` (S, v_heads, k_dim, v_dim) in place."""
        slots = h.shape[0]
        mixed = la.in_proj_qkv(h)[:, 0]  # (S, conv_dim)
        z = la.in_proj_z(h).reshape(slots, 1, -1, la.head_v_dim)
        beta = la.in_proj_b(h)[:, 0].sigmoid()  # (S, v_heads)
        # As HF: in float32, or A might be -inf in half precision.
        g = -la.A_log.float().exp() * F.softplus(la.in_proj_a(h)[:, 0].float() + la.dt_bias)
        # Causal conv over the window [state, new]: the new window is its last `kernel` columns.
        window = torch.cat([conv_state, mixed[:, :, None].to(conv_state.dtype)], dim=-1)
        conv_state.copy_(window[:, :, 1:])
        # The depthwise conv and its activation in the weights' dtype, as HF's forward does
        # (products summed in float32 instead give bf16 logits 2-5x further from HF's).
        weight = la.conv1d.weight  # (conv_dim, 1, kernel)
        conv = F.conv1d(window[:, :, 1:].to(weight.dtype), weight, la.conv1d.bias, groups=weight.shape[0])
        conv = _activation(la.activation)(conv[:, :, 0]).to(h.dtype)
        query, key, value = torch.split(conv, [la.key_dim, la.key_dim, la.value_dim], dim=-1)
        # l2norm per key head before sharing key heads among value heads (HF's order of the
        # two gives the same vectors), and HF's query scaling by the key head size.
        query = _l2norm(query.reshape(slots, -1, la.head_k_dim).float()) * la.head_k_dim ** -0.5
        key = _l2norm(key.reshape(slots, -1, la.head_k_dim).float())
        value = value.reshape(slots, -1, la.head_v_dim).float()
        if la.num_v_heads // la.num_k_heads > 1:
            query = query.repeat_interleave(la.num_v_heads // la.num_k_heads, dim=1)
            key = key.repeat_interleave(la.num_v_heads // la.num_k_heads, dim=1)
        # The gated delta rule for one token, with S the state (k_dim x v_dim) and d = exp(g):
        #   S' = d S + k delta^T,  delta = beta (v - d S^T k),  out = S'^T q
        #      = d S^T q + (q . k) delta.
        # One read of S gives S^T k and S^T q; then S is scaled and updated in place (no copy
        # of the largest tensor of the step).
        decay = g.exp()[:, :, None]  # (S, v_heads, 1)
        read = torch.matmul(torch.stack([key, query], dim=2), recurrent)  # (S, v_heads, 2, v_dim)
        delta = value.addcmul(decay, read[:, :, 0], value=-1) * beta.float()[:, :, None]
        out = torch.addcmul(decay * read[:, :, 1], torch.linalg.vecdot(query, key)[:, :, None], delta)
        recurrent.mul_(decay[:, :, :, None])
        flat = recurrent.view(-1, la.head_k_dim, la.head_v_dim)
        flat.baddbmm_(key.reshape(-1, la.head_k_dim, 1), delta.reshape(-1, 1, la.head_v_dim))
        out = out.to(h.dtype)  # (S, v_heads, v_dim)
        out = la.norm(out.reshape(-1, la.head_v_dim), z.reshape(-1, la.head_v_dim))
        return la.out_proj(out.reshape(slots, 1, -1))

    def _attention(self, attn, h, cos, sin, k_cache, v_cache, write_at, visible) -> torch.Tensor:
        """One gated attention layer for one new token per slot; h is (S, 1, hidden)."""
        slots, head_dim, kv_heads = h.shape[0], attn.head_dim, k_cache.shape[1]
        q, gate = torch.chunk(attn.q_proj(h).view(slots, 1, -1, head_dim * 2), 2, dim=-1)
        gate = gate.reshape(slots, 1, -1)
        q = attn.q_norm(q).transpose(1, 2)
        k = attn.k_norm(attn.k_proj(h).view(slots, 1, -1, head_dim)).transpose(1, 2)
        v = attn.v_proj(h).view(slots, 1, -1, head_dim).transpose(1, 2)
        q, k = self.apply_rotary(q, k, cos, sin)  # (S, heads, 1, head_dim)
        k_cache.scatter_(2, write_at, k)  # each slot writes at its own position: one kernel
        v_cache.scatter_(2, write_at, v)
        # Query head h uses KV head h // n_rep (HF's repeat_kv order): no copy of the cache.
        q = q.reshape(slots, kv_heads, -1, head_dim)
        if DECODE_ATTENTION == "matmul":
            scores = torch.matmul(q, k_cache.transpose(-1, -2)).float() * attn.scaling
            probs = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
            out = torch.matmul(probs.to(v_cache.dtype), v_cache)
        else:
            out = F.scaled_dot_product_attention(q, k_cache, v_cache, attn_mask=visible, scale=attn.scaling)
        out = out.reshape(slots, 1, -1) * torch.sigmoid(gate)
        return attn.o_proj(out)


class Qwen35MoeAdapter(Qwen35Adapter):
    """Qwen3.5-MoE (35B-A3B, 122B-A10B): the same layers; each MLP is a routed sparse block
    with a shared expert. Routing is data dependent, so the step is not captured in a graph."""

    family = "qwen3_5_moe"
    transformers_module = "qwen3_5_moe"
    graph_safe = False


def _l2norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """As HF's (and the FLA library's) l2norm of the gated delta rule."""
    return x * torch.rsqrt((x * x).sum(dim=-1, keepdim=True) + eps)


def _activation(name: str):
    from transformers.activations import ACT2FN

    return ACT2FN[name]
