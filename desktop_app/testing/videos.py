"""Small generated video files for tests and benchmarks (PyAV writes them; nothing is stored)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

#: Containers by suffix and an encoder this PyAV wheel has for each.
CODECS = {".mp4": "h264", ".mkv": "h264", ".mov": "h264", ".avi": "mpeg4", ".webm": "vp8"}


def frame_pixels(index: int, width: int, height: int) -> np.ndarray:
    """Frame `index` of a test video: a colour that changes with time and a moving bar."""
    yy, xx = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[..., 0] = (index * 7) % 256
    frame[..., 1] = (xx * 255 // max(1, width - 1)).astype(np.uint8)
    frame[..., 2] = (yy * 255 // max(1, height - 1)).astype(np.uint8)
    bar = (index * 3) % width
    frame[:, bar:bar + max(1, width // 8)] = 255
    return frame


def write_video(path: str | Path, seconds: float = 2.0, fps: int = 10, size: tuple[int, int] = (64, 48),
                codec: str | None = None, audio: bool = False, gop: int | None = None,
                exact: bool = True, rotation: int = 0) -> Path:
    """Write a test video of `seconds` at `fps` and `size` (w, h); the codec follows the suffix.

    `exact` encodes near-losslessly so tests can tell frames apart by colour; False keeps the
    encoder's defaults (typical bitrates, what benchmarks should decode). `rotation` (degrees
    counter-clockwise) goes in the display matrix, as phones record portrait video."""
    import av

    path = Path(path)
    width, height = size
    frames = max(1, round(seconds * fps))
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec or CODECS.get(path.suffix.lower(), "h264"), rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if exact:
            stream.bit_rate = 8_000_000
            if stream.codec_context.name in ("h264", "libx264"):
                stream.options = {"crf": "4"}
            elif stream.codec_context.name == "mpeg4":
                stream.codec_context.qscale = 1
        if rotation:
            stream.set_display_rotation(rotation)
        if gop is not None:
            stream.codec_context.gop_size = gop
        sound = _add_audio(container) if audio else None
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, width, height), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            _write_audio(container, sound, seconds)
    return path


def write_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """An audio-only file (a sine tone) with a video suffix: a video file with no video stream."""
    import av

    path = Path(path)
    with av.open(str(path), mode="w", format=_format_for(path)) as container:
        _write_audio(container, _add_audio(container), seconds)
    return path


_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm", ".avi": "avi"}
_AUDIO_CODECS = {"webm": "libopus", "avi": "mp2"}  # else aac
_RATE, _CHUNK = 48000, 960


def _format_for(path: Path) -> str | None:
    return _FORMATS.get(path.suffix.lower())


def _add_audio(container: Any) -> Any:
    stream = container.add_stream(_AUDIO_CODECS.get(container.format.name, "aac"), rate=_RATE)
    stream.layout = "mono"
    return stream


def _write_audio(container: Any, stream: Any, seconds: float) -> None:
    """A 440 Hz tone, converted to whatever sample format the encoder takes."""
    import av

    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=_RATE)
    for t in range(0, int(seconds * _RATE), _CHUNK):
        samples = np.sin(2 * np.pi * 440 * (np.arange(t, t + _CHUNK) / _RATE)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate, frame.pts = _RATE, t
        for converted in resampler.resample(frame):
            container.mux(stream.encode(converted))
    container.mux(stream.encode(None))
