"""Events the engine reports through its callback: small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union


@dataclass(frozen=True)
class StageChanged:
    """The engine entered a stage (download, load, warmup, captioning, idle)."""

    stage: str
    detail: str = ""


@dataclass(frozen=True)
class TokensStreamed:
    """New text of one caption in flight (`variant` counts from 0).

    `reasoning` marks a Thinking model's reasoning, which is kept apart from the caption.
    """

    path: Path
    text: str
    variant: int = 0
    reasoning: bool = False


@dataclass(frozen=True)
class ImageCaptioned:
    """An image is done: its caption (first variant), every variant and how it was made."""

    path: Path
    caption: str
    variants: tuple[str, ...]
    truncated: bool
    reasoning: str = ""
    seconds: float = 0.0
    tokens: int = 0
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ImageFailed:
    """An image could not be captioned; `reason` says why in words a person understands."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Progress:
    """How far the current job is: finished counts and the rate so far."""

    done: int
    failed: int
    total: int
    images_per_s: float
    eta_s: float | None


Event = Union[StageChanged, TokensStreamed, ImageCaptioned, ImageFailed, Progress]
EventCallback = Callable[[Event], None]


def ignore_event(event: Event) -> None:
    """The default callback: drops every event."""
