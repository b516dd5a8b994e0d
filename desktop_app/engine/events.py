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


#: What can be wrong with a finished caption (`ImageCaptioned.problem`): "empty" (no text),
#: "cut" (the token limit ended it) and "reasoning_unfinished" (a Thinking model was still
#: reasoning at the limit, so there is no caption at all).
PROBLEMS = ("empty", "cut", "reasoning_unfinished")
#: The problems that leave no caption text: such a result must never replace a caption.
NO_TEXT_PROBLEMS = frozenset({"empty", "reasoning_unfinished"})


@dataclass(frozen=True)
class ImageCaptioned:
    """An image is done: its caption (first variant), every variant and how it was made.

    `finish` says how the first variant's generation ended: "stop" (the model ended it) or
    "length" (it reached max_new_tokens); empty, it follows `truncated`. `reasoning_cut`: a
    Thinking model's reasoning had not closed (`</think>`) when it ended. `problem` derives
    from them what a person must know (see `PROBLEMS`), `problem_message` says what to change.
    """

    path: Path
    caption: str
    variants: tuple[str, ...]
    truncated: bool
    reasoning: str = ""
    seconds: float = 0.0
    tokens: int = 0
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    finish: str = ""
    reasoning_cut: bool = False

    def __post_init__(self) -> None:
        if not self.finish:
            object.__setattr__(self, "finish", "length" if self.truncated else "stop")

    @property
    def problem(self) -> str | None:
        """None for a good caption, else "reasoning_unfinished", "empty" or "cut"."""
        if not self.caption.strip():
            return "reasoning_unfinished" if self.reasoning_cut else "empty"
        return "cut" if self.finish == "length" else None

    @property
    def has_text(self) -> bool:
        """Whether there is caption text to store (False: keep whatever caption there was)."""
        return self.problem not in NO_TEXT_PROBLEMS

    def problem_message(self, limit_name: str = "max new tokens") -> str:
        """What went wrong and what to change, in words (empty for a good caption).

        Args:
            limit_name: How the token limit is called where the message shows
                ("--max-new-tokens" on the command line).
        """
        problem = self.problem
        limit = (self.metadata.get("params") or {}).get("max_new_tokens")
        within = f"within {limit} tokens" if limit else "within the token limit"
        if problem == "reasoning_unfinished":
            return (f"no caption: the reasoning did not finish {within}; raise {limit_name} "
                    "(a Thinking model reasons before it captions)")
        if problem == "empty" and self.finish == "length":
            return f"no caption: the answer had not begun {within}; raise {limit_name}"
        if problem == "empty":
            return "no caption: the model answered with no text; try another prompt, seed or temperature"
        if problem == "cut":
            return f"caption cut at the token limit ({limit} tokens); raise {limit_name} for whole captions" \
                if limit else f"caption cut at the token limit; raise {limit_name} for whole captions"
        return ""


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


@dataclass(frozen=True)
class JobEnded:
    """A job of the live engine ended (its last event): `cancelled` by its caller, or
    broken as a whole with `error` (empty when it ran to its end)."""

    job_id: int
    cancelled: bool
    error: str = ""


Event = Union[StageChanged, TokensStreamed, ImageCaptioned, ImageFailed, Progress, JobEnded]
EventCallback = Callable[[Event], None]


def ignore_event(event: Event) -> None:
    """The default callback: drops every event."""
