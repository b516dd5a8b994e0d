"""Read video files with PyAV: probe them, grab one frame, sample frames by fps for the model.

Every failure is a `VideoLoadError` (a kind of `ImageLoadError`) naming the file and a reason a
person understands, so a bad video fails alone wherever a bad image does.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image

from .images import ImageLoadError, _check_file, fit_within

log = logging.getLogger(__name__)

#: Default sampling: Qwen3-VL was trained on 2 frames per second; 64 frames keep a 2B-class
#: model's prompt near 16k visual tokens at the processor's default budget.
DEFAULT_FPS = 2.0
DEFAULT_MAX_FRAMES = 64
DEFAULT_MIN_FRAMES = 4
#: The vision encoder merges frames in pairs (temporal patch size 2).
FRAME_MULTIPLE = 2
#: Decode forward rather than seek when the next wanted frame is nearer than this.
SEEK_GAP_S = 4.0

# Leading bytes of containers we read, to tell a cut-off video from a file that is none.
_SIGNATURES = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (0, b"RIFF"), (4, b"moov"), (4, b"mdat"),
               (4, b"wide"), (4, b"free"))


class VideoLoadError(ImageLoadError):
    """A video file that cannot be opened or decoded (path and reason, like ImageLoadError)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says: duration (s), frame rate, frame count, displayed size (a quarter
    turn from its display matrix applied), codec name."""

    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class SampledVideo:
    """Frames sampled from a video, their stream frame indices and times (s), and its info."""

    frames: list[Image.Image]
    timestamps: list[float]
    indices: list[int]
    info: VideoInfo


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's headers and decode its first frame (for its rotation, and to know it decodes).

    Raises:
        VideoLoadError: Missing, empty, not a video, no video stream, unknown codec, or no
            frame decodes.
    """
    path = Path(path)
    with _open(path) as (container, stream, info):
        first = next(_decode_from(container, stream, None, info), None)
        if first is None:
            raise VideoLoadError(path, "cannot decode any video frame")
        return _upright(info, first[0])


def read_frame_at(path: str | os.PathLike[str], seconds: float,
                  max_side: int | None = None) -> Image.Image:
    """The frame shown at `seconds` (clamped to the video), as RGB, for posters and scrubbing.

    Seeks to the keyframe before `seconds` and decodes forward to it. `max_side` shrinks the
    frame (keeping its aspect ratio) so its longer side is at most that many pixels.

    Raises:
        VideoLoadError: The file cannot be opened or no frame can be decoded.
        ValueError: `max_side` is not positive.
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    path = Path(path)
    with _open(path) as (container, stream, info):
        seconds = min(max(0.0, float(seconds)), info.duration)
        target = _index_of(seconds, info)
        frame = None
        for frame, index in _decode_from(container, stream, seconds, info):
            if index >= target:
                break
        if frame is None:
            raise VideoLoadError(path, "cannot decode any video frame")
        size = (frame.width, frame.height)
        if max_side is not None and max(size) > max_side:
            scale = max_side / max(size)
            size = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
        return _to_image(frame, size)


def sample_frames(path: str | os.PathLike[str], fps: float = DEFAULT_FPS,
                  max_frames: int = DEFAULT_MAX_FRAMES, start: float | None = None,
                  end: float | None = None, max_pixels: int | None = None,
                  min_frames: int = DEFAULT_MIN_FRAMES,
                  frame_multiple: int = FRAME_MULTIPLE) -> SampledVideo:
    """Decode frames evenly spread over [start, end] at about `fps` frames per second.

    The count is ``int(span * fps)`` (as Qwen3-VL's processor counts), raised to `min_frames`,
    capped at `max_frames` and at the frames the span holds, then rounded down to a multiple
    of `frame_multiple` (a one-frame video repeats its frame). Frames are resized to at most
    `max_pixels` pixels each, the same budget images get.

    Raises:
        VideoLoadError: The file is bad, `start` lies past its end, or its data ends early.
        ValueError: An argument is out of range.
    """
    _check_sampling(fps, max_frames, start, end, max_pixels, min_frames, frame_multiple)
    path = Path(path)
    with _open(path) as (container, stream, info):
        indices = _plan(path, info, fps, max_frames, start, end, min_frames, frame_multiple)
        frames, last = _decode_indices(path, container, stream, info, indices, max_pixels)
    return SampledVideo(frames=frames, timestamps=[i / info.fps for i in indices],
                        indices=indices, info=_upright(info, last))


def _check_sampling(fps: float, max_frames: int, start: float | None, end: float | None,
                    max_pixels: int | None, min_frames: int, frame_multiple: int) -> None:
    checks = [
        (fps > 0 and math.isfinite(fps), f"fps must be positive, got {fps}"),
        (frame_multiple >= 1, f"frame_multiple must be at least 1, got {frame_multiple}"),
        (max_frames >= frame_multiple, f"max_frames must be at least {frame_multiple}, got {max_frames}"),
        (min_frames >= 1, f"min_frames must be at least 1, got {min_frames}"),
        (start is None or start >= 0, f"start must be >= 0 seconds, got {start}"),
        (end is None or end > 0, f"end must be > 0 seconds, got {end}"),
        (start is None or end is None or end > start, f"end ({end}) must be after start ({start})"),
        (max_pixels is None or max_pixels >= 1, f"max_pixels must be positive, got {max_pixels}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _plan(path: Path, info: VideoInfo, fps: float, max_frames: int, start: float | None,
          end: float | None, min_frames: int, multiple: int) -> list[int]:
    """The stream frame indices to sample, in order (repeats only for very short videos)."""
    t0 = start or 0.0
    t1 = info.duration if end is None else min(end, info.duration)
    if t0 >= info.duration:
        raise VideoLoadError(path, f"start {t0:g} s is past the end of the video ({info.duration:.2f} s)")
    first = min(info.frame_count - 1, math.ceil(t0 * info.fps - 1e-6))
    last = max(first, min(info.frame_count - 1, math.ceil(t1 * info.fps - 1e-6) - 1))
    available = last - first + 1
    count = min(max(int((t1 - t0) * fps), min_frames), max_frames, available)
    count = max(multiple, count - count % multiple)
    if count == 1:
        return [first]
    return [round(first + (last - first) * k / (count - 1)) for k in range(count)]


def _decode_indices(path: Path, container: Any, stream: Any, info: VideoInfo,
                    indices: list[int], max_pixels: int | None) -> tuple[list[Image.Image], Any]:
    """Decode the frames at `indices` (sorted): forward through short gaps, seeking over long ones.

    Returns the frames (upright) and the last decoded frame (for its rotation)."""
    size = fit_within((info.width, info.height), max_pixels) if max_pixels else (info.width, info.height)
    frames: list[Image.Image] = []
    decoded: Iterator[tuple[Any, int]] | None = None
    last: tuple[Any, int] | None = None
    sought = -1  # the target last sought to: a long GOP must not make us seek forever
    while len(frames) < len(indices):
        target = indices[len(frames)]
        here = -1 if last is None else last[1]
        if target != sought and (target - max(here, 0)) / info.fps > SEEK_GAP_S:
            decoded, sought = _decode_from(container, stream, target / info.fps, info), target
        elif decoded is None:
            decoded = _decode_from(container, stream, None, info)
        item = next(decoded, None)
        if item is None:  # the stream ended
            _fill_tail(path, info, indices, len(frames), last, frames, size)
            break
        last = item
        while len(frames) < len(indices) and last[1] >= indices[len(frames)]:
            frames.append(_to_image(last[0], size))
    assert last is not None  # _fill_tail raised otherwise
    return frames, last[0]


def _fill_tail(path: Path, info: VideoInfo, indices: list[int], want: int,
               last: tuple[Any, int] | None, frames: list[Image.Image], size: tuple[int, int]) -> None:
    """The stream ended before frame `indices[want]`: a frame or two short (headers round the
    count) repeats the last frame; more means the file was cut off."""
    if last is None:
        raise VideoLoadError(path, "cannot decode any video frame")
    frame, index = last
    slack = max(2, round(0.25 * info.fps))
    if indices[-1] - index > slack:
        raise VideoLoadError(path, f"truncated: video data ends at {index / info.fps:.2f} s "
                                   f"of {info.duration:.2f} s")
    frames.extend(_to_image(frame, size) for _ in indices[want:])


def _decode_from(container: Any, stream: Any, seconds: float | None,
                 info: VideoInfo) -> Iterator[tuple[Any, int]]:
    """Decoded frames with their stream frame index, after seeking near `seconds` if given."""
    import av

    start = stream.start_time or 0
    if seconds is not None and seconds > 0:
        try:
            container.seek(start + int(seconds / stream.time_base), stream=stream, backward=True)
        except av.error.FFmpegError:  # an unseekable file still decodes forward, only slower
            log.debug("cannot seek in %s; decoding forward", container.name, exc_info=True)
    index = -1
    try:
        for frame in container.decode(stream):
            # A frame without a time (some AVIs) follows the one before it.
            index = index + 1 if frame.pts is None else \
                _index_of(float((frame.pts - start) * stream.time_base), info)
            yield frame, index
    except av.error.FFmpegError as exc:
        path = Path(container.name)
        raise VideoLoadError(path, f"cannot decode video data: {_ffmpeg_message(exc)}") from exc


def _index_of(seconds: float, info: VideoInfo) -> int:
    return max(0, round(seconds * info.fps))


def _to_image(frame: Any, size: tuple[int, int]) -> Image.Image:
    """An RGB image of `frame` scaled to `size` (as coded; swscale resizes), then turned upright."""
    w, h = size
    image = frame.to_image(width=w, height=h, interpolation="AREA" if w < frame.width else None)
    turn = _rotation(frame) % 360
    if turn:
        image = image.rotate(turn, expand=True)
    return image


def _upright(info: VideoInfo, frame: Any) -> VideoInfo:
    """`info` with the displayed size: width and height swap for a quarter-turned video."""
    if _rotation(frame) % 180:
        return replace(info, width=info.height, height=info.width)
    return info


def _rotation(frame: Any) -> int:
    try:
        return int(round(frame.rotation or 0))
    except Exception:  # noqa: BLE001 - broken side data must not lose the pixels
        return 0


@contextmanager
def _open(path: Path) -> Iterator[tuple[Any, Any, VideoInfo]]:
    """The opened container, its first video stream and its info; closed on exit."""
    import av

    try:
        _check_file(path)
    except VideoLoadError:
        raise
    except ImageLoadError as exc:
        raise VideoLoadError(path, exc.reason) from exc
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise VideoLoadError(path, _open_reason(path, exc)) from exc
    except OSError as exc:
        raise VideoLoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        stream = _video_stream(path, container)
        info = _info(path, container, stream)
        yield container, stream, info
    finally:
        container.close()


def _video_stream(path: Path, container: Any) -> Any:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        has = f" (it has only {', '.join(kinds)})" if kinds else ""
        raise VideoLoadError(path, f"no video stream{has}")
    stream = container.streams.video[0]
    codec = stream.codec_context
    if codec is None or not getattr(codec, "name", None) or codec.name == "none":
        raise VideoLoadError(path, "unknown video codec (no decoder in this FFmpeg build, "
                                   "or a damaged header)")
    stream.thread_type = "AUTO"  # frame + slice threads: 1.8x on 2 cores for 640x360 h264
    return stream


def _info(path: Path, container: Any, stream: Any) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    count = int(stream.frames or 0)
    if fps <= 0 and count and duration > 0:
        fps = count / duration
    if fps <= 0 or not math.isfinite(fps):
        raise VideoLoadError(path, "cannot tell the video's frame rate")
    if count <= 0:
        count = max(1, round(duration * fps))
    if duration <= 0:
        duration = count / fps
    codec = stream.codec_context
    width, height = int(codec.width or 0), int(codec.height or 0)
    if width <= 0 or height <= 0:
        raise VideoLoadError(path, f"video stream has no frame size ({codec.name})")
    return VideoInfo(duration=duration, fps=fps, frame_count=count, width=width, height=height,
                     codec=str(codec.name))


def _open_reason(path: Path, exc: Exception) -> str:
    import av

    if isinstance(exc, av.error.DecoderNotFoundError):
        return "unknown video codec (no decoder in this FFmpeg build)"
    if isinstance(exc, av.error.PermissionError):
        return "permission denied"
    if isinstance(exc, av.error.FileNotFoundError):
        return "file not found"
    message = _ffmpeg_message(exc)
    if _looks_like_video(path):
        return f"truncated or corrupt video file ({message})"
    return f"not a video file or an unknown format ({message})"


def _looks_like_video(path: Path) -> bool:
    try:
        with open(path, "rb") as fp:
            head = fp.read(16)
    except OSError:
        return False
    return any(head[at:at + len(magic)] == magic for at, magic in _SIGNATURES)


def _ffmpeg_message(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__
