"""The caption panel's video player: frame previews decoded off the GUI thread, a scrub slider,
play/pause and the time.

The installed PySide6 (Essentials) has no QtMultimedia, so playing is stepping: a QTimer moves
the playhead about ten times a second and shows the frame due, decoded ahead on a private
thread (`video_decoder`); a scrub request overtaken by a newer one is dropped undecoded.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget

from . import style
from .video_decoder import FrameDecoder
from .video_thumbs import format_duration

log = logging.getLogger(__name__)

QWIDGETSIZE_MAX = (1 << 24) - 1

#: Frames shown per second while playing.
PREVIEW_FPS = 10
#: Longest edge of a frame shown paused or scrubbed (enough for the panel on a large screen).
FRAME_EDGE = 1280
#: Longest edge of the frames shown while playing (decoded ahead: smaller, to keep up).
PLAY_EDGE = 960
#: Seconds of frames decoded in one go while playing.
CHUNK_S = 1.0

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


class VideoPlayer(QWidget):
    """Play/pause, a scrub slider and "0:03 / 0:12" under a frame sink, for one video at a time.

    `open(path)` probes the file and shows its first frame; scrubbing shows the frame under the
    slider (requests overtaken while decoding are dropped); playing advances in real time and
    shows about `PREVIEW_FPS` frames a second, decoded a second at a time ahead of the
    playhead. When decoding cannot keep up, frames are skipped, never queued. Pausing shows
    the frame at full preview size again.

    Signals:
        info_changed(object): the shown video's `VideoInfo` (None when it cannot be read).
        frame_shown(float): a frame decoded at this time (seconds) is on screen.
    """

    info_changed = Signal(object)
    frame_shown = Signal(float)

    def __init__(self, sink: FrameSink, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self._decoder = FrameDecoder(self)
        self._decoder.probed.connect(self._on_decoder_probed)
        self._decoder.frame_decoded.connect(self._on_decoder_frame_decoded)
        self._decoder.chunk_decoded.connect(self._on_decoder_chunk_decoded)
        self._info: Any = None
        self._position = 0.0  # seconds
        self._asked = 0  # id of the newest single-frame request
        self._shown = 0  # id of the newest single frame handled (shown or failed)
        self._times: dict[int, float] = {}  # single-frame request id -> seconds
        self._buffer: list[tuple[float, QImage]] = []  # decoded frames ahead of the playhead
        self._chunk = 0  # id of the chunk being decoded (0: none)
        self._buffered_to = 0.0  # where the frames asked for while playing end (seconds)
        self._clock = 0.0  # monotonic time of the last playback step
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // PREVIEW_FPS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._play_icon, self._pause_icon = _icon(_PLAY), _icon(_PAUSE)
        self._build()
        self._set_enabled(False)
        if isinstance(sink, QWidget):
            sink.installEventFilter(self)  # to keep the controls just under the frame

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

    @property
    def decoder(self) -> FrameDecoder:
        """The decoder feeding this player."""
        return self._decoder

    def is_playing(self) -> bool:
        """Whether the video is playing."""
        return self._timer.isActive()

    def open(self, path: Path, poster: QPixmap | None = None) -> None:
        """Show another video: its `poster` (or "Loading…") until the first frame is decoded."""
        self._stop()
        self._info, self._position = None, 0.0
        self._times.clear()
        self._set_slider(0, 0)
        self._update_time()
        self._set_enabled(False)
        self._sink.set_pixmap(poster, self.tr("Loading…"))
        self._fit_sink()
        self._decoder.open(path)
        self._request_frame(0.0)

    def close_video(self) -> None:
        """Stop showing a video (decoding in flight finishes and is dropped)."""
        self._stop()
        self._info = None
        self._decoder.close()
        self._fit_sink()

    def seek(self, seconds: float) -> None:
        """Show the frame at `seconds` (clamped to the video); playing goes on from there."""
        if self._info is not None:
            seconds = min(max(0.0, seconds), self._info.duration)
        self._set_slider(round(seconds * 1000))
        self._moved_to(seconds)

    def play(self) -> None:
        """Play from the current time (from the start when at the end)."""
        if self._info is None or self.is_playing():
            return
        if self._position >= self._info.duration - 1e-3:
            self.seek(0.0)
        self._clock = time.monotonic()
        self._timer.start()
        self.play_button.setIcon(self._pause_icon)
        self._restart_buffer()

    def pause(self) -> None:
        """Stop playing; the frame at the playhead is shown at full preview size."""
        if self.is_playing():
            self._stop()
            self._request_frame(self._position)

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
        self._decoder.shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._sink and event.type() == QEvent.Type.Resize:
            self._fit_sink()
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- internals --------------------------------------------------------------------------
    def _fit_sink(self) -> None:
        """Cap the frame view at the video's aspect, so the controls sit right under the frame."""
        view = self._sink
        if not isinstance(view, QWidget):
            return
        info = self._info
        if info is None or not self.isVisibleTo(self.parentWidget() or self):
            height = QWIDGETSIZE_MAX
        else:
            height = max(view.minimumHeight(), round(view.width() * info.height / info.width) + 2)
        if view.maximumHeight() != height:
            view.setMaximumHeight(height)

    def _stop(self) -> None:
        self._timer.stop()
        self.play_button.setIcon(self._play_icon)
        self._buffer.clear()
        self._chunk = 0
        self._decoder.cancel_chunk()

    def _moved_to(self, seconds: float) -> None:
        """The playhead jumped (slider, seek): show that frame; playing goes on from it."""
        self._position = seconds
        self._update_time()
        self._request_frame(seconds)
        if self.is_playing():
            self._clock = time.monotonic()
            self._restart_buffer()

    def _request_frame(self, seconds: float) -> None:
        self._asked = self._decoder.request_frame(seconds, FRAME_EDGE)
        self._times[self._asked] = seconds

    def _restart_buffer(self) -> None:
        self._buffer.clear()
        self._chunk = 0
        self._buffered_to = self._position
        self._fill_buffer()

    def _fill_buffer(self) -> None:
        """Ask for the next second of frames when less than a second is left decoded."""
        info = self._info
        if info is None or self._chunk or self._buffered_to - self._position >= CHUNK_S:
            return
        start = max(self._position, self._buffered_to)
        end = min(info.duration, start + CHUNK_S)
        if end - start < 1e-3:
            return
        scale = min(1.0, PLAY_EDGE / max(info.width, info.height))
        budget = None if scale >= 1 else max(1, int(info.width * scale) * int(info.height * scale))
        self._chunk = self._decoder.request_chunk(start, end, PREVIEW_FPS, budget)
        self._buffered_to = end

    def _show_due(self) -> None:
        """Show the newest buffered frame whose time has come (older ones are skipped)."""
        due = 0
        while due < len(self._buffer) and self._buffer[due][0] <= self._position + 0.5 / PREVIEW_FPS:
            due += 1
        if due:
            seconds, image = self._buffer[due - 1]
            del self._buffer[:due]
            self._sink.set_pixmap(QPixmap.fromImage(image))
            self.frame_shown.emit(seconds)

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
        info = self._info
        self.time_label.setText(f"{format_duration(self._position)} / {format_duration(info.duration)}"
                                if info is not None else "")

    @Slot(object, str)
    def _on_decoder_probed(self, info: Any, error: str) -> None:
        self._info = info
        if info is None:
            self._sink.set_pixmap(None, self.tr("Cannot play this video:\n{reason}").format(reason=error))
            self.hide()  # nothing to play: the reason alone
            self._fit_sink()
            self.info_changed.emit(None)
            return
        frame_ms = max(1, round(1000 / info.fps))
        self._set_slider(round(self._position * 1000), max(0, round(info.duration * 1000)))
        self.slider.setSingleStep(frame_ms)
        self.slider.setPageStep(max(frame_ms, 5000))
        self._set_enabled(True)
        self._fit_time_label(format_duration(info.duration))
        self._update_time()
        self._fit_sink()
        self.info_changed.emit(info)

    @Slot(int, QImage, str)
    def _on_decoder_frame_decoded(self, request_id: int, image: QImage, error: str) -> None:
        seconds = self._times.pop(request_id, 0.0)
        for old in [i for i in self._times if i < request_id]:
            del self._times[old]  # overtaken before they were decoded
        if request_id < self._shown:
            return
        self._shown = request_id
        if image.isNull():
            current = self._sink.pixmap()
            if self._info is not None and (current is None or current.isNull()):
                self._sink.set_pixmap(None, self.tr("Cannot show this frame:\n{reason}").format(reason=error))
            log.info("No preview frame at %.2f s: %s", seconds, error)
            return
        self._sink.set_pixmap(QPixmap.fromImage(image))
        self.frame_shown.emit(seconds)

    @Slot(int, object, str)
    def _on_decoder_chunk_decoded(self, request_id: int, frames: Any, error: str) -> None:
        if request_id != self._chunk:
            return  # the playhead jumped or playing stopped meanwhile
        self._chunk = 0
        if error:
            log.info("Cannot play on from %.2f s: %s", self._position, error)
            self.pause()
            return
        self._buffer.extend(frames)
        self._show_due()
        self._fill_buffer()

    @Slot(int)
    def _on_slider_value_changed(self, value: int) -> None:
        self._moved_to(value / 1000)

    @Slot()
    def _on_timer_timeout(self) -> None:
        if self._info is None:
            self._stop()
            return
        now = time.monotonic()
        self._position = min(self._info.duration, self._position + (now - self._clock))
        self._clock = now
        self._set_slider(round(self._position * 1000))
        self._update_time()
        self._show_due()
        if self._position >= self._info.duration - 1e-3:
            self.pause()
        else:
            self._fill_buffer()
