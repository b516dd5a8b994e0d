"""Small shared widgets."""

from __future__ import annotations

from typing import Any

from desktop_app.ui.widgets import ElidedLabel


def test_elided_label_keeps_the_start_and_the_extension(qtbot: Any) -> None:
    name = "a-very-long-file-name-from-a-camera-roll-0001.mp4"
    label = ElidedLabel(name)
    qtbot.addWidget(label)
    label.show()
    label.resize(label.fontMetrics().horizontalAdvance(name) // 2, 30)
    shown = label.text()
    assert "…" in shown and shown.startswith("a-very") and shown.endswith(".mp4")
    assert label.fullText() == name
    label.resize(label.fontMetrics().horizontalAdvance(name) + 20, 30)
    assert label.text() == name
    label.setText("short.png")
    assert label.text() == "short.png" == label.fullText()
