"""Frames of one video decoded on a private thread for the panel's player; stale requests dropped."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)


@dataclass
class _Requests:
    """What the decoding thread should do next (shared with the GUI thread under `lock`).

    Each kind holds only its newest request: one not yet taken when a newer one comes is
    dropped without being decoded.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    session: int = 0  # bumped per opened file: results of an older one are dropped
    path: Path | None = None
    probe: bool = False  # read the headers first
    frame: tuple[int, float, int] | None = None  # (id, seconds, max side)
    chunk: tuple[int, float, float, float, int | None] | None = None  # (id, start, end, fps, max pixels)
    running: bool = False  # a job is draining the requests

    def take(self) -> tuple[int, Path, str, Any] | None:
        """The next task (probe, then frame, then chunk), or None when done (then not running)."""
        with self.lock:
            task: tuple[str, Any] | None = None
            if self.path is not None:
                if self.probe:
                    self.probe, task = False, ("probe", None)
                elif self.frame is not None:
                    task, self.frame = ("frame", self.frame), None
                elif self.chunk is not None:
                    task, self.chunk = ("chunk", self.chunk), None
            if task is None or self.path is None:
                self.running = False
                return None
            return self.session, self.path, task[0], task[1]


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc) or type(exc).__name__


class _Relay(QObject):
    """Carries the thread's results to the decoder (it lives in the GUI thread)."""

    probed = Signal(int, object, str)  # session, VideoInfo or None, error
    frame_decoded = Signal(int, int, QImage, str)  # session, id, frame (null on error), error
    chunk_decoded = Signal(int, int, object, str)  # session, id, [(seconds, QImage)], error


class _DecodeJob(QRunnable):
    """Drains the requests until none is left (one job at a time per decoder)."""

    def __init__(self, requests: _Requests, relay: _Relay) -> None:
        super().__init__()
        self._requests, self._relay = requests, relay

    def run(self) -> None:
        while (task := self._requests.take()) is not None:
            try:
                self._do(*task)
            except RuntimeError:  # the decoder is gone
                with self._requests.lock:
                    self._requests.running = False
                return

    def _do(self, session: int, path: Path, kind: str, args: Any) -> None:
        from desktop_app.engine.video import probe_video, read_frame_at, sample_frames

        from .thumbnails import pil_to_qimage

        if kind == "probe":
            try:
                self._relay.probed.emit(session, probe_video(path), "")
            except Exception as exc:  # a bad file: the player says why
                self._relay.probed.emit(session, None, _reason(exc))
        elif kind == "frame":
            request_id, seconds, max_side = args
            try:
                image = pil_to_qimage(read_frame_at(path, seconds, max_side=max_side))
                self._relay.frame_decoded.emit(session, request_id, image, "")
            except Exception as exc:
                self._relay.frame_decoded.emit(session, request_id, QImage(), _reason(exc))
        else:
            request_id, start, end, fps, max_pixels = args
            try:  # one seek, then forward: far cheaper per frame than seeking for each
                sampled = sample_frames(path, fps=fps, start=start, end=end, max_pixels=max_pixels,
                                        min_frames=1, frame_multiple=1)
                frames = [(t, pil_to_qimage(im)) for t, im in zip(sampled.timestamps, sampled.frames)]
                self._relay.chunk_decoded.emit(session, request_id, frames, "")
            except Exception as exc:
                self._relay.chunk_decoded.emit(session, request_id, [], _reason(exc))


class FrameDecoder(QObject):
    """Probes one video and decodes single frames or runs of frames of it, off the GUI thread.

    Requests return an id; results carry it. Only the newest request of each kind waits:
    older ones are dropped undecoded, and results of a previous file never arrive.

    Signals:
        probed(object, str): the open file's `VideoInfo` (None with the reason when unreadable).
        frame_decoded(int, QImage, str): a frame request's id, its frame (null) and error ("").
        chunk_decoded(int, object, str): a chunk request's id, `[(seconds, QImage)]`, error.
    """

    probed = Signal(object, str)
    frame_decoded = Signal(int, QImage, str)
    chunk_decoded = Signal(int, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._requests = _Requests()
        self._relay = _Relay(self)
        self._relay.probed.connect(self._on_relay_probed)
        self._relay.frame_decoded.connect(self._on_relay_frame_decoded)
        self._relay.chunk_decoded.connect(self._on_relay_chunk_decoded)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._next_id = 0

    def open(self, path: Path) -> None:
        """Decode from `path` from now on (it is probed first)."""
        self._set_path(Path(path))

    def close(self) -> None:
        """Decode nothing more (work in flight finishes; its result is dropped)."""
        self._set_path(None)

    def request_frame(self, seconds: float, max_side: int) -> int:
        """Ask for the frame shown at `seconds`, at most `max_side` pixels long; returns its id."""
        request_id = self._new_id()
        self._submit(frame=(request_id, seconds, max_side))
        return request_id

    def request_chunk(self, start: float, end: float, fps: float, max_pixels: int | None) -> int:
        """Ask for the frames of [start, end) at about `fps`, each at most `max_pixels`; returns its id."""
        request_id = self._new_id()
        self._submit(chunk=(request_id, start, end, fps, max_pixels))
        return request_id

    def cancel_chunk(self) -> None:
        """Drop a chunk request not yet started."""
        with self._requests.lock:
            self._requests.chunk = None

    def active_threads(self) -> int:
        """How many decoding threads run now (0 or 1)."""
        return self._pool.activeThreadCount()

    def shutdown(self) -> None:
        """Drop pending work and wait for the frame being decoded."""
        self.close()
        self._pool.waitForDone()

    # -- internals --------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _set_path(self, path: Path | None) -> None:
        with self._requests.lock:
            requests = self._requests
            requests.session += 1
            requests.path, requests.probe = path, path is not None
            requests.frame = requests.chunk = None
        if path is not None:
            self._submit()

    def _submit(self, **request: Any) -> None:
        requests = self._requests
        with requests.lock:
            for name, value in request.items():
                setattr(requests, name, value)
            start = not requests.running and requests.path is not None
            requests.running = requests.running or start
        if start:
            self._pool.start(_DecodeJob(requests, self._relay))

    def _current(self, session: int) -> bool:
        with self._requests.lock:
            return session == self._requests.session

    @Slot(int, object, str)
    def _on_relay_probed(self, session: int, info: Any, error: str) -> None:
        if self._current(session):
            self.probed.emit(info, error)

    @Slot(int, int, QImage, str)
    def _on_relay_frame_decoded(self, session: int, request_id: int, image: QImage, error: str) -> None:
        if self._current(session):
            self.frame_decoded.emit(request_id, image, error)

    @Slot(int, int, object, str)
    def _on_relay_chunk_decoded(self, session: int, request_id: int, frames: Any, error: str) -> None:
        if self._current(session):
            self.chunk_decoded.emit(request_id, frames, error)
