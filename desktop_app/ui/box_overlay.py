"""Grounding boxes drawn over the caption panel's image preview, with a toggle to hide them.

The overlay watches the caption editor: whenever its text holds Qwen3-VL boxes
(`library.boxes.parse_boxes`), the preview paints each box in its label's colour with a label
chip, scaled with the preview. `PreviewView.paintEvent` calls `paint()` after the image.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QPlainTextEdit, QToolButton, QWidget

from ..library.boxes import SCALE, Box, BoxParse, parse_boxes

REPARSE_MS = 120  # a streaming caption is re-read at most this often
GOLDEN = 0.618033988749895


def label_colors(boxes: tuple[Box, ...]) -> dict[str, QColor]:
    """A distinct colour per label, in order of first appearance (hues spread by the golden ratio)."""
    colors: dict[str, QColor] = {}
    for box in boxes:
        if box.label not in colors:
            hue = (0.07 + len(colors) * GOLDEN) % 1.0
            colors[box.label] = QColor.fromHsvF(hue, 0.78, 1.0)
    return colors


class BoxOverlay(QObject):
    """Boxes of the caption shown in `editor`, painted over `preview`.

    Attributes:
        toggle: The checkable "Boxes" button in the preview's corner (shown only when the
            caption holds boxes); unchecked hides the boxes.
    """

    def __init__(self, preview: QWidget, editor: QPlainTextEdit) -> None:
        super().__init__(preview)
        self._preview, self._editor = preview, editor
        self._parsed = BoxParse()
        self._colors: dict[str, QColor] = {}
        self._target = QRectF()  # where the image was last painted
        self.toggle = QToolButton(preview)
        self.toggle.setObjectName("boxToggle")
        self.toggle.setCheckable(True)
        self.toggle.setChecked(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setStyleSheet("QToolButton#boxToggle { background: rgba(20, 22, 28, 190); color: white;"
                                  " border-radius: 6px; padding: 3px 8px; }"
                                  " QToolButton#boxToggle:!checked { color: #9198a6; }")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.toggle.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPARSE_MS)
        self._timer.timeout.connect(self.refresh)
        editor.textChanged.connect(self._on_editor_text_changed)
        preview.installEventFilter(self)
        preview.overlay = self  # PreviewView paints through it

    # -- state ---------------------------------------------------------------------------------
    @property
    def boxes(self) -> tuple[Box, ...]:
        """The boxes of the caption shown (empty when it holds none)."""
        return self._parsed.boxes

    @property
    def parsed(self) -> BoxParse:
        """The last parse (boxes, whether the list was cut short, why none were found)."""
        return self._parsed

    @property
    def visible(self) -> bool:
        """Whether boxes are drawn now."""
        return bool(self._parsed.boxes) and self.toggle.isChecked()

    def set_visible(self, on: bool) -> None:
        """Show or hide the boxes (the toggle's state)."""
        self.toggle.setChecked(on)

    @Slot()
    def refresh(self) -> None:
        """Re-read the editor's text now."""
        self._timer.stop()
        text = self._editor.toPlainText()
        parsed = parse_boxes(text) if "{" in text else BoxParse(reason="no JSON in the caption")
        if parsed.boxes == self._parsed.boxes and parsed.partial == self._parsed.partial:
            self._parsed = parsed
            return
        self._parsed = parsed
        self._colors = label_colors(parsed.boxes)
        count = len(parsed.boxes)
        self.toggle.setVisible(count > 0)
        self.toggle.setText(self.tr("Boxes (%n)", "", count))
        tip = self.tr("Show or hide the boxes found in the caption")
        if parsed.partial:
            tip += "\n" + self.tr("The box list was cut short: only complete boxes are drawn")
        self.toggle.setToolTip(tip)
        self._place_toggle()
        self._preview.update()

    @Slot()
    def _on_editor_text_changed(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot(bool)
    def _on_toggle_toggled(self, on: bool) -> None:
        self._preview.update()

    def eventFilter(self, watched: QObject, event: Any) -> bool:  # noqa: N802
        if watched is self._preview and event.type() == event.Type.Resize:
            self._place_toggle()
        return False

    @Slot()
    def _place_toggle(self) -> None:
        self.toggle.adjustSize()
        # Bottom right of the image: labels sit on the boxes' top edges, so the top is where
        # they crowd. Before the first paint: the widget's corner.
        area = self._target if not self._target.isEmpty() else QRectF(self._preview.rect())
        x = min(area.right(), self._preview.width()) - self.toggle.width() - 8
        y = min(area.bottom(), self._preview.height()) - self.toggle.height() - 8
        self.toggle.move(int(max(0, x)), int(max(0, y)))
        self.toggle.raise_()

    # -- painting ------------------------------------------------------------------------------
    def paint(self, p: QPainter, target: QRectF) -> None:
        """Draw the boxes over the image drawn in `target` (called by the preview's paintEvent)."""
        if target != self._target:  # the toggle sits on the image's corner, not the widget's
            self._target = QRectF(target)
            QTimer.singleShot(0, self._place_toggle)
        if not self.visible or target.width() < 4 or target.height() < 4:
            return
        p.save()
        side = min(target.width(), target.height())
        pen_width = max(1.5, side / 240)
        font = QFont(p.font())
        font.setPixelSize(int(max(10, min(15, side / 28))))
        font.setBold(True)
        p.setFont(font)
        metrics = QFontMetricsF(font, p.device())  # the device's resolution, not the screen's
        sx, sy = target.width() / SCALE, target.height() / SCALE
        placed = []
        for box in self._parsed.boxes:
            color = self._colors.get(box.label, QColor("#6e8efb"))
            rect = QRectF(target.x() + box.x1 * sx, target.y() + box.y1 * sy,
                          (box.x2 - box.x1) * sx, (box.y2 - box.y1) * sy)
            fill = QColor(color)
            fill.setAlpha(38)
            p.setPen(QPen(color, pen_width))
            p.setBrush(fill)
            p.drawRect(rect)
            placed.append((box.label, rect, color))
        for label, rect, color in placed:  # chips last: no box line crosses a label
            if label:
                self._chip(p, metrics, label, rect, target, color)
        p.restore()

    @staticmethod
    def _chip(p: QPainter, metrics: QFontMetricsF, label: str, rect: QRectF, target: QRectF,
              color: QColor) -> None:
        """A filled label chip on the box's top-left corner: above it when there is room."""
        text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(40.0, target.width() * 0.6))
        flags = int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        drawn = p.boundingRect(QRectF(0, 0, 4 * target.width() + 100, 100), flags, text)  # as drawText lays it out
        w, h = drawn.width() + 10, max(drawn.height(), metrics.height()) + 4
        y = rect.top() - h if rect.top() - h >= target.top() else rect.top()
        x = min(rect.left(), target.right() - w)
        chip = QRectF(max(target.left(), x), y, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRoundedRect(chip, 4, 4)
        # Dark text on light colours, white on dark ones (perceived brightness, not HSL lightness).
        luma = 0.299 * color.red() + 0.587 * color.green() + 0.114 * color.blue()
        p.setPen(QColor("#111111") if luma > 140 else QColor("white"))
        p.drawText(chip.adjusted(5, 0, -5, 0), flags, text)

    def chip_origin(self, box: Box, target: QRectF) -> QPointF:
        """Where a box's top-left corner lands in a preview rect (tests, hit testing)."""
        return QPointF(target.x() + box.x1 * target.width() / SCALE, target.y() + box.y1 * target.height() / SCALE)
