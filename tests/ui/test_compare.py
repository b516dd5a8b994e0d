"""Multi-image comparison in the window: the action, the dialog streaming through the worker, storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Slot

from desktop_app.ui.main_window import MainWindow
from tests.ui.test_main_window import (RUN_TIMEOUT_MS, ini, make_images, make_window, open_folder,  # noqa: F401
                                       themed, wait_writes)

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


class Streamed(QObject):
    """The answer view's text each time streamed text reached the dialog (GUI thread)."""

    def __init__(self, dialog: Any) -> None:
        super().__init__()
        self.dialog, self.seen = dialog, []
        dialog.service.tokens_streamed.connect(self._on_service_tokens_streamed)

    @Slot(int, object)
    def _on_service_tokens_streamed(self, job_id: int, batch: Any) -> None:
        self.seen.append(self.dialog.answer())


def test_action_enables_for_2_to_20_and_explains_more(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    paths = make_images(tmp_path / "many", 22)
    window: MainWindow = make_window()
    open_folder(qtbot, window, tmp_path / "many")
    window.select_paths(paths[:1])
    qtbot.waitUntil(lambda: len(window.grid.selected_paths()) == 1)
    assert not window.compare_action.isEnabled()
    window.select_paths(paths[:3])
    qtbot.waitUntil(lambda: window.compare_action.isEnabled())
    assert window.compare_action in window.grid.actions()  # the grid's context menu
    window.select_paths(paths)
    qtbot.waitUntil(lambda: len(window.grid.selected_paths()) == 22)
    assert "20" in window.compare_action.toolTip()
    assert window.compare_selected() is None
    assert "22 images are selected" in window.banner_text()


def test_comparison_streams_through_the_worker_and_is_stored(qtbot: Any, make_window: Any,
                                                            tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    paths = make_images(folder, 4)
    window: MainWindow = make_window(max_new_tokens=16)
    open_folder(qtbot, window, folder)
    window.select_paths(paths[:3])
    qtbot.waitUntil(lambda: window.compare_action.isEnabled())
    dialog = window.compare_selected()
    assert dialog is not None and dialog.images_view.count() == 3
    streamed = Streamed(dialog)
    dialog.set_question("Which image is the most blue?")
    with qtbot.waitSignal(dialog.comparison_saved, timeout=RUN_TIMEOUT_MS) as saved:
        assert dialog.ask() is not None
        assert dialog.running and not dialog.ask_button.isEnabled()
    comparison = saved.args[0]
    assert comparison.paths == ("img00.png", "img01.png", "img02.png")
    assert comparison.question == "Which image is the most blue?"
    assert comparison.answer == dialog.answer()
    assert streamed.seen and any(streamed.seen)  # the answer grew on screen while it was written
    qtbot.waitUntil(lambda: not dialog.running)
    # The grid's captions were not touched by the comparison's answer.
    assert window.library.item(paths[0]).caption == ""
    assert dialog.history_view.count() == 1
    wait_writes(qtbot, window)
    assert [c.id for c in window.library.comparisons()] == [comparison.id]
    dialog.reject()

    # Reopened from the list of past comparisons.
    again = window.show_comparisons()
    assert again.answer() == comparison.answer and again.question() == comparison.question
    assert again.images_view.count() == 3
    again.reject()


def test_a_bad_image_fails_the_comparison_with_its_name(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    paths = make_images(folder, 2)
    broken = folder / "zz_broken.png"
    broken.write_bytes(b"not a png")
    window: MainWindow = make_window()
    open_folder(qtbot, window, folder)
    dialog = window._open_compare([*paths, broken])
    dialog.ask()
    qtbot.waitUntil(lambda: not dialog.running, timeout=RUN_TIMEOUT_MS)
    assert "zz_broken.png" in dialog.status_label.text()
    assert window.library.comparisons() == []
    dialog.reject()
