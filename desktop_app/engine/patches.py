"""Faster equivalents of a few Qwen3-VL modules, swapped in on the loaded model instance.

The vision tower's patch embedding is a Conv3d whose kernel equals its stride: each patch is
one dot product with the weight, i.e. a plain matrix product. cuDNN's 3-D convolution is a
slow way to do it; `F.linear` over a view of the same weight gives the same values (summed in
another order) without copying anything. The swap is per instance and undoable.
"""

from __future__ import annotations

import logging
import types
from typing import Any

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)


def _linear_patch_embed(self: Any, hidden_states: torch.Tensor) -> torch.Tensor:
    weight = self.proj.weight
    flat = hidden_states.reshape(-1, weight[0].numel()).to(weight.dtype)
    return F.linear(flat, weight.view(weight.shape[0], -1), self.proj.bias)


def use_linear_patch_embed(model: Any, enabled: bool = True) -> bool:
    """Swap the vision patch embedding's Conv3d for a matrix product (or back); True if done."""
    embed = getattr(getattr(getattr(model, "model", None), "visual", None), "patch_embed", None)
    proj = getattr(embed, "proj", None)
    if not isinstance(proj, torch.nn.Conv3d) or proj.kernel_size != proj.stride:
        return False
    if enabled:
        embed.forward = types.MethodType(_linear_patch_embed, embed)
    else:
        embed.__dict__.pop("forward", None)
    return True
