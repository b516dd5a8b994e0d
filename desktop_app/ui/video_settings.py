"""The settings panel's Video section: frame rate, frame limit, trim, and what a video costs.

The values live in `RunSettings` (video_fps, video_max_frames, video_start, video_end; a trim
of 0 means "from the start" / "to the end") and become the request's `VideoOptions`.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QCoreApplication, QLocale, Signal, Slot
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox,
                               QVBoxLayout, QWidget)

from . import style

FPS_RANGE = (0.25, 8.0)
FRAMES_RANGE = (4, 768)
TRIM_MAX_S = 24 * 3600.0
#: Qwen3-VL's video processor (cap_pixels_per_frame, as the engine asks): a frame pair costs at
#: most 768 tokens, and all frames share a budget of 24,576 32x32-pixel patches (the
#: checkpoints' video_preprocessor_config longest_edge), so more frames means smaller frames.
FRAME_PAIR_TOKENS = 768
VIDEO_BUDGET_PIXELS = 24576 * 32 * 32
NO_CAP_SIDE = 1024 * 32  # "no cap": the processor's own limits decide


def video_tokens(max_frames: int, max_side: int) -> tuple[int, int]:
    """(tokens per frame, tokens per video) for a video sampled to `max_frames` frames.

    Each frame is first fitted within `max_side`² pixels (0: no cap), then within the
    processor's per-frame share, in whole 32-pixel blocks; one visual token covers 32x32 pixels
    of a frame *pair* (the encoder merges frames two by two). Exact for square frames at least
    `max_side` wide; other shapes land within a few percent.
    """
    frames = max(2, max_frames - max_frames % 2)
    side = max_side or NO_CAP_SIDE
    pixels = min(side * side, FRAME_PAIR_TOKENS * 32 * 32, VIDEO_BUDGET_PIXELS // frames)
    per_pair = math.isqrt(pixels // (32 * 32)) ** 2
    return per_pair // 2, per_pair * (frames // 2)


def video_estimate(max_frames: int, max_side: int) -> str:
    """The hint under the Video section: '≤ 64 frames × 180 ≈ 11,552 visual tokens' (per video)."""
    per_frame, total = video_tokens(max_frames, max_side)
    return (QCoreApplication.translate("VideoSettings", "≤ %1 frames × %2 ≈ %3 visual tokens")
            .replace("%1", f"{max_frames:,}").replace("%2", f"{per_frame:,}").replace("%3", f"{total:,}"))


def _seconds(value: float) -> str:
    """'12.5' (or '12,5': the UI language's decimal point, as the spin boxes show it)."""
    return QLocale().toString(round(value, 1), "g", 8)


def trim_problem(start: float, end: float) -> str:
    """Why a trim cannot be used ('' when it can): an end (> 0) at or before the start."""
    if end > 0 and end <= start:
        return (QCoreApplication.translate("VideoSettings", "The video end (%1 s) must be after its start (%2 s).")
                .replace("%1", _seconds(end)).replace("%2", _seconds(start)))
    return ""


class VideoSettings(QWidget):
    """Spin boxes for fps, max frames and the trim, the token hint and the trim's problem.

    Signals:
        changed(): a value changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._max_side = 1024
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        form = QFormLayout()
        self.fps_spin = self._dspin(*FPS_RANGE, 0.25, 2)
        self.fps_spin.setToolTip(self.tr("Frames sampled per second of video (Qwen3-VL was trained on 2)"))
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(*FRAMES_RANGE)
        self.frames_spin.setSingleStep(4)
        self.frames_spin.setMinimumWidth(90)
        self.frames_spin.setToolTip(self.tr("At most this many frames per video; longer videos are "
                                            "sampled more sparsely"))
        self.frames_spin.valueChanged.connect(self._on_value_changed)
        self.start_spin = self._dspin(0.0, TRIM_MAX_S, 1.0, 1, self.tr("Start"))
        self.start_spin.setToolTip(self.tr("Caption videos from this time on (seconds; Start = from the beginning)"))
        self.end_spin = self._dspin(0.0, TRIM_MAX_S, 1.0, 1, self.tr("End"))
        self.end_spin.setToolTip(self.tr("Caption videos up to this time (seconds; End = to the end)"))
        trim = QHBoxLayout()
        trim.setSpacing(4)
        trim.addWidget(self.start_spin, 1)
        trim.addWidget(QLabel("–"))
        trim.addWidget(self.end_spin, 1)
        form.addRow(self.tr("Frames per second"), self.fps_spin)
        form.addRow(self.tr("Max frames"), self.frames_spin)
        form.addRow(self.tr("Trim (s)"), trim)
        box.addLayout(form)
        self.estimate_label = QLabel()
        self.estimate_label.setObjectName("hint")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setToolTip(self.tr("Visual tokens of one video at the resolution cap: frames × "
                                               "tokens per frame. Qwen3-VL shrinks the frames of a long "
                                               "video so that they share one budget."))
        box.addWidget(self.estimate_label)
        self.problem_label = QLabel()
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(f"color: {style.DANGER};")
        self.problem_label.hide()
        box.addWidget(self.problem_label)
        self._refresh()

    def _dspin(self, low: float, high: float, step: float, decimals: int, special: str = "") -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(decimals)
        spin.setSpecialValueText(special)
        spin.setMinimumWidth(70)
        spin.valueChanged.connect(self._on_value_changed)
        return spin

    # -- values ------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The RunSettings fields shown here."""
        return {"video_fps": round(self.fps_spin.value(), 2), "video_max_frames": self.frames_spin.value(),
                "video_start": round(self.start_spin.value(), 1), "video_end": round(self.end_spin.value(), 1)}

    def set_values(self, *, video_fps: float, video_max_frames: int, video_start: float,
                   video_end: float) -> None:
        """Show these values (spin boxes clamp what is out of range)."""
        self.fps_spin.setValue(video_fps)
        self.frames_spin.setValue(video_max_frames)
        self.start_spin.setValue(video_start)
        self.end_spin.setValue(video_end)
        self._refresh()

    def set_max_side(self, max_side: int) -> None:
        """The image resolution cap (it caps each frame too), for the token estimate."""
        self._max_side = max_side
        self._refresh()

    def problem(self) -> str:
        """Why these values cannot be used ('' when they can)."""
        return trim_problem(self.start_spin.value(), self.end_spin.value())

    # -- slots -------------------------------------------------------------------------------
    @Slot()
    def _on_value_changed(self, *_: Any) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        self.estimate_label.setText(video_estimate(self.frames_spin.value(), self._max_side))
        problem = self.problem()
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
