"""Grounding boxes drawn over the caption panel's preview: pixels change where a box is, toggle hides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QApplication

from desktop_app.ui import style
from desktop_app.ui.box_overlay import label_colors
from desktop_app.ui.caption_panel import CaptionPanel
from desktop_app.ui.media_model import MediaItem

pytestmark = [pytest.mark.qt_log_level_fail("WARNING"),
              pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")]

BOXES = ('```json\n[{"bbox_2d": [100, 200, 400, 600], "label": "cat"},\n'
         ' {"bbox_2d": [550, 100, 950, 900], "label": "lamp"}]\n```')


@pytest.fixture
def panel(qtbot: Any, qapp: QApplication, tmp_path: Path) -> CaptionPanel:
    style.apply_theme(qapp)
    panel = CaptionPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 640)
    panel.show()
    qtbot.waitExposed(panel)
    gray = QPixmap(400, 300)
    gray.fill(QColor(90, 90, 90))
    panel.preview.set_pixmap(gray)
    return panel


def grab(panel: CaptionPanel) -> QImage:
    QApplication.processEvents()
    return panel.preview.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def changed_pixels(a: QImage, b: QImage, x0: int, y0: int, x1: int, y1: int) -> int:
    return sum(a.pixel(x, y) != b.pixel(x, y) for x in range(x0, x1) for y in range(y0, y1))


def test_boxes_are_drawn_where_they_are_and_the_toggle_hides_them(panel: CaptionPanel, qtbot: Any) -> None:
    overlay = panel.box_overlay
    before = grab(panel)
    panel.editor.setPlainText(BOXES)
    overlay.refresh()
    assert [b.label for b in overlay.boxes] == ["cat", "lamp"]
    assert overlay.toggle.isVisible() and overlay.visible
    after = grab(panel)
    w, h = after.width(), after.height()
    # The image is fitted into the preview: find where it landed (the gray area).
    gray = before.pixel(w // 2, h // 2)
    xs = [x for x in range(w) if before.pixel(x, h // 2) == gray]
    ys = [y for y in range(h) if before.pixel(w // 2, y) == gray]
    left, right, top, bottom = xs[0], xs[-1], ys[0], ys[-1]
    iw, ih = right - left, bottom - top
    # The cat box's left edge (x = 10 %) runs from 20 % to 60 % of the height.
    edge_x = left + int(iw * 0.10)
    assert changed_pixels(before, after, edge_x - 1, top + int(ih * 0.35), edge_x + 2, top + int(ih * 0.55)) > 10
    # Nothing changes in the empty band between the boxes (x 42-53 %, y 65-95 %).
    assert changed_pixels(before, after, left + int(iw * 0.42), top + int(ih * 0.65),
                          left + int(iw * 0.53), top + int(ih * 0.95)) == 0
    overlay.toggle.click()
    assert not overlay.visible
    assert changed_pixels(before, grab(panel), edge_x - 1, top + int(ih * 0.35), edge_x + 2, top + int(ih * 0.55)) == 0


def test_prose_and_malformed_captions_draw_nothing(panel: CaptionPanel) -> None:
    for text in ("A cat on a table.", '[{"bbox_2d": [1, 2', "[]", "{not json"):
        panel.editor.setPlainText(text)
        panel.box_overlay.refresh()
        assert panel.box_overlay.boxes == () and not panel.box_overlay.toggle.isVisible()
        grab(panel)  # paints without raising


def test_a_streaming_caption_gets_its_boxes_as_they_complete(panel: CaptionPanel, qtbot: Any, tmp_path: Path) -> None:
    item = MediaItem(path=tmp_path / "x.png", rel="x.png", status="generating")
    panel.show_item(item, None)
    panel.preview.set_pixmap(QPixmap(64, 64))
    for chunk in ('[{"bbox_2d": [1', '0, 10, 500, 500], "label": "a"}, {"bbox_', '2d": [600, 600, 900, 900]'):
        panel.append_stream(item.path, chunk)
    qtbot.waitUntil(lambda: len(panel.box_overlay.boxes) == 1, timeout=2000)
    assert panel.box_overlay.parsed.partial
    grab(panel)


def test_each_label_gets_its_own_colour() -> None:
    from desktop_app.library.boxes import parse_boxes

    boxes = parse_boxes('[{"bbox_2d": [0,0,1,1], "label": "a"}, {"bbox_2d": [0,0,1,1], "label": "b"},'
                        ' {"bbox_2d": [0,0,1,1], "label": "a"}, {"bbox_2d": [0,0,1,1], "label": "c"}]').boxes
    colors = label_colors(boxes)
    assert list(colors) == ["a", "b", "c"]
    assert len({c.name() for c in colors.values()}) == 3
