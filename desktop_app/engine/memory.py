"""Memory readouts and the batch size chosen from free memory."""

from __future__ import annotations

from typing import Any

import torch

CPU_BATCH = 8
MAX_BATCH = 256


def kv_bytes_per_token(model: Any) -> int:
    """Bytes of KV cache one token takes across all layers."""
    text = getattr(model.config, "text_config", model.config)
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    size = torch.finfo(model.dtype).bits // 8 if model.dtype.is_floating_point else 2
    return 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * size


def estimated_prompt_tokens(max_pixels: int | None) -> int:
    """Prompt length for an image at the pixel cap: one visual token per 32x32 pixels."""
    return (max_pixels or 1024 * 1024) // (32 * 32) + 96


def auto_batch_size(loaded: Any, request: Any, fraction: float = 0.5) -> int:
    """Rows that fit: on CUDA from free memory (KV cache plus working room), else a fixed 8."""
    rows = max(1, len(request.items) * request.params.variants)
    if loaded.device.type != "cuda":
        return min(CPU_BATCH, rows)
    free, _ = torch.cuda.mem_get_info(loaded.device)
    tokens = estimated_prompt_tokens(request.max_pixels) + request.params.max_new_tokens
    # Prefill activations of the vision tower and the prompt are counted as 4x the KV cache.
    per_row = kv_bytes_per_token(loaded.model) * tokens * 5
    fit = int(free * fraction // per_row)
    return max(1, min(MAX_BATCH, fit, rows))


def memory_summary(device: torch.device | None = None) -> dict[str, float]:
    """GPU (allocated/reserved/total) and process RAM in GB, for status bars and reports."""
    out: dict[str, float] = {}
    try:
        import psutil

        out["ram_gb"] = psutil.Process().memory_info().rss / 1e9
    except ImportError:
        pass
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        free, total = torch.cuda.mem_get_info()
        out.update(gpu_allocated_gb=torch.cuda.memory_allocated() / 1e9,
                   gpu_reserved_gb=torch.cuda.memory_reserved() / 1e9, gpu_total_gb=total / 1e9,
                   gpu_free_gb=free / 1e9)
    return out
