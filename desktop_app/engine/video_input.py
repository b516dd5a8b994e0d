"""Turning a video file into Qwen3-VL inputs, exactly as the processor's text expansion does.

`processor(text=..., videos=..., video_metadata=...)` replaces the chat template's one
`<|video_pad|>` with, per temporal patch (2 frames), `<{t:.1f} seconds>` then
`<|vision_start|>`, the patch's visual tokens and `<|vision_end|>`, where t is the mean time
of the patch's frames (frame index / native fps). From transformers 5.25 on, the processor
first collapses the template's `<|vision_start|><|video_pad|><|vision_end|>` to the bare
`<|video_pad|>` (5.17-5.24 keep that outer pair around all the frames); `VideoInputs` asks the
installed processor which it does. `VideoInputs` builds the same ids piecewise
(the chat halves once per prompt, each timestamp string once) around pixels the video
processor made on the prefetch pool. Tests compare both against the processor's own output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .prompts import render_prompt, video_wording
from .runner import PreparedInput
from .template_ids import PromptPieces
from .types import VideoOptions
from .video import SampledVideo, VideoLoadError, sample_frames

#: Passed to the video processor: the reference (qwen-vl-utils) per-frame pixel cap, which
#: becomes transformers' default in 5.22 (without it, few-frame clips keep near-native size).
PROCESSOR_KWARGS = {"do_sample_frames": False, "cap_pixels_per_frame": True}


@dataclass
class VideoPixels:
    """A preprocessed video: patches, its (1, 3) grid and the time (s) of each temporal patch."""

    pixel_values: torch.Tensor
    grid: torch.Tensor
    timestamps: list[float]
    frames: int


def video_metadata(sampled: SampledVideo) -> Any:
    """The `VideoMetadata` the processor needs to put timestamps in the prompt."""
    from transformers.video_utils import VideoMetadata

    info = sampled.info
    return VideoMetadata(total_num_frames=info.frame_count, fps=info.fps, width=info.width,
                         height=info.height, duration=info.duration, video_backend="pyav",
                         frames_indices=list(sampled.indices))


def patch_timestamps(indices: list[int], fps: float, temporal: int) -> list[float]:
    """Each temporal patch's time: the mean of its first and last frame (padded with the last),
    as `Qwen3VLProcessor._calculate_timestamps` computes it."""
    padded = list(indices) + [indices[-1]] * (-len(indices) % temporal)
    times = [i / fps for i in padded]
    return [(times[k] + times[k + temporal - 1]) / 2 for k in range(0, len(times), temporal)]


def _collapses_video_wrapper(processor: Any) -> bool:
    """Whether the processor drops the template's <|vision_start|>/<|vision_end|> around a
    video's frames (transformers >= 5.25) rather than keeping them (5.17-5.24)."""
    wrapper = f"{processor.vision_start_token}{processor.video_token}{processor.vision_end_token}"
    try:
        texts, _ = processor.get_text_with_replacements([f"a{wrapper}b"], videos_replacements=["X"])
    except Exception:  # noqa: BLE001 - no such method: the older behaviour
        return False
    return texts[0] == "aXb"


class VideoInputs:
    """Video pixels (thread-safe, on the prefetch pool) and prompt ids (on the engine thread)."""

    def __init__(self, processor: Any, system_prompt: str | None, options: VideoOptions,
                 image_max_pixels: int | None, root: Path | None = None,
                 pieces: PromptPieces | None = None):
        self.processor = processor
        self.system_prompt, self.root = system_prompt, root
        self.options = options
        self.max_pixels = options.max_pixels or image_max_pixels
        video = processor.video_processor
        self.temporal = int(video.temporal_patch_size)
        self.merge = int(video.merge_size) ** 2
        self.video_token_id = int(processor.video_token_id)
        self.start_id = int(processor.vision_start_token_id)
        self.end_id = int(processor.vision_end_token_id)
        self.pieces = pieces or PromptPieces(processor, system_prompt)
        self.drop_outer_pair = _collapses_video_wrapper(processor)
        self._stamps: dict[str, list[int]] = {}

    def sample(self, path: Path) -> SampledVideo:
        """Decode the request's frames of `path` (VideoLoadError if it cannot be read)."""
        o = self.options
        return sample_frames(path, fps=o.fps, max_frames=o.max_frames, start=o.start, end=o.end,
                             max_pixels=self.max_pixels, frame_multiple=self.temporal)

    def pixels(self, path: Path) -> VideoPixels:
        """Decode, sample and preprocess one video."""
        sampled = self.sample(path)
        frames = np.stack([np.asarray(frame) for frame in sampled.frames])
        try:
            out = self.processor.video_processor(videos=[frames], video_metadata=[video_metadata(sampled)],
                                                 return_tensors="pt", **PROCESSOR_KWARGS)
        except Exception as exc:  # noqa: BLE001 - any processor failure belongs to this file
            size = f"{len(sampled.frames)} frames of {sampled.frames[0].width}x{sampled.frames[0].height}"
            raise VideoLoadError(path, f"cannot preprocess video ({size}): {exc}") from exc
        stamps = patch_timestamps(sampled.indices, sampled.info.fps, self.temporal)
        grid = out["video_grid_thw"]
        if int(grid[0, 0]) != len(stamps):
            raise VideoLoadError(path, f"the processor made {int(grid[0, 0])} temporal patches "
                                       f"from {len(sampled.frames)} frames")
        return VideoPixels(out["pixel_values_videos"], grid, stamps, len(sampled.frames))

    def build(self, key: int, path: Path, pixels: VideoPixels, prompt: str,
              max_new_tokens: int, seeds: tuple[int, ...]) -> PreparedInput:
        """Model inputs for one video whose pixels are ready; `prompt` as the request gave it."""
        text = render_prompt(video_wording(prompt), path, self.root)
        before, after = self.pieces.ids(text, media="video")
        if self.drop_outer_pair and before[-1:] == [self.start_id] and after[:1] == [self.end_id]:
            before, after = before[:-1], after[1:]
        per_patch = int(pixels.grid[0, 1:].prod()) // self.merge
        ids = list(before)
        for seconds in pixels.timestamps:
            ids += self._stamp_ids(seconds)
            ids += [self.start_id] + [self.video_token_id] * per_patch + [self.end_id]
        ids += after
        input_ids = torch.tensor(ids, dtype=torch.long)
        types = (input_ids == self.video_token_id).to(torch.int) * 2
        return PreparedInput(key=key, input_ids=input_ids, mm_token_type_ids=types,
                             pixel_values=None, image_grid_thw=None,
                             max_new_tokens=max_new_tokens, seeds=seeds,
                             pixel_values_videos=pixels.pixel_values, video_grid_thw=pixels.grid)

    def prompt_text(self, prompt: str) -> str:
        """The chat-template text for one prompt with a single video placeholder."""
        return self.pieces.text(prompt, media="video")

    def _stamp_ids(self, seconds: float) -> list[int]:
        text = f"<{seconds:.1f} seconds>"
        ids = self._stamps.get(text)
        if ids is None:
            ids = self._stamps[text] = self.pieces.encode(text)
        return ids
