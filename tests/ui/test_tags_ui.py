"""The Tags dock and the tag view in the real window: counts, click to filter, double-click to add,
batch ops as one undo step, the tag view editing the caption, autocomplete in frequency order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtWidgets import QApplication

from desktop_app.library.tags import TagOp
from desktop_app.ui import style
from desktop_app.ui.main_window import MainWindow

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

CAPTIONS = {
    "a.png": "1girl, solo, long hair, smile",
    "b.png": "1girl, long hair, blue eyes",
    "c.png": "A girl with long hair, smiling at the sun., 1girl",
    "d.png": "landscape, mountain, lake",
    "e.png": "",
}


@pytest.fixture(autouse=True)
def themed(qapp: QApplication) -> None:
    style.apply_theme(qapp)


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    folder = tmp_path / "set"
    folder.mkdir()
    for name, caption in CAPTIONS.items():
        Image.new("RGB", (16, 12), (len(caption) * 7 % 256, 80, 120)).save(folder / name)
        if caption:
            (folder / name).with_suffix(".txt").write_text(caption, encoding="utf-8")
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), data_dir=tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.folder_opened, timeout=15_000):
        win.open_folder(folder)
    qtbot.waitUntil(lambda: not win.tags.counting and win.tags.panel.model.rowCount() > 0, timeout=10_000)
    win.tags.dock.show()
    win.tags.dock.raise_()
    yield win
    win.close()


def wait_writes(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.writer.busy and not window.tags.executor.busy, timeout=15_000)


def texts(window: MainWindow) -> dict[str, str]:
    root = window.library.root
    return {name: (root / name).with_suffix(".txt").read_text(encoding="utf-8")
            if (root / name).with_suffix(".txt").exists() else "" for name in CAPTIONS}


def row_of(window: MainWindow, tag: str) -> int:
    panel = window.tags.panel
    return next(r for r in range(panel.proxy.rowCount()) if panel.tag_at(r) == tag)


def click_tag(qtbot: Any, window: MainWindow, tag: str, double: bool = False) -> None:
    table = window.tags.panel.table
    rect = table.visualRect(window.tags.panel.proxy.index(row_of(window, tag), 0))
    if double:  # as a mouse does it: press and release, then the double-click
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    else:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_counts_sorted_and_searchable(window: MainWindow) -> None:
    panel = window.tags.panel
    rows = panel.visible_tags()
    assert rows[:2] == [("1girl", 3), ("long hair", 2)]  # "long hair" inside the sentence is not a tag
    assert dict(rows) == {"1girl": 3, "long hair": 2, "solo": 1, "smile": 1, "blue eyes": 1, "landscape": 1,
                          "mountain": 1, "lake": 1}
    panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [t for t, _ in panel.visible_tags()][:3] == ["1girl", "blue eyes", "lake"]
    panel.search.setText("HAIR")
    assert panel.visible_tags() == [("long hair", 2)]
    assert "8 tags" in panel.summary.text()


def test_click_filters_the_grid(qtbot: Any, window: MainWindow) -> None:
    click_tag(qtbot, window, "long hair")
    qtbot.waitUntil(lambda: window.filter_edit.text() == 'tag:"long hair"', timeout=3000)  # after a double-click's time
    shown = {window.proxy.source_item(r).path.name for r in range(window.proxy.rowCount())}
    assert shown == {"a.png", "b.png"}
    click_tag(qtbot, window, "1girl")
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 3, timeout=3000)
    shown = {window.proxy.source_item(r).path.name for r in range(window.proxy.rowCount())}
    assert shown == {"a.png", "b.png", "c.png"}
    window.filter_edit.clear()
    window._apply_text_filter()
    assert window.proxy.rowCount() == len(CAPTIONS)


def test_double_click_adds_to_the_selection_as_one_undo_step(qtbot: Any, window: MainWindow) -> None:
    root = window.library.root
    before = texts(window)
    window.select_paths([root / "b.png", root / "d.png", root / "e.png"])
    click_tag(qtbot, window, "smile", double=True)
    qtbot.waitUntil(lambda: texts(window)["d.png"].endswith("smile"), timeout=10_000)
    qtbot.wait(QApplication.doubleClickInterval() + 100)
    assert window.filter_edit.text() == ""  # the double-click's first click did not filter
    wait_writes(qtbot, window)
    after = texts(window)
    assert after["b.png"] == "1girl, long hair, blue eyes, smile"
    assert after["d.png"] == "landscape, mountain, lake, smile"
    assert after["e.png"] == "smile"
    assert after["a.png"] == before["a.png"] and after["c.png"] == before["c.png"]
    qtbot.waitUntil(lambda: window.tags.counts.count("smile") == 4, timeout=5000)  # counts follow
    window.undo()
    wait_writes(qtbot, window)
    assert texts(window) == before
    window.redo()
    wait_writes(qtbot, window)
    assert texts(window) == after


def test_folder_rename_and_dedupe_from_the_panel(qtbot: Any, window: MainWindow) -> None:
    before = texts(window)
    window.tags.run_op(TagOp("rename", "long hair", "very long hair"), False)
    qtbot.waitUntil(lambda: "very long hair" in texts(window)["a.png"], timeout=10_000)
    wait_writes(qtbot, window)
    after = texts(window)
    assert after["c.png"] == before["c.png"]  # the sentence's "long hair" stays
    assert after["b.png"] == "1girl, very long hair, blue eyes"
    qtbot.waitUntil(lambda: window.tags.counts.count("very long hair") == 2, timeout=5000)
    assert window.tags.counts.count("long hair") == 0
    window.undo()
    wait_writes(qtbot, window)
    assert texts(window) == before
    menu = window.tags.panel.build_menu("solo")
    labels = [a.text() for a in menu.actions() if a.text()]
    assert any(label.startswith("Rename “solo”") for label in labels)
    assert "Remove duplicate tags in the folder" in labels


def test_tag_view_edits_the_caption_and_keeps_sentences(qtbot: Any, window: MainWindow) -> None:
    root = window.library.root
    window.select_paths([root / "c.png"])
    panel, view = window.caption_panel, window.tags.editor
    view.toggle_button.click()
    assert view.isVisible()
    assert view.segments() == [("sentence", "A girl with long hair, smiling at the sun."), ("tag", "1girl")]
    view.add_edit.setText("solo")
    view.add_edit.returnPressed.emit()
    assert panel.text() == "A girl with long hair, smiling at the sun., 1girl, solo"
    view.list.item(1).setText("2girls")  # rename in place
    qtbot.waitUntil(lambda: "2girls" in panel.text(), timeout=2000)
    assert panel.text() == "A girl with long hair, smiling at the sun., 2girls, solo"
    view.list.setCurrentRow(2)
    view.move_selected(-1)
    assert panel.text() == "A girl with long hair, smiling at the sun., solo, 2girls"
    view.list.model().moveRow(QModelIndex(), 2, QModelIndex(), 1)  # as a drag does it
    qtbot.waitUntil(lambda: panel.text() == "A girl with long hair, smiling at the sun., 2girls, solo", timeout=2000)
    view.list.model().moveRow(QModelIndex(), 1, QModelIndex(), 0)  # dragged before the sentence:
    qtbot.waitUntil(lambda: view.segments()[0][0] == "sentence", timeout=2000)  # sentences keep their place
    assert panel.text() == "A girl with long hair, smiling at the sun., 2girls, solo"
    view.list.setCurrentRow(2)
    view.move_selected(-1)
    view.list.clearSelection()
    view.list.item(0).setSelected(True)  # a sentence cannot be removed from the tag view
    view.list.item(2).setSelected(True)
    view.remove_selected()
    assert panel.text() == "A girl with long hair, smiling at the sun., solo"
    qtbot.waitUntil(lambda: texts(window)["c.png"] == "A girl with long hair, smiling at the sun., solo",
                    timeout=5000)  # autosaved like typing
    panel.editor.setPlainText("x, y")  # typing in the text updates the view
    qtbot.waitUntil(lambda: view.tags() == ["x", "y"], timeout=2000)


# The offscreen platform says these when the completer's popup opens.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing|propagateSizeHints)")
def test_autocomplete_offers_folder_tags_by_frequency(qtbot: Any, window: MainWindow) -> None:
    assert window.tags.completions.stringList()[:2] == ["1girl", "long hair"]
    completer = window.tags.editor.add_edit.completer()
    completer.setCompletionPrefix("l")
    found = [completer.completionModel().index(i, 0).data() for i in range(completer.completionCount())]
    # Tags containing "l", most frequent first, then by name.
    assert found == ["1girl", "long hair", "blue eyes", "lake", "landscape", "smile", "solo"]
    root = window.library.root
    window.select_paths([root / "d.png"])
    editor = window.caption_panel.editor
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus, timeout=2000)
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, ", lo")
    text_completer = window.tags.editor.text_completer
    qtbot.waitUntil(lambda: text_completer.completer.popup().isVisible(), timeout=2000)
    assert text_completer.completer.currentCompletion() == "long hair"
    qtbot.keyClick(text_completer.completer.popup(), Qt.Key.Key_Return)
    assert editor.toPlainText() == "landscape, mountain, lake, long hair"


def test_a_big_change_recounts_in_the_background(qtbot: Any, window: MainWindow, monkeypatch: Any) -> None:
    from desktop_app.ui import tag_controller

    monkeypatch.setattr(tag_controller, "INCREMENTAL_LIMIT", 1)
    window.tags.run_op(TagOp("add_front", "sks"), False)
    qtbot.waitUntil(lambda: window.tags.counts.count("sks") == len(CAPTIONS), timeout=10_000)
    wait_writes(qtbot, window)
    assert window.tags.panel.visible_tags()[0] == ("sks", len(CAPTIONS))
    assert window.tags.completions.stringList()[0] == "sks"
