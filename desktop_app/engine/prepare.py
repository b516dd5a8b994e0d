"""Turning an image file into model inputs: pixels on worker threads, ids on the caller's."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from .images import ImageLoadError, is_video_path, load_image
from .prompts import render_prompt
from .runner import PreparedInput
from .template_ids import PromptPieces
from .types import VideoOptions
from .video_input import VideoInputs, VideoPixels


class InputBuilder:
    """Builds `PreparedInput`s for one request.

    `pixels()` decodes and preprocesses one image; it is thread-safe and runs on the prefetch
    pool. `build()` tokenises the prompt around the image's visual tokens; it runs on the
    engine's thread (tokenizers are not safe to share between threads). The prompt's ids are
    cached per distinct prompt text: a folder with one prompt tokenises it once.
    """

    def __init__(self, processor: Any, prompt: str, system_prompt: str | None,
                 max_pixels: int | None, root: Path | None = None, video: VideoOptions | None = None,
                 thinking: bool | None = None):
        self.processor = processor
        self.prompt, self.system_prompt = prompt, system_prompt
        self.max_pixels, self.root = max_pixels, root
        self.image_token_id = int(processor.image_token_id)
        self.merge = int(processor.image_processor.merge_size) ** 2
        self.pieces = PromptPieces(processor, system_prompt, thinking)
        self.video = VideoInputs(processor, system_prompt, video or VideoOptions(), max_pixels, root,
                                 pieces=self.pieces)

    def pixels(self, path: Path) -> tuple[torch.Tensor, torch.Tensor] | VideoPixels:
        """Decode `path` and preprocess it: (pixel_values, image_grid_thw), or a video's pixels."""
        if is_video_path(path):
            return self.video.pixels(path)
        image = load_image(path, self.max_pixels)
        try:
            out = self.processor.image_processor(images=[image], return_tensors="pt")
        except Exception as exc:  # noqa: BLE001 - any processor failure belongs to this file
            raise ImageLoadError(path, f"cannot preprocess image ({image.width}x{image.height}): {exc}") from exc
        return out["pixel_values"], out["image_grid_thw"]

    def build(self, key: int, path: Path, pixels: tuple[torch.Tensor, torch.Tensor],
              max_new_tokens: int, seeds: tuple[int, ...], prompt: str | None = None) -> PreparedInput:
        """Model inputs for one image (or video) whose pixels are ready."""
        if isinstance(pixels, VideoPixels):
            return self.video.build(key, path, pixels, prompt or self.prompt, max_new_tokens, seeds)
        pixel_values, grid = pixels
        before, after = self.pieces.ids(render_prompt(prompt or self.prompt, path, self.root))
        n_visual = int(grid.prod()) // self.merge
        ids = torch.tensor(before + [self.image_token_id] * n_visual + after, dtype=torch.long)
        types = (ids == self.image_token_id).to(torch.int)
        return PreparedInput(key=key, input_ids=ids, mm_token_type_ids=types,
                             pixel_values=pixel_values, image_grid_thw=grid,
                             max_new_tokens=max_new_tokens, seeds=seeds)

    def prompt_text(self, prompt: str) -> str:
        """The chat-template text for one prompt, with a single image placeholder."""
        return self.pieces.text(prompt)

    def opens_thinking(self) -> bool:
        """Whether the generation prompt leaves a reasoning block open (ends with `<think>`):
        the model then writes reasoning, `</think>`, then the caption."""
        return self.prompt_text(self.prompt).rstrip().endswith("<think>")

    # -- several images in one turn (multi-image comparison) ----------------------------------
    def with_extra_images(self, path: Path, first: Any, extra_paths: Sequence[Path]) -> Any:
        """`path`'s pixels followed by those of `extra_paths` (a comparison), or the ImageLoadError
        (on `path`, its reason naming the file) that fails the whole group."""
        if not isinstance(first, tuple):
            return ImageLoadError(path, "only images can be compared")
        try:
            more = self.pixels_many(extra_paths)
        except ImageLoadError as exc:
            return ImageLoadError(path, exc.reason)
        return torch.cat([first[0], more[0]]), torch.cat([first[1], more[1]])

    def pixels_many(self, paths: Sequence[Path]) -> tuple[torch.Tensor, torch.Tensor]:
        """Several images' pixels concatenated, with one image_grid_thw row per image.

        Any unreadable image fails the whole group: ImageLoadError on the first path, its
        reason naming the file that failed.
        """
        parts = []
        for path in paths:
            try:
                parts.append(self.pixels(path))
            except ImageLoadError as exc:
                raise ImageLoadError(paths[0], f"{exc.path.name}: {exc.reason}") from exc
            except Exception as exc:  # noqa: BLE001 - prefetch would name the wrong file
                raise ImageLoadError(paths[0], f"{Path(path).name}: {exc}") from exc
        return torch.cat([p for p, _ in parts]), torch.cat([g for _, g in parts])

    def build_many(self, key: int, paths: Sequence[Path], pixels: tuple[torch.Tensor, torch.Tensor],
                   max_new_tokens: int, seeds: tuple[int, ...], prompt: str | None = None) -> PreparedInput:
        """Model inputs for several images in one user turn, the prompt after them.

        The ids are the chat template's text with each image's placeholder expanded to that
        image's visual-token count, in order: what the processor gives for the same messages.
        """
        pixel_values, grid = pixels
        if grid.shape[0] != len(paths):
            raise ValueError(f"{len(paths)} images but {grid.shape[0]} image grids")
        pieces = self.pieces.ids(render_prompt(prompt or self.prompt, Path(paths[0]), self.root), count=len(paths))
        ids: list[int] = list(pieces[0])
        for row, piece in zip(grid, pieces[1:]):
            ids += [self.image_token_id] * (int(row.prod()) // self.merge) + piece
        tensor = torch.tensor(ids, dtype=torch.long)
        return PreparedInput(key=key, input_ids=tensor,
                             mm_token_type_ids=(tensor == self.image_token_id).to(torch.int),
                             pixel_values=pixel_values, image_grid_thw=grid,
                             max_new_tokens=max_new_tokens, seeds=seeds)

    def multi_prompt_text(self, prompt: str, count: int) -> str:
        """The chat-template text for `count` images then `prompt`, one placeholder per image."""
        return self.pieces.text(prompt, count=count)

