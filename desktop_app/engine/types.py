"""What a caption request is made of: generation parameters, items and the request itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings shared by every image of a request.

    `temperature == 0` means greedy decoding. `seed` is combined with each image's path and
    variant number, so an image gets the same caption whatever else is in its batch.
    `ignore_eos` makes every caption run to its token limit (benchmarks only).
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    seed: int = 0
    variants: int = 1
    ignore_eos: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first parameter out of range."""
        checks = [
            (self.max_new_tokens >= 1, "max_new_tokens must be at least 1"),
            (self.temperature >= 0, "temperature must be >= 0"),
            (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
            (self.top_k >= 0, "top_k must be >= 0 (0 = off)"),
            (self.repetition_penalty > 0, "repetition_penalty must be > 0"),
            (self.variants >= 1, "variants must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-able values (for generation metadata)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class VideoOptions:
    """How video files of a request become frames: about `fps` frames a second, at most
    `max_frames`, from `start` to `end` seconds (None = the whole video).

    `max_pixels` caps each frame before the processor sees it (None = the request's image
    budget); the processor then fits all frames into its own total budget. The defaults follow
    Qwen3-VL's training (2 fps) and keep a 2B-class model's prompt near 12k visual tokens.
    """

    fps: float = 2.0
    max_frames: int = 64
    start: float | None = None
    end: float | None = None
    max_pixels: int | None = None

    def validate(self) -> None:
        """Raise ValueError naming the first setting out of range."""
        checks = [
            (self.fps > 0 and self.fps <= 60, "video fps must be in (0, 60]"),
            (self.max_frames >= 2, "video max_frames must be at least 2"),
            (self.start is None or self.start >= 0, "video start must be >= 0 seconds"),
            (self.end is None or self.end > 0, "video end must be > 0 seconds"),
            (self.start is None or self.end is None or self.end > self.start,
             "video end must be after its start"),
            (self.max_pixels is None or self.max_pixels >= 32 * 32,
             "video max_pixels must be at least 1024 (32x32)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class CaptionItem:
    """One image to caption; `max_new_tokens` overrides the request's limit for it alone.

    `extra_paths`: more images sent with `path` in the same chat turn, in order, before the
    prompt (a multi-image comparison); the result is reported under `path`.
    `seed`: this item's own sampling seed. With it, the caption depends only on the image,
    prompt, settings and this seed (not on the file's path, nor on who submitted it); without
    it, the request's seed is mixed with the path so each file of a folder differs.
    """

    path: Path
    max_new_tokens: int | None = None
    prompt: str | None = None
    extra_paths: tuple[Path, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class CaptionRequest:
    """A list of images plus the prompt and parameters to caption them with.

    `max_pixels` caps each image's size before the processor sees it (the visual-token
    budget: one token per 32x32 pixels). `batch_size=None` lets the engine choose.
    `video` says how video items (chosen by file suffix) are sampled into frames.
    `thinking` is the chat template's `enable_thinking` (Qwen3.5/3.6); None keeps the
    template's default. A template without the switch ignores it.
    """

    items: tuple[CaptionItem, ...]
    prompt: str = "Describe this image in detail."
    system_prompt: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    max_pixels: int | None = 1024 * 1024
    batch_size: int | None = None
    video: VideoOptions = field(default_factory=VideoOptions)
    thinking: bool | None = None

    @classmethod
    def for_paths(cls, paths: Sequence[str | Path], **kwargs: Any) -> "CaptionRequest":
        """A request captioning `paths` with the same prompt and parameters."""
        return cls(items=tuple(CaptionItem(Path(p)) for p in paths), **kwargs)

    def with_params(self, **changes: Any) -> "CaptionRequest":
        """A copy with some generation parameters changed."""
        return replace(self, params=replace(self.params, **changes))


def row_seed(base_seed: int, path: Path, variant: int) -> int:
    """A 31-bit seed for one caption: stable across runs, batches and machines."""
    key = f"{base_seed}\0{Path(path).as_posix()}\0{variant}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little") & 0x7FFFFFFF


def item_seeds(item: CaptionItem, params: GenerationParams) -> tuple[int, ...]:
    """One 31-bit seed per variant of `item` (see `CaptionItem.seed`)."""
    if item.seed is not None:
        return tuple(explicit_seed(item.seed, v) for v in range(params.variants))
    return tuple(row_seed(params.seed, item.path, v) for v in range(params.variants))


def explicit_seed(seed: int, variant: int) -> int:
    """A 31-bit row seed from a caller's own seed: the seed itself for the first variant."""
    if variant == 0 and 0 <= seed <= 0x7FFFFFFF:
        return seed
    key = f"{seed}\0{variant}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little") & 0x7FFFFFFF
