"""The caption engine: Qwen3-VL loading, batched generation, streaming. No Qt here."""

from .engine import RUNNERS, CaptionEngine
from .events import (Event, EventCallback, ImageCaptioned, ImageFailed, Progress, StageChanged,
                     TokensStreamed)
from .loading import LoadedModel, LoadOptions, ModelLoadError
from .models import DEFAULT_MODEL, KNOWN_MODELS, ModelSpec, resolve_model
from .types import CaptionItem, CaptionRequest, GenerationParams

__all__ = [
    "CaptionEngine", "RUNNERS", "Event", "EventCallback", "ImageCaptioned", "ImageFailed",
    "Progress", "StageChanged", "TokensStreamed", "LoadedModel", "LoadOptions",
    "ModelLoadError", "DEFAULT_MODEL", "KNOWN_MODELS", "ModelSpec", "resolve_model",
    "CaptionItem", "CaptionRequest", "GenerationParams",
]
