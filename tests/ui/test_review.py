"""Review marks in the window: the panel's Approve / Flag buttons, tiles, filter pills, reopen."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from desktop_app.library import Review
from desktop_app.ui import style
from desktop_app.ui.caption_panel import APPROVE_SHORTCUT, FLAG_SHORTCUT
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.media_model import MediaItem, MediaListModel, Roles
from tests.ui.test_main_window import assert_stopped, make_images, open_folder, wait_writes

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),  # any Qt warning fails the test
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


@pytest.fixture(autouse=True)
def themed(qapp: QApplication) -> None:
    """The real theme, so a broken stylesheet shows up as a Qt warning (a failure)."""
    style.apply_theme(qapp)


@pytest.fixture
def make_window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    """Windows with settings and data in tmp_path (no model: nothing is captioned here)."""
    made: list[MainWindow] = []

    def factory() -> MainWindow:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, data_dir=tmp_path / "data")
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield factory
    for window in made:
        window.close()
        assert_stopped(window)


def tile_reviews(window: MainWindow) -> dict[Path, str]:
    """Each tile's review mark, as the view reads it (the role and the painted item)."""
    marks = {}
    for row in range(window.model.rowCount()):
        index = window.model.index(row, 0)
        item = index.data(Roles.ItemRole)
        assert isinstance(item, MediaItem)
        assert index.data(Roles.ReviewRole) == item.review
        marks[item.path] = item.review
    return marks


def shown(window: MainWindow) -> set[Path]:
    """The paths the filtered grid shows."""
    return {window.proxy.index(row, 0).data(Roles.PathRole) for row in range(window.proxy.rowCount())}


def test_approve_and_flag_the_selection_filter_and_reopen(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = make_images(tmp_path / "photos", 5)
    open_folder(qtbot, window, tmp_path / "photos")
    panel, library = window.caption_panel, window.library
    assert not window.filter_buttons["flagged"].isVisible()  # nothing marked yet

    window.select_paths([images[1], images[2]])
    assert panel.path == images[1]
    assert not panel.flag_button.isChecked() and not panel.approve_button.isChecked()
    panel.flag_button.click()
    assert panel.flag_button.isChecked() and not panel.approve_button.isChecked()
    wait_writes(qtbot, window)
    # Both selected images are flagged, not only the one shown: in the store and on the tiles.
    assert {p: library.item(p).review for p in images} == {
        images[0]: Review.NONE, images[1]: Review.FLAGGED, images[2]: Review.FLAGGED,
        images[3]: Review.NONE, images[4]: Review.NONE}
    assert tile_reviews(window) == {p: "flagged" if p in images[1:3] else "" for p in images}

    window._update_counts()
    assert window.filter_buttons["flagged"].isVisible()
    assert window.filter_buttons["flagged"].text() == "Flagged  2"
    window.filter_buttons["flagged"].click()
    assert window.proxy.status_filter() == "flagged"
    assert shown(window) == {images[1], images[2]}

    # Approve one of them from the Flagged view: it leaves the view, the other stays.
    window.select_paths([images[2]])
    assert panel.path == images[2] and panel.flag_button.isChecked()
    panel.approve_button.click()
    assert tile_reviews(window)[images[2]] == "approved"
    assert shown(window) == {images[1]}
    # The next flagged image comes up for review.
    assert panel.path == images[1] and panel.flag_button.isChecked() and not panel.approve_button.isChecked()
    window.set_status_filter("approved")
    assert shown(window) == {images[2]}
    window.set_status_filter("all")
    assert len(shown(window)) == 5
    wait_writes(qtbot, window)
    assert library.item(images[2]).review is Review.APPROVED
    assert library.item(images[1]).review is Review.FLAGGED

    # An edit keeps the mark.
    window.select_paths([images[2]])
    assert panel.approve_button.isChecked() and not panel.flag_button.isChecked()
    panel.editor.setFocus()
    qtbot.keyClicks(panel.editor, "a square")
    panel.flush()
    wait_writes(qtbot, window)
    assert library.item(images[2]).caption == "a square"
    assert library.item(images[2]).review is Review.APPROVED
    assert panel.approve_button.isChecked()

    window.close()
    again = make_window()
    open_folder(qtbot, again, tmp_path / "photos")
    assert tile_reviews(again) == {p: {images[1]: "flagged", images[2]: "approved"}.get(p, "") for p in images}
    again.set_status_filter("flagged")
    assert shown(again) == {images[1]}
    again.set_status_filter("all")
    again.select_paths([images[2]])
    assert again.caption_panel.approve_button.isChecked()
    again.caption_panel.approve_button.click()  # clicked again: the mark is cleared
    wait_writes(qtbot, again)
    assert again.library.item(images[2]).review is Review.NONE
    assert tile_reviews(again)[images[2]] == ""


def test_review_shortcuts_mark_the_shown_image(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = make_images(tmp_path / "photos", 3)
    open_folder(qtbot, window, tmp_path / "photos")
    window.activateWindow()
    window.select_paths([images[0]])
    panel = window.caption_panel
    assert panel.approve_button.shortcut().toString() == APPROVE_SHORTCUT
    assert panel.flag_button.shortcut().toString() == FLAG_SHORTCUT
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.grid, Qt.Key.Key_F, modifiers)
    qtbot.waitUntil(lambda: window.model.item(0).review == "flagged", timeout=3000)
    qtbot.keyClick(window.grid, Qt.Key.Key_K, modifiers)
    qtbot.waitUntil(lambda: window.model.item(0).review == "approved", timeout=3000)
    wait_writes(qtbot, window)
    assert window.library.item(images[0]).review is Review.APPROVED


def test_model_and_proxy_review_filter(qtbot: Any, tmp_path: Path) -> None:
    from desktop_app.ui.media_model import MediaFilterProxy

    model = MediaListModel()
    items = [MediaItem(tmp_path / f"{i}.png", f"{i}.png", review=r)
             for i, r in enumerate(["", "approved", "flagged", "flagged"])]
    model.set_items(items)
    proxy = MediaFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_status_filter("flagged")
    assert proxy.rowCount() == 2
    proxy.set_text_filter("3.png")
    assert proxy.rowCount() == 1 and proxy.status_filter() == "flagged"
    proxy.set_text_filter("")
    assert model.update_item(items[1].path, review="flagged")
    assert proxy.rowCount() == 3
    assert model.update_item(items[2].path, review="")
    assert proxy.rowCount() == 2
    proxy.set_status_filter("approved")
    assert proxy.rowCount() == 0
    assert "Review: flagged" in model.index(3, 0).data(Qt.ItemDataRole.ToolTipRole)
