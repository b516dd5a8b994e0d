"""The comparison dialog's list of past comparisons: two-line entries, deleting one with confirmation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from desktop_app.ui.compare_dialog import QUESTION_ROLE
from desktop_app.ui.main_window import MainWindow
from tests.ui.test_main_window import ini, make_images, make_window, open_folder, themed, wait_writes  # noqa: F401

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

LONG = ("Which of these images has the warmest light, and how do their compositions differ from one "
        "another in the placement of the horizon?\nAnswer in one paragraph.")


def answer_box(dialog: Any, accept: bool) -> None:
    """Once the confirmation is up, press Delete (or Cancel) in it."""

    def press() -> None:
        box = next((b for b in dialog.findChildren(QMessageBox, "confirmDeleteComparison") if b.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, press)
            return
        os.makedirs("/tmp/polish2", exist_ok=True)
        box.grab().save("/tmp/polish2/compare_delete_confirm.png")
        if accept:
            next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole).click()
        else:
            box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(0, press)


@pytest.fixture
def dialog(qtbot: Any, make_window: Any, tmp_path: Path) -> Any:
    folder = tmp_path / "shots"
    paths = make_images(folder, 5)
    window: MainWindow = make_window()
    open_folder(qtbot, window, folder)
    library = window.library
    library.record_comparison("What differs?", paths[:2], "The colour.", "tiny")
    library.record_comparison(LONG, paths[:5], "The second one.", "tiny")
    library.record_comparison("Same character?", paths[2:4], "Yes.", "tiny")
    dlg = window.show_comparisons()
    yield dlg
    dlg.reject()


def test_past_comparisons_are_two_line_entries_with_room(qtbot: Any, dialog: Any) -> None:
    view = dialog.history_view
    assert view.count() == 3
    titles = [view.item(i).text() for i in range(3)]
    assert titles[0].endswith(" · 2 images") and titles[1].endswith(" · 5 images")
    assert view.item(1).data(QUESTION_ROLE) == LONG and view.item(1).toolTip() == LONG
    line = view.fontMetrics().height()
    rects = [view.visualItemRect(view.item(i)) for i in range(3)]
    assert all(r.height() >= 2 * line + 8 for r in rects)  # two lines and padding
    assert rects[0].bottom() < rects[1].top() and rects[1].bottom() < rects[2].top()  # no overlap
    dialog.resize(900, 560)
    qtbot.wait(50)
    os.makedirs("/tmp/polish2", exist_ok=True)
    dialog.grab().save("/tmp/polish2/compare_history.png")


def test_delete_asks_then_removes_the_comparison(qtbot: Any, dialog: Any) -> None:
    window = dialog.parent()
    view = dialog.history_view
    view.setCurrentRow(1)
    assert dialog.question() == LONG.strip() and dialog.delete_button.isEnabled()
    answer_box(dialog, accept=False)
    assert not dialog.delete_selected()  # cancelled: nothing happens
    assert len(window.library.comparisons()) == 3

    view.setFocus()
    answer_box(dialog, accept=True)
    qtbot.keyClick(view, Qt.Key.Key_Delete)  # the Del key
    wait_writes(qtbot, window)
    qtbot.waitUntil(lambda: view.count() == 2)
    assert [c.question for c in window.library.comparisons()] == ["Same character?", "What differs?"]
    assert "deleted" in dialog.status_label.text()
    assert view.currentRow() == 1 and dialog.question() == "What differs?"  # the next one is shown

    assert dialog.delete_action in view.actions()  # the context menu offers it too
    answer_box(dialog, accept=True)
    dialog.delete_action.trigger()
    wait_writes(qtbot, window)
    answer_box(dialog, accept=True)
    view.setCurrentRow(0)
    dialog.delete_button.click()
    wait_writes(qtbot, window)
    qtbot.waitUntil(lambda: view.count() == 0)
    assert window.library.comparisons() == []
    assert not dialog.delete_button.isEnabled() and dialog.answer() == ""
