"""Memory readouts and the batch size chosen from free memory."""

from __future__ import annotations

from typing import Any

import torch

from .kv_cache import TextShape, slots_for_memory

CPU_BATCH = 8  # rows on the CPU, where more rows only add latency
PREFILL_FACTOR = 4  # generate() keeps prefill activations of every row: count them as 4x its KV


def estimated_tokens(request: Any) -> int:
    """A row's length at the pixel cap (one visual token per 32x32 pixels) plus its new tokens.

    With videos, a row can hold max_frames / 2 frame pairs of up to 768 tokens each (the
    processor's per-frame cap), so the slot count (and KV cache) is sized for that.
    """
    visual = (request.max_pixels or 1024 * 1024) // (32 * 32)
    if has_video(request):
        video = request.video
        frame = min(video.max_pixels or request.max_pixels or 1024 * 1024, 768 * 32 * 32) // (32 * 32)
        visual = max(visual, -(-video.max_frames // 2) * (frame + 8))
    return visual + 96 + request.params.max_new_tokens


def has_video(request: Any) -> bool:
    """Whether any item of `request` is a video file."""
    from .images import is_video_path

    return any(is_video_path(item.path) for item in request.items)


def auto_batch_size(loaded: Any, request: Any, kind: str) -> int:
    """Rows for the continuous runner (slots), or images per batch for generate().

    On CUDA the continuous runner's slot count depends only on memory, not on the request,
    so one runner (cache and captured graph) serves every job; on the CPU it is small.
    """
    variants = request.params.variants
    rows = max(1, len(request.items) * variants)
    if loaded.device.type != "cuda":
        fit = min(CPU_BATCH, rows) if kind == "generate" else CPU_BATCH
    else:
        free, _ = torch.cuda.mem_get_info(loaded.device)
        tokens = estimated_tokens(request)
        if kind == "continuous":
            fit = slots_for_memory(loaded.model, free, tokens)
        else:
            per_row = TextShape.of(loaded.model).kv_bytes_per_token * tokens * (1 + PREFILL_FACTOR)
            fit = min(rows, int(free * 0.5 // per_row))
    # generate() batches images, each with all its variants as rows.
    return fit if kind == "continuous" else max(1, fit // variants)


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
