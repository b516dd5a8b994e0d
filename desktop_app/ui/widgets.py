"""Small widgets of the main window: the empty-window drop hint, the progress line, the drop overlay."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import style


class DropHint(QWidget):
    """The empty window: a big friendly target saying what to drop, and recent folders.

    Signals:
        open_requested(): the Open Folder button was pressed.
        recent_requested(str): a recent folder was picked.
    """

    open_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon = style.icon("drop", style.ACCENT_HOVER)
        title = QLabel(self.tr("Drop a folder of images or videos here"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 20pt; font-weight: 600;")
        sub = QLabel(self.tr("Caption Studio shows every image and video at once, writes a caption for each with "
                     "Qwen3-VL,\nand saves it beside the original as a .txt file you can edit."))
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setObjectName("muted")
        button = QPushButton(style.icon("folder", "#ffffff"), "  " + self.tr("Open Folder…"))
        button.setObjectName("primary")
        button.setIconSize(QSize(18, 18))
        button.clicked.connect(self.open_requested)
        keys = QLabel(self.tr("or press Ctrl+O  ·  JPG, PNG, WebP, GIF, BMP, TIFF and videos"))
        keys.setObjectName("hint")
        keys.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._recent = QVBoxLayout()
        self._recent.setSpacing(0)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addSpacing(120)
        layout.addWidget(title)
        layout.addSpacing(6)
        layout.addWidget(sub)
        layout.addSpacing(18)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(keys)
        layout.addSpacing(20)
        layout.addLayout(self._recent)
        layout.addStretch(4)

    def set_recent(self, folders: list[str]) -> None:
        """Offer up to four recent folders below the button."""
        while self._recent.count():
            widget = self._recent.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if folders:
            label = QLabel(self.tr("RECENT"))
            label.setObjectName("sectionTitle")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._recent.addWidget(label)
        for folder in folders[:4]:
            link = QPushButton(folder)
            link.setObjectName("link")
            link.setCursor(Qt.CursorShape.PointingHandCursor)
            link.clicked.connect(partial(self.recent_requested.emit, folder))
            self._recent.addWidget(link, 0, Qt.AlignmentFlag.AlignHCenter)

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(28, 28, -28, -28)
        pen = QPen(QColor(style.BORDER), 2, Qt.PenStyle.DashLine)
        pen.setDashPattern([6, 5])
        p.setPen(pen)
        p.setBrush(QColor(style.PANEL))
        p.drawRoundedRect(box, 18, 18)
        size = 96
        top = self.layout().itemAt(1).geometry().top() if self.layout() else box.center().y()
        self._icon.paint(p, int(box.center().x() - size / 2), int(top), size, size)


class ProgressLine(QWidget):
    """A thin progress bar that repaints asynchronously.

    QProgressBar.setValue() repaints at once, and in a window that has dirty regions that
    means painting the grid and the live panel inside the progress slot: a 100 ms stall
    while a run streams. This one only schedules an update.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._done, self._total = 0, 0
        self.setFixedSize(180, 8)

    def set_progress(self, done: int, total: int) -> None:
        """Show `done` of `total` (total 0: empty)."""
        if (done, total) != (self._done, self._total):
            self._done, self._total = done, total
            self.update()

    def value(self) -> tuple[int, int]:
        """(done, total) shown."""
        return self._done, self._total

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        p.setBrush(QColor(style.SURFACE))
        p.drawRoundedRect(rect, 4, 4)
        if self._total > 0 and self._done > 0:
            p.setBrush(QColor(style.ACCENT))
            p.drawRoundedRect(QRectF(0, 0, max(8.0, rect.width() * min(1.0, self._done / self._total)),
                                     rect.height()), 4, 4)


class DropOverlay(QWidget):
    """Drawn over the window while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(style.ACCENT)
        fill.setAlpha(40)
        p.setBrush(fill)
        p.setPen(QPen(QColor(style.ACCENT), 3))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(8, 8, -8, -8), 16, 16)
        p.setPen(QColor("#ffffff"))
        font = p.font()
        font.setPointSize(18)
        font.setBold(True)
        p.setFont(font)
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("Drop to open"))


def _fixed_label(width: int, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> QLabel:
    label = QLabel()
    label.setFixedSize(width, label.fontMetrics().height() + 4)
    label.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    return label


def _eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class ElidedLabel(QLabel):
    """A one-line label that elides its text in the middle to the width it gets (a long file
    name keeps its start and its extension); `fullText()` is what was set."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        self._elide()

    def fullText(self) -> str:  # noqa: N802 - Qt's style
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance("…") * 4, hint.height())

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(0, self.width()))
        if shown != super().text():
            super().setText(shown)
