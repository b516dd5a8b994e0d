"""Thumbnails made off the GUI thread: a private QThreadPool, a pixmap LRU and a disk cache."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QCoreApplication, QObject, QRectF, QRunnable, QThreadPool, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPainterPath, QPen, QPixmap

from desktop_app.library import thumb_cache
from desktop_app.library.atomic import write_cache_file
from desktop_app.engine.images import ALPHA_MODES, HIGH_DEPTH_MODES, ORIENTATION_TRANSPOSE
from desktop_app.ui import video_thumbs

log = logging.getLogger(__name__)

#: Longest edge of a thumbnail in pixels (tiles scale it down to fit).
THUMB_SIZE = 256
#: Bumped when the cached thumbnail format changes, so old files are never read.
CACHE_VERSION = 1

_RESIZABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA"})


def default_cache_dir() -> Path:
    """The per-user thumbnail cache folder (`<user cache>/caption-studio/thumbs`)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("caption-studio")) / "thumbs"


def cache_file_name(path: str, size: int, mtime_ns: int, thumb_size: int) -> str:
    """The cache file (relative to the cache folder) of one version of one file.

    Args:
        path: The absolute path of the source file.
        size: Its size in bytes.
        mtime_ns: Its modification time in nanoseconds.
        thumb_size: The thumbnail's longest edge.

    Returns:
        `"ab/abcdef....thumb"`: the sha1 of all four (and the cache version), sharded by the
        first two hex digits so no folder holds 100k files.
    """
    text = f"v{CACHE_VERSION}\0{path}\0{size}\0{mtime_ns}\0{thumb_size}"
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{digest[:2]}/{digest}.thumb"


def _to_display_mode(im: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB or RGBA (high bit depths stretched to 8 bits)."""
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return im
    if mode in HIGH_DEPTH_MODES:
        if mode.startswith("I;16"):
            im = im.convert("I")
        low, high = im.getextrema()
        scale = 255.0 / (high - low) if high > low else 1.0
        return im.point(lambda v: v * scale + (-low * scale)).convert("L").convert("RGB")
    if mode in ALPHA_MODES or (mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    return im.convert("RGB")


def decode_image(path: str, thumb_size: int) -> Image.Image:
    """Decode an image file at thumbnail size (runs in a worker thread).

    JPEGs are decoded already scaled down (`Image.draft`); EXIF orientation is applied.

    Args:
        path: The image file.
        thumb_size: The longest edge of the result.

    Returns:
        An RGB or RGBA image no larger than `thumb_size` on either edge.

    Raises:
        OSError, ValueError, Image.DecompressionBombError: For unreadable files.
    """
    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (thumb_size, thumb_size))
        try:
            orientation = im.getexif().get(0x0112)
        except Exception:  # a broken EXIF block must not lose the picture
            orientation = None
        if im.mode not in _RESIZABLE_MODES:
            im = _to_display_mode(im)
        im.thumbnail((thumb_size, thumb_size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        im = _to_display_mode(im)
        if orientation in ORIENTATION_TRANSPOSE:
            im = im.transpose(ORIENTATION_TRANSPOSE[orientation])
        im.load()
        return im


def pil_to_qimage(im: Image.Image) -> QImage:
    """An RGB/RGBA Pillow image as a QImage in the format QPixmap paints fastest."""
    w, h = im.size
    if im.mode == "RGBA":
        data = im.tobytes("raw", "RGBA")
        image = QImage(data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    data = im.convert("RGB").tobytes("raw", "RGB")
    image = QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def read_cache_file(file: str, text_key: str | None = None) -> tuple[QImage, str] | None:
    """A cached thumbnail or poster and its `text_key` text ("" without one), or None when
    absent or unreadable (then it is remade). A hit marks the file recently used."""
    try:
        mtime = os.stat(file).st_mtime
    except OSError:
        return None
    reader = QImageReader(file)
    reader.setDecideFormatFromContent(True)
    text = reader.text(text_key) if text_key else ""
    image = reader.read()
    if image.isNull():
        log.debug("Unreadable cache file %s: %s", file, reader.errorString())
        return None
    thumb_cache.mark_used(file, mtime)  # recently used: the last to be pruned
    return image, text


def _read_cached(file: str) -> QImage | None:
    """A cached thumbnail, or None when absent or unreadable (then it is remade)."""
    found = read_cache_file(file)
    if found is None:
        return None
    image = found[0]
    fmt = (QImage.Format.Format_ARGB32_Premultiplied if image.hasAlphaChannel()
           else QImage.Format.Format_RGB32)
    return image.convertToFormat(fmt)


def _write_cached(file: str, im: Image.Image) -> None:
    """Write a thumbnail atomically (temp file + os.replace); failures only cost a re-decode."""
    buf = io.BytesIO()
    if im.mode == "RGBA":
        im.save(buf, format="PNG", compress_level=1)
    else:
        im.save(buf, format="JPEG", quality=85)
    write_cache_file(file, buf.getvalue())


def make_thumbnail(path: str, thumb_size: int, cache_dir: Path | None) -> QImage:
    """The thumbnail of `path` from the disk cache, else decoded and cached (worker thread).

    Raises:
        Exception: Whatever decoding an unreadable file raises.
    """
    cached = _cache_path(path, thumb_size, cache_dir)
    if cached is not None:
        image = _read_cached(cached)
        if image is not None:
            return image
    im = decode_image(path, thumb_size)
    if cached is not None:
        _write_cached(cached, im)
    return pil_to_qimage(im)


def _cache_path(path: str, thumb_size: int, cache_dir: Path | None) -> str | None:
    """The cache file of the current version of `path` (None without a cache; raises if gone)."""
    st = os.stat(path)
    if cache_dir is None:
        return None
    return os.path.join(cache_dir, cache_file_name(path, st.st_size, st.st_mtime_ns, thumb_size))


def make_video_thumbnail(path: str, thumb_size: int, cache_dir: Path | None) -> video_thumbs.Poster:
    """The poster frame and duration of a video, from the disk cache or decoded (worker thread).

    Raises:
        Exception: Whatever probing or decoding an unreadable video raises.
    """
    return video_thumbs.make_poster(path, thumb_size, _cache_path(path, thumb_size, cache_dir))


def image_to_pixmap(image: QImage) -> QPixmap:
    """Convert a worker's QImage to a QPixmap (GUI thread only)."""
    return QPixmap.fromImage(image)


class _Queue:
    """Requests shared by the GUI thread and the workers: a LIFO of pending paths."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.pending: OrderedDict[str, None] = OrderedDict()
        self.running: set[str] = set()

    def take(self, generation: int) -> str | None:
        """The most recently requested pending path, marked running (None if stale/empty)."""
        with self.lock:
            if generation != self.generation or not self.pending:
                return None
            key, _ = self.pending.popitem(last=True)
            self.running.add(key)
            return key


class _Relay(QObject):
    """Carries results from workers to the loader (it lives in the GUI thread)."""

    finished = Signal(int, str, QImage, str, float)  # generation, path, image, error, duration


class _ThumbnailJob(QRunnable):
    """Makes one thumbnail: the most recently requested one still pending when it runs."""

    def __init__(self, queue: _Queue, relay: _Relay, generation: int, thumb_size: int,
                 cache_dir: Path | None) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._queue, self._relay = queue, relay
        self._generation, self._thumb_size, self._cache_dir = generation, thumb_size, cache_dir

    def run(self) -> None:
        key = self._queue.take(self._generation)
        if key is None:
            return
        error, duration = "", -1.0  # -1: not a video
        try:
            if video_thumbs.is_video(key):
                poster = make_video_thumbnail(key, self._thumb_size, self._cache_dir)
                image, duration = poster.image, poster.duration
            else:
                image = make_thumbnail(key, self._thumb_size, self._cache_dir)
        except Exception as exc:  # any unreadable file: a broken tile, never a crash
            log.info("No thumbnail for %s: %s", key, exc)
            image, error = QImage(), getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        try:
            self._relay.finished.emit(self._generation, key, image, error, duration)
        except RuntimeError:  # the loader was deleted meanwhile
            pass


def _placeholder(kind: str, w: int = 160, h: int = 120) -> QPixmap:
    """Neutral tiles drawn once: 'loading', 'broken' and 'video'."""
    pixmap = QPixmap(w, h)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRectF(1, 1, w - 2, h - 2)
    fill = {"loading": QColor("#d6d8dc"), "broken": QColor("#f2d7d5"),
            "video": QColor("#2b2f36")}[kind]
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(rect, 6, 6)
    if kind == "broken":
        painter.setPen(QPen(QColor("#c62828"), 4))
        cx, cy, r = w / 2, h / 2, min(w, h) / 5
        painter.drawLine(int(cx - r), int(cy - r), int(cx + r), int(cy + r))
        painter.drawLine(int(cx - r), int(cy + r), int(cx + r), int(cy - r))
    elif kind == "video":
        painter.setBrush(QColor("#e0e0e0"))
        for x in range(8, w - 8, 16):  # sprocket holes
            painter.drawRect(x, 6, 8, 6)
            painter.drawRect(x, h - 12, 8, 6)
        triangle = QPainterPath()
        cx, cy, r = w / 2, h / 2, min(w, h) / 6
        triangle.moveTo(cx - r * 0.8, cy - r)
        triangle.lineTo(cx + r, cy)
        triangle.lineTo(cx - r * 0.8, cy + r)
        triangle.closeSubpath()
        painter.drawPath(triangle)
    painter.end()
    return pixmap


class ThumbnailLoader(QObject):
    """Loads thumbnails on a private thread pool and keeps them in memory and on disk.

    `request()` is cheap and deduplicated; the most recent requests run first (the tiles
    just painted). Results become QPixmaps in the GUI thread and land in an LRU; a stale
    generation (after `clear()`) is dropped. A video's thumbnail is its poster frame (about
    10% in), kept with the clip's duration (`duration()`); an unreadable file gets the broken
    tile and keeps its reason (`error()`).

    Signals:
        thumbnail_ready(str): the thumbnail (or broken placeholder) of this path is cached.
    """

    thumbnail_ready = Signal(str)

    def __init__(self, parent: QObject | None = None, *, cache_dir: str | os.PathLike[str] | None
                 | bool = None, thumb_size: int = THUMB_SIZE, max_items: int = 2000,
                 max_bytes: int = 256 * 1024 * 1024, max_pending: int | None = 512,
                 max_threads: int | None = None) -> None:
        """Create a loader.

        Args:
            parent: Qt parent.
            cache_dir: Disk cache folder; None for the per-user default, False for none.
            thumb_size: Longest edge of thumbnails.
            max_items: Most pixmaps kept in memory.
            max_bytes: Most pixel bytes kept in memory.
            max_pending: Most queued requests; the oldest are dropped (tiles long scrolled
                past; shown again, they ask again). Kept well under `max_items`, so late
                results for old requests cannot push the visible tiles out of the memory
                cache. None for no limit (e.g. to prefetch a whole folder).
            max_threads: Worker threads (default: CPU cores - 1, at least 1).
        """
        super().__init__(parent)
        if cache_dir is None:
            cache_dir = default_cache_dir()
        self._cache_dir = None if cache_dir is False else Path(cache_dir)  # type: ignore[arg-type]
        self._thumb_size = thumb_size
        self._max_items, self._max_bytes, self._max_pending = max_items, max_bytes, max_pending
        self._memory: OrderedDict[str, tuple[QPixmap, int]] = OrderedDict()  # pixmap, bytes
        self._durations: dict[str, float] = {}  # videos in `_memory` whose length is known
        self._errors: dict[str, str] = {}  # broken entries of `_memory`: why
        self._memory_bytes = 0
        self._queue = _Queue()
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_job_finished)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads or max(1, (os.cpu_count() or 2) - 1))
        self._placeholders: dict[str, QPixmap] = {}

    # -- GUI-thread API -------------------------------------------------------------------

    @property
    def cache_dir(self) -> Path | None:
        """The disk cache folder (None when disabled)."""
        return self._cache_dir

    @property
    def thumb_size(self) -> int:
        """Longest edge of the thumbnails made."""
        return self._thumb_size

    def pixmap(self, path: str | os.PathLike[str]) -> QPixmap | None:
        """The cached thumbnail of `path` (marked recently used), or None. No disk access."""
        key = os.fspath(path)
        entry = self._memory.get(key)
        if entry is not None:
            self._memory.move_to_end(key)
            return entry[0]
        return None

    def duration(self, path: str | os.PathLike[str]) -> float | None:
        """The length in seconds of a video whose poster is cached (None: unknown). No disk access."""
        return self._durations.get(os.fspath(path))

    def error(self, path: str | os.PathLike[str]) -> str:
        """Why the cached thumbnail of `path` is the broken tile ("" when it is not)."""
        return self._errors.get(os.fspath(path), "")

    def tooltip_note(self, path: str | os.PathLike[str]) -> str:
        """Tooltip lines about the file itself: a video's length, why it cannot be shown."""
        key = os.fspath(path)
        lines = []
        if video_thumbs.is_video(key):
            lines.append(video_thumbs.video_tooltip(self._durations.get(key)))
        if key in self._errors:
            lines.append(QCoreApplication.translate("ThumbnailLoader", "Cannot show: {reason}").format(
                reason=self._errors[key]))
        return "".join("\n" + line for line in lines)

    def request(self, path: str | os.PathLike[str]) -> None:
        """Queue a thumbnail (deduplicated; never emits synchronously, never blocks)."""
        key = os.fspath(path)
        if key in self._memory:
            return
        queue = self._queue
        with queue.lock:
            if key in queue.pending:
                queue.pending.move_to_end(key)  # asked again: it is on screen, do it first
                return
            if key in queue.running:
                return
            queue.pending[key] = None
            if self._max_pending is not None and len(queue.pending) > self._max_pending:
                queue.pending.popitem(last=False)
            generation = queue.generation
        self._pool.start(_ThumbnailJob(queue, self._relay, generation, self._thumb_size,
                                       self._cache_dir))

    def is_pending(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` is queued or being made."""
        key = os.fspath(path)
        with self._queue.lock:
            return key in self._queue.pending or key in self._queue.running

    def invalidate(self, path: str | os.PathLike[str]) -> None:
        """Forget the in-memory thumbnail of `path` (its file changed)."""
        key = os.fspath(path)
        entry = self._memory.pop(key, None)
        if entry is not None:
            self._memory_bytes -= entry[1]
        self._durations.pop(key, None)
        self._errors.pop(key, None)

    def clear(self) -> None:
        """Drop queued work and cached pixmaps (the folder changed); late results are ignored."""
        queue = self._queue
        with queue.lock:
            queue.generation += 1
            queue.pending.clear()
            queue.running.clear()
        self._pool.clear()
        self._memory.clear()
        self._durations.clear()
        self._errors.clear()
        self._memory_bytes = 0

    def wait_for_done(self, msecs: int = -1) -> bool:
        """Block until the workers are idle (tests, shutdown). Returns False on timeout."""
        return self._pool.waitForDone(msecs)

    def shutdown(self) -> None:
        """Drop queued work and wait for the running jobs to end."""
        self.clear()
        self._pool.waitForDone()

    def cached_count(self) -> int:
        """How many pixmaps the memory cache holds."""
        return len(self._memory)

    def placeholder_pixmap(self) -> QPixmap:
        """The tile shown while a thumbnail is being made."""
        return self._shared_placeholder("loading")

    def broken_pixmap(self) -> QPixmap:
        """The tile of a file that cannot be decoded."""
        return self._shared_placeholder("broken")

    def video_pixmap(self) -> QPixmap:
        """A neutral film tile (for views that show a video without decoding it)."""
        return self._shared_placeholder("video")

    # -- internals ------------------------------------------------------------------------

    def _shared_placeholder(self, kind: str) -> QPixmap:
        pixmap = self._placeholders.get(kind)
        if pixmap is None:
            pixmap = self._placeholders[kind] = _placeholder(kind)
        return pixmap

    @Slot(int, str, QImage, str, float)
    def _on_job_finished(self, generation: int, key: str, image: QImage, error: str,
                         duration: float) -> None:
        queue = self._queue
        with queue.lock:
            if generation != queue.generation:
                return
            queue.running.discard(key)
        self.invalidate(key)
        if error or image.isNull():
            pixmap, size = self.broken_pixmap(), 0  # shared: costs nothing per entry
            self._errors[key] = error or "cannot be decoded"
        else:
            pixmap = image_to_pixmap(image)
            size = image.sizeInBytes()
            if duration >= 0:
                self._durations[key] = duration
        self._memory[key] = (pixmap, size)
        self._memory_bytes += size
        while len(self._memory) > 1 and (len(self._memory) > self._max_items
                                         or self._memory_bytes > self._max_bytes):
            old, (_, evicted) = self._memory.popitem(last=False)
            self._memory_bytes -= evicted
            self._durations.pop(old, None)
            self._errors.pop(old, None)
        self.thumbnail_ready.emit(key)
