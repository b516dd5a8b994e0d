"""The caption panel's video player: frame previews decoded off the GUI thread, a scrub slider,
play/pause and the time.

The installed PySide6 (Essentials) has no QtMultimedia, so playing is stepping: a QTimer asks
for the frame at the current time about ten times a second, one frame is decoded at a time
on a private thread, and a request overtaken by a newer one is dropped before it is decoded.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget

from . import style
from .video_thumbs import format_duration

log = logging.getLogger(__name__)

#: Frames shown per second while playing (each one decoded on demand).
PREVIEW_FPS = 10
#: Longest edge frames are decoded at (enough for the panel on a large screen).
FRAME_EDGE = 1280

_PLAY = '<path fill="currentColor" d="M8 5.5v13a1 1 0 0 0 1.5.86l10.2-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z"/>'
_PAUSE = ('<rect fill="currentColor" x="6.5" y="5" width="4" height="14" rx="1.2"/>'
          '<rect fill="currentColor" x="13.5" y="5" width="4" height="14" rx="1.2"/>')


class FrameSink(Protocol):
    """Where the player shows frames (the caption panel's `PreviewView`)."""

    def set_pixmap(self, pixmap: QPixmap | None, text: str = "") -> None: ...

    def pixmap(self) -> QPixmap | None: ...


def video_meta(info: Any) -> list[str]:
    """The caption panel's meta parts of a video: duration, frame rate, resolution."""
    fps = f"{info.fps:.2f}".rstrip("0").rstrip(".")
    return [format_duration(info.duration), QCoreApplication.translate("VideoPlayer", "{fps} fps").format(fps=fps),
            f"{info.width} × {info.height}"]


def _icon(body: str) -> QIcon:
    result = QIcon()
    for size in (16, 20, 24):
        for mode, colour in ((QIcon.Mode.Normal, style.TEXT), (QIcon.Mode.Disabled, style.FAINT)):
            text = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">{body}</svg>'
            result.addPixmap(style.render_svg(text.replace("currentColor", colour), size), mode)
    return result


@dataclass
class _Requests:
    """What the decoding thread should do next (shared with the GUI thread under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    session: int = 0  # bumped per opened file: results of an older one are dropped
    path: Path | None = None
    probe: bool = False  # read the headers first
    frame: tuple[int, float] | None = None  # (request id, seconds): only the newest is kept
    running: bool = False  # a job is draining the requests


class _Relay(QObject):
    """Carries the decoding thread's results to the player (lives in the GUI thread)."""

    probed = Signal(int, object, str)  # session, VideoInfo or None, error
    decoded = Signal(int, int, QImage, str)  # session, request id, frame (null on error), error


class _DecodeJob(QRunnable):
    """Drains the requests: the probe first, then the newest frame, until none is left."""

    def __init__(self, requests: _Requests, relay: _Relay) -> None:
        super().__init__()
        self._requests, self._relay = requests, relay

    def run(self) -> None:
        from desktop_app.engine.video import probe_video, read_frame_at

        from .thumbnails import pil_to_qimage

        requests = self._requests
        while True:
            with requests.lock:
                session, path = requests.session, requests.path
                probe, frame = requests.probe, requests.frame
                requests.probe = False
                if not probe:
                    requests.frame = None
                if path is None or (not probe and frame is None):
                    requests.running = False
                    return
            try:
                if probe:
                    info, error = None, ""
                    try:
                        info = probe_video(path)
                    except Exception as exc:  # a bad file: the player says why
                        error = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                    self._relay.probed.emit(session, info, error)
                else:
                    assert frame is not None
                    image, error = QImage(), ""
                    try:
                        image = pil_to_qimage(read_frame_at(path, frame[1], max_side=FRAME_EDGE))
                    except Exception as exc:
                        error = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                    self._relay.decoded.emit(session, frame[0], image, error)
            except RuntimeError:  # the player is gone
                with requests.lock:
                    requests.running = False
                return


class VideoPlayer(QWidget):
    """Play/pause, a scrub slider and "0:03 / 0:12" under a frame sink, for one video at a time.

    `open(path)` probes the file and shows its first frame; scrubbing shows the frame under the
    slider; playing steps at `PREVIEW_FPS` in real time (frames that cannot keep up are
    skipped, never queued). Every decode runs on one private thread.

    Signals:
        info_changed(object): the shown video's `VideoInfo` (None when it cannot be read).
        frame_shown(float): a frame decoded at this time (seconds) is on screen.
    """

    info_changed = Signal(object)
    frame_shown = Signal(float)

    def __init__(self, sink: FrameSink, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self._requests = _Requests()
        self._relay = _Relay(self)
        self._relay.probed.connect(self._on_relay_probed)
        self._relay.decoded.connect(self._on_relay_decoded)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._info: Any = None
        self._position = 0.0  # seconds
        self._next_id = 0
        self._asked = 0  # id of the newest frame request
        self._shown = 0  # id of the newest frame on screen (or failed)
        self._times: dict[int, float] = {}  # request id -> seconds, for requests in flight
        self._clock = 0.0  # monotonic time of the last playback step
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // PREVIEW_FPS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._play_icon, self._pause_icon = _icon(_PLAY), _icon(_PAUSE)
        self._build()
        self._set_enabled(False)

    def _build(self) -> None:
        self.play_button = QToolButton()
        self.play_button.setObjectName("flat")
        self.play_button.setIcon(self._play_icon)
        self.play_button.setIconSize(QSize(20, 20))
        self.play_button.setToolTip(self.tr("Play / pause (Space on the slider)"))
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(self.tr("Drag to scrub; arrow keys step a frame"))
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.time_label = QLabel()
        self.time_label.setObjectName("muted")
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._fit_time_label("0:00")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    # -- public API -------------------------------------------------------------------------
    @property
    def info(self) -> Any:
        """The shown video's `VideoInfo` (None until probed, or when it cannot be read)."""
        return self._info

    @property
    def position(self) -> float:
        """The time shown by the slider, in seconds."""
        return self._position

    def is_playing(self) -> bool:
        """Whether frames are being stepped through."""
        return self._timer.isActive()

    def open(self, path: Path, poster: QPixmap | None = None) -> None:
        """Show another video: its `poster` (or "Loading…") until the first frame is decoded."""
        self.pause()
        self._info, self._position = None, 0.0
        self._times.clear()
        self._set_slider(0, 0)
        self._update_time()
        self._set_enabled(False)
        self._sink.set_pixmap(poster, self.tr("Loading…"))
        with self._requests.lock:
            self._requests.session += 1
            self._requests.path, self._requests.probe = Path(path), True
            self._requests.frame = None
        self._request_frame(0.0)

    def close_video(self) -> None:
        """Stop showing a video (decoding still running finishes and is dropped)."""
        self.pause()
        self._info = None
        with self._requests.lock:
            self._requests.session += 1
            self._requests.path, self._requests.probe, self._requests.frame = None, False, None

    def seek(self, seconds: float) -> None:
        """Show the frame at `seconds` (clamped to the video)."""
        if self._info is not None:
            seconds = min(max(0.0, seconds), self._info.duration)
        self._position = seconds
        self._set_slider(round(seconds * 1000))
        self._update_time()
        self._request_frame(seconds)

    def play(self) -> None:
        """Step through the video from the current time (from the start when at its end)."""
        if self._info is None or self.is_playing():
            return
        if self._position >= self._info.duration - 1e-3:
            self.seek(0.0)
        self._clock = time.monotonic()
        self._timer.start()
        self.play_button.setIcon(self._pause_icon)

    def pause(self) -> None:
        """Stop stepping (the current frame stays)."""
        self._timer.stop()
        self.play_button.setIcon(self._play_icon)

    @Slot()
    def toggle(self) -> None:
        """Play when paused, pause when playing."""
        if self.is_playing():
            self.pause()
        else:
            self.play()

    def shutdown(self) -> None:
        """Drop pending work and wait for a frame being decoded (at exit)."""
        self.close_video()
        self._pool.waitForDone()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- internals --------------------------------------------------------------------------
    def _request_frame(self, seconds: float) -> None:
        self._next_id += 1
        self._asked = self._next_id
        self._times[self._asked] = seconds
        requests = self._requests
        with requests.lock:
            requests.frame = (self._asked, seconds)  # an older request not yet taken is dropped
            start = not requests.running and requests.path is not None
            requests.running = requests.running or start
        if start:
            self._pool.start(_DecodeJob(requests, self._relay))

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.play_button, self.slider):
            widget.setEnabled(enabled)

    def _set_slider(self, value: int, maximum: int | None = None) -> None:
        self.slider.blockSignals(True)
        if maximum is not None:
            self.slider.setRange(0, maximum)
        self.slider.setValue(value)
        self.slider.blockSignals(False)

    def _fit_time_label(self, duration: str) -> None:
        """A fixed width that holds "<position> / <duration>": no relayout per frame."""
        widest = "".join("0" if c.isdigit() else c for c in duration)
        self.time_label.setFixedWidth(self.time_label.fontMetrics().horizontalAdvance(f"{widest} / {widest}") + 6)

    def _update_time(self) -> None:
        duration = self._info.duration if self._info is not None else 0.0
        self.time_label.setText(f"{format_duration(self._position)} / {format_duration(duration)}"
                                if self._info is not None else "")

    @Slot(int, object, str)
    def _on_relay_probed(self, session: int, info: Any, error: str) -> None:
        if session != self._requests.session:
            return
        self._info = info
        if info is None:
            self._sink.set_pixmap(None, self.tr("Cannot play this video:\n{reason}").format(reason=error))
            self.hide()  # nothing to play: the reason alone
            self.info_changed.emit(None)
            return
        frame_ms = max(1, round(1000 / info.fps)) if info.fps > 0 else 40
        self._set_slider(round(self._position * 1000), max(0, round(info.duration * 1000)))
        self.slider.setSingleStep(frame_ms)
        self.slider.setPageStep(max(frame_ms, 5000))
        self._set_enabled(True)
        self._fit_time_label(format_duration(info.duration))
        self._update_time()
        self.info_changed.emit(info)

    @Slot(int, int, QImage, str)
    def _on_relay_decoded(self, session: int, request_id: int, image: QImage, error: str) -> None:
        seconds = self._times.pop(request_id, 0.0)
        for old in [i for i in self._times if i < request_id]:
            del self._times[old]  # overtaken before they were decoded
        if session != self._requests.session or request_id < self._shown:
            return
        self._shown = request_id
        if image.isNull():
            if self._info is not None and (self._sink.pixmap() is None or self._sink.pixmap().isNull()):
                self._sink.set_pixmap(None, self.tr("Cannot show this frame:\n{reason}").format(reason=error))
            log.info("No preview frame at %.2f s: %s", seconds, error)
            return
        self._sink.set_pixmap(QPixmap.fromImage(image))
        self.frame_shown.emit(seconds)

    @Slot(int)
    def _on_slider_value_changed(self, value: int) -> None:
        self._position = value / 1000
        self._update_time()
        self._request_frame(self._position)

    @Slot()
    def _on_timer_timeout(self) -> None:
        if self._info is None:
            self.pause()
            return
        now = time.monotonic()
        self._position = min(self._info.duration, self._position + (now - self._clock))
        self._clock = now
        self._set_slider(round(self._position * 1000))
        self._update_time()
        if self._shown >= self._asked:  # the last frame is on screen: ask for the next
            self._request_frame(self._position)
        if self._position >= self._info.duration - 1e-3:
            self.pause()
