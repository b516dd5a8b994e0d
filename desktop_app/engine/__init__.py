"""The caption engine: Qwen3-VL loading, batched generation, streaming. No Qt here.

Names are imported on first use, so a torch-free part (`engine.images`, `engine.hub`,
`engine.prompts`) can be imported without loading torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CaptionEngine": ".engine", "RUNNERS": ".engine",
    "Event": ".events", "EventCallback": ".events", "ImageCaptioned": ".events",
    "ImageFailed": ".events", "Progress": ".events", "StageChanged": ".events",
    "TokensStreamed": ".events",
    "LoadedModel": ".loading", "LoadOptions": ".loading", "ModelLoadError": ".loading",
    "DEFAULT_MODEL": ".models", "KNOWN_MODELS": ".models", "ModelSpec": ".models",
    "resolve_model": ".models",
    "CaptionItem": ".types", "CaptionRequest": ".types", "GenerationParams": ".types",
    "VideoOptions": ".types",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from .engine import RUNNERS, CaptionEngine
    from .events import (Event, EventCallback, ImageCaptioned, ImageFailed, Progress,
                         StageChanged, TokensStreamed)
    from .loading import LoadedModel, LoadOptions, ModelLoadError
    from .models import DEFAULT_MODEL, KNOWN_MODELS, ModelSpec, resolve_model
    from .types import CaptionItem, CaptionRequest, GenerationParams, VideoOptions


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
