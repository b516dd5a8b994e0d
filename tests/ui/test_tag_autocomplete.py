"""Tag autocomplete leaves out the tags the caption already has, in the add box and in the text."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QStringListModel, Qt

from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.tag_editor import ExcludingTagsModel
from tests.ui.test_tags_ui import themed, window  # noqa: F401

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing|propagateSizeHints)"),
]


def offered(completer: Any, prefix: str) -> list[str]:
    completer.setCompletionPrefix(prefix)
    model = completer.completionModel()
    return [model.index(i, 0).data() for i in range(completer.completionCount())]


def test_the_excluding_model_keeps_order_and_compares_like_the_counts(qapp: Any) -> None:
    source = QStringListModel(["1girl", "long hair", "Blue_Eyes", "smile", "lake"])
    model = ExcludingTagsModel(source)
    assert model.rowCount() == 5 and not model.set_excluded([])
    assert model.set_excluded(["LONG HAIR", "blue eyes", " "])
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == ["1girl", "smile", "lake"]
    assert not model.set_excluded(["long_hair", "Blue Eyes"])  # the same keys: no refilter
    source.setStringList(["smile", "long hair", "new"])  # the folder's counts changed
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == ["smile", "new"]


def test_the_add_box_leaves_out_the_captions_tags(qtbot: Any, window: MainWindow) -> None:
    root = window.library.root
    window.select_paths([root / "a.png"])  # "1girl, solo, long hair, smile"
    editor = window.tags.editor
    editor.set_shown(True)
    qtbot.waitUntil(lambda: editor.tags() == ["1girl", "solo", "long hair", "smile"], timeout=5000)
    completer = editor.add_edit.completer()
    assert offered(completer, "l") == ["blue eyes", "lake", "landscape"]
    editor.list.setCurrentRow(1)  # "solo"
    editor.remove_selected()
    assert "solo" in offered(completer, "s")  # removed from the caption: offered again
    window.select_paths([root / "e.png"])  # no caption: everything is offered
    qtbot.waitUntil(lambda: editor.tags() == [], timeout=5000)
    assert offered(completer, "l")[:2] == ["1girl", "long hair"]


def test_the_text_editor_leaves_out_the_captions_other_tags(qtbot: Any, window: MainWindow) -> None:
    root = window.library.root
    window.select_paths([root / "b.png"])  # "1girl, long hair, blue eyes"
    panel_editor = window.caption_panel.editor
    qtbot.waitUntil(lambda: panel_editor.toPlainText() == "1girl, long hair, blue eyes", timeout=5000)
    panel_editor.setFocus()
    qtbot.waitUntil(panel_editor.hasFocus, timeout=2000)
    panel_editor.moveCursor(panel_editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(panel_editor, ", l")
    text_completer = window.tags.editor.text_completer
    qtbot.waitUntil(lambda: text_completer.completer.popup().isVisible(), timeout=2000)
    assert offered(text_completer.completer, "l") == ["lake", "landscape"]  # not "long hair"
    qtbot.keyClick(text_completer.completer.popup(), Qt.Key.Key_Escape)
    # The tag being typed does not hide itself: editing "long hair" in place offers it again.
    cursor = panel_editor.textCursor()
    at = panel_editor.toPlainText().index("long hair") + 2
    cursor.setPosition(at)
    panel_editor.setTextCursor(cursor)
    text_completer.update_popup()
    start, word = text_completer.current_word()
    assert word == "lo"
    assert "long hair" in offered(text_completer.completer, "lo")
    text_completer.completer.popup().hide()
