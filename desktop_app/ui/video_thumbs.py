"""Video tiles: poster frames made in thumbnail workers, their cached duration, the tile badge."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass

from PIL import Image
from PySide6.QtCore import QCoreApplication, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath

from desktop_app.library.atomic import write_cache_file
from desktop_app.library.scan import VIDEO_EXTENSIONS


#: Where in a clip its poster frame is taken (a fraction of the duration).
POSTER_AT = 0.1
#: Clips shorter than this (seconds) show their first frame.
SHORT_CLIP_S = 2.0
#: The key of the JPEG comment holding a cached poster's video facts (Qt reads "key: value").
_COMMENT_KEY = "caption-studio-video"


@dataclass(frozen=True, slots=True)
class Poster:
    """A poster frame and the facts the tile shows (made in a worker thread)."""

    image: QImage
    duration: float  # seconds; 0 when the container does not say


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether `path` has a video extension (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def format_duration(seconds: float) -> str:
    """A clip length as a player shows it: "0:07", "1:02", "1:02:03" (whole seconds)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def poster_time(duration: float) -> float:
    """The second a clip's poster frame is taken at (its first frame for short clips)."""
    return duration * POSTER_AT if duration >= SHORT_CLIP_S else 0.0


def decode_poster(path: str, thumb_size: int) -> tuple[Image.Image, float]:
    """Probe a video and decode its poster frame at thumbnail size (worker thread).

    Returns:
        The RGB frame (no larger than `thumb_size` on either edge) and the duration.

    Raises:
        VideoLoadError: The file is not a readable video (the message says why).
    """
    from desktop_app.engine.video import probe_video, read_frame_at

    info = probe_video(path)
    duration = float(info.duration or 0.0)
    frame = read_frame_at(path, poster_time(duration), max_side=thumb_size)
    if max(frame.size) > thumb_size:
        frame.thumbnail((thumb_size, thumb_size), Image.Resampling.BICUBIC)
    if frame.mode != "RGB":
        frame = frame.convert("RGB")
    return frame, duration


def make_poster(path: str, thumb_size: int, cache_file: str | None) -> Poster:
    """The poster of a video from the disk cache, else decoded and cached (worker thread).

    Raises:
        VideoLoadError: The file is not a readable video.
    """
    if cache_file is not None:
        cached = read_cached_poster(cache_file)
        if cached is not None:
            return cached
    from desktop_app.ui.thumbnails import pil_to_qimage

    im, duration = decode_poster(path, thumb_size)
    if cache_file is not None:
        write_cached_poster(cache_file, im, duration)
    return Poster(pil_to_qimage(im), duration)


def read_cached_poster(file: str) -> Poster | None:
    """A cached poster and its duration, or None when absent, unreadable or from another format."""
    from desktop_app.ui.thumbnails import read_cache_file

    found = read_cache_file(file, _COMMENT_KEY)
    if found is None:
        return None
    image, text = found
    try:
        duration = float(json.loads(text or "null")["duration"])
    except (ValueError, TypeError, KeyError):
        return None
    return Poster(image.convertToFormat(QImage.Format.Format_RGB32), duration)


def write_cached_poster(file: str, im: Image.Image, duration: float) -> None:
    """Write a poster JPEG with its duration in a comment, atomically; failures only cost a re-decode."""
    comment = f"{_COMMENT_KEY}: {json.dumps({'duration': duration})}".encode()
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85, comment=comment)
    write_cache_file(file, buf.getvalue())


class VideoBadge:
    """Paints a video tile's mark: a play glyph and the clip's duration, on a dark pill.

    Fonts and brushes are made once per font; `paint` is cheap enough for every tile paint.
    """

    def __init__(self, font: QFont) -> None:
        self.set_font(font)
        self._brush = QBrush(QColor(0, 0, 0, 165))

    def set_font(self, font: QFont) -> None:
        """Use the tile's caption font (bold) for the duration."""
        self._font = QFont(font)
        self._font.setBold(True)
        self._fm = QFontMetrics(self._font)

    def paint(self, painter: QPainter, picture: QRect, duration: float | None,
              bounds: QRect | None = None) -> None:
        """Paint the badge in the bottom-left corner of `picture` (the drawn poster's rect).

        Args:
            painter: The tile's painter.
            picture: Where the poster (or placeholder) was drawn.
            duration: The clip's length in seconds; None while unknown (only the glyph shows).
            bounds: The thumbnail box; a badge wider than a narrow (portrait) poster is
                centred on it and kept inside this box.
        """
        fm = self._fm
        bounds = bounds or picture
        h = fm.height() + 2
        glyph = round(h * 0.5)  # the play triangle's height
        text = format_duration(duration) if duration else ""
        w = glyph + 12 + (fm.horizontalAdvance(text) + 4 if text else 0)
        if w > bounds.width() - 8:  # a tiny tile: the glyph alone
            text, w = "", glyph + 12
        x = picture.x() + 4
        if w > picture.width() - 8:
            x = max(bounds.x() + 4, min(picture.center().x() - w // 2, bounds.right() - 4 - w))
        box = QRect(x, picture.bottom() - 3 - h, w, h)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._brush)
        painter.drawRoundedRect(box, 4, 4)
        x, cy = box.x() + 6, box.center().y() + 0.5
        triangle = QPainterPath()
        triangle.moveTo(x, cy - glyph / 2)
        triangle.lineTo(x + glyph * 0.9, cy)
        triangle.lineTo(x, cy + glyph / 2)
        triangle.closeSubpath()
        painter.setBrush(QColor("white"))
        painter.drawPath(triangle)
        if text:
            painter.setFont(self._font)
            painter.setPen(QColor("white"))
            painter.drawText(QRectF(x + glyph + 4, box.y(), fm.horizontalAdvance(text) + 4, h),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.restore()


def video_tooltip(duration: float | None) -> str:
    """The tile tooltip's video line ("Video, 0:12")."""
    if not duration:
        return QCoreApplication.translate("VideoTiles", "Video")
    return QCoreApplication.translate("VideoTiles", "Video, {duration}").format(
        duration=format_duration(duration))
