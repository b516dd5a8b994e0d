"""The contract between the engine and the code that runs the model on prepared inputs.

A runner turns a stream of `PreparedInput`s (prompt ids and pixels, already processed) into
token ids, reporting each decoding step through `on_tokens` and each finished caption as a
`RowDone`. Two runners exist: `GenerateRunner` (transformers' `generate()`, static batches,
works for every model) and `ContinuousRunner` (the engine's own slot-based decode loop).
Runners know nothing of files, text or events: the engine does that around them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Union

import torch


@dataclass
class PreparedInput:
    """One image's model inputs, as the processor made them, on the CPU.

    `key` is the engine's id for the image; rows are identified by (key, variant).
    """

    key: int
    input_ids: torch.Tensor  # (T,) long: the chat prompt with image tokens expanded
    mm_token_type_ids: torch.Tensor  # (T,) int: 0 text, 1 image, 2 video
    pixel_values: torch.Tensor | None  # (patches, C*temporal*patch*patch)
    image_grid_thw: torch.Tensor | None  # (images, 3)
    max_new_tokens: int
    seeds: tuple[int, ...]  # one per variant
    pixel_values_videos: torch.Tensor | None = None
    video_grid_thw: torch.Tensor | None = None
    # This input's own decoding settings (the live engine sets them per request; a runner's
    # `run()` fills in its run-wide settings where they are None).
    settings: DecodeSettings | None = None

    @property
    def visual_tokens(self) -> int:
        """Number of visual tokens in the prompt (what prefill cost grows with)."""
        return int((self.mm_token_type_ids != 0).sum())

    @property
    def variants(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class DecodeSettings:
    """How one input's rows are decoded: stop ids, sampling and penalties."""

    stop_ids: frozenset[int]
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    ignore_eos: bool = False


@dataclass(frozen=True)
class RowDone:
    """A finished caption: its tokens without the stop token; `stopped` False = hit the limit."""

    key: int
    variant: int
    token_ids: tuple[int, ...]
    stopped: bool


@dataclass(frozen=True)
class InputFailed:
    """An input the model could not run (e.g. it alone does not fit in memory)."""

    key: int
    reason: str


RunnerOutput = Union[RowDone, InputFailed]
# One call per decoding step: (key, variant, token id) for every row that produced a token.
TokenCallback = Callable[[list[tuple[int, int, int]]], None]


class Runner(Protocol):
    """Runs the model over prepared inputs; cancel is checked at least once per decoding step."""

    def run(self, inputs: Iterable[PreparedInput], settings: DecodeSettings,
            cancel: threading.Event, on_tokens: TokenCallback) -> Iterator[RunnerOutput]:
        ...


@dataclass
class RunnerStats:
    """Counters a runner keeps for benchmarks and the status bar."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    decode_steps: int = 0
    tokens: int = 0
    batches: int = 0
    extra: dict[str, float] = field(default_factory=dict)
