"""The filter language in the real window's filter box, and the CLIP token counter under the editor."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from desktop_app.library.clip_tokens import TokenCountCache
from desktop_app.ui import grid_query, style
from desktop_app.ui.caption_panel import CaptionPanel
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.media_model import MediaItem
from desktop_app.ui.token_counter import TokenCounter

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

LONG = ", ".join(["highly detailed background"] * 20) + ", 1girl, final words here"
CAPTIONS = {
    "a.png": "1girl, solo, long hair, smile",
    "b.png": "1girl, long hair, blue eyes",
    "c.jpg": "A photo of a red car parked on a beach.",
    "d.png": LONG,
    "e.jpg": "",
}


@pytest.fixture(autouse=True)
def themed(qapp: QApplication) -> None:
    style.apply_theme(qapp)


@pytest.fixture
def fresh_counts(monkeypatch: pytest.MonkeyPatch) -> TokenCountCache:
    """A token cache of this test only (so counting really happens)."""
    cache = TokenCountCache()
    monkeypatch.setattr(grid_query, "TOKEN_COUNTS", cache)
    return cache


@pytest.fixture
def fresh_tags(monkeypatch: pytest.MonkeyPatch) -> grid_query.TagSets:
    """Tag sets of this test only."""
    sets = grid_query.TagSets()
    monkeypatch.setattr(grid_query, "TAG_SETS", sets)
    return sets


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, fresh_counts: TokenCountCache, fresh_tags: grid_query.TagSets) -> Iterator[MainWindow]:
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
    yield win
    win.filter_box.shutdown()
    win.close()


def shown(window: MainWindow) -> list[str]:
    proxy = window.proxy
    return sorted(proxy.source_item(row).path.name for row in range(proxy.rowCount()))


def type_query(qtbot: Any, window: MainWindow, text: str) -> None:
    """Type into the filter box as a user does, and let its debounce fire."""
    window.filter_edit.clear()
    qtbot.keyClicks(window.filter_edit, text)
    qtbot.waitUntil(lambda: not window._filter_timer.isActive(), timeout=3000)


def test_query_narrows_the_grid(qtbot: Any, window: MainWindow) -> None:
    assert len(shown(window)) == 5
    type_query(qtbot, window, "tag:1girl -tag:smile")
    assert shown(window) == ["b.png", "d.png"]
    type_query(qtbot, window, "name:*.jpg OR caption:solo")
    assert shown(window) == ["a.png", "c.jpg", "e.jpg"]
    type_query(qtbot, window, "hair")  # plain text: name or caption contains it, as before
    assert shown(window) == ["a.png", "b.png"]
    type_query(qtbot, window, "(tokens:>77 OR chars:<1) status:uncaptioned OR status:captioned tokens:>77")
    assert shown(window) == ["d.png", "e.jpg"]
    assert not window.filter_box.error and window.filter_box.message.isHidden()


def test_bad_query_shows_its_error_and_keeps_the_previous_view(qtbot: Any, window: MainWindow) -> None:
    type_query(qtbot, window, "tag:1girl")
    before = shown(window)
    assert before == ["a.png", "b.png", "d.png"]
    type_query(qtbot, window, "stauts:edited")
    box = window.filter_box
    assert shown(window) == before  # the last good filter stays
    assert box.error.startswith("unknown field 'stauts' at 1") and "'status'" in box.error
    assert box.message.isVisible() and box.message.text() == box.error
    assert style.DANGER in window.filter_edit.styleSheet()
    assert box.error in window.filter_edit.toolTip()
    type_query(qtbot, window, "(tag:1girl OR tag:solo")
    assert "missing ')' at 23" in box.error and shown(window) == before
    type_query(qtbot, window, "tokens:>abc")
    assert box.error.startswith("tokens needs a number: 'tokens:>abc'")
    type_query(qtbot, window, "status:failed OR car")  # fixed: applied, the error goes
    assert shown(window) == ["c.jpg"]
    assert not box.error and box.message.isHidden() and window.filter_edit.styleSheet() == ""
    assert "tag:" in window.filter_edit.toolTip() and "tokens:" in window.filter_edit.placeholderText()


def test_tokens_query_counts_off_the_gui_thread(qtbot: Any, window: MainWindow,
                                              fresh_counts: TokenCountCache,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid_query, "BACKGROUND_ABOVE", 0)  # even 4 captions go to the worker
    with qtbot.waitSignal(window.filter_box.applied, timeout=10_000):  # its tags may be split off-thread too
        type_query(qtbot, window, "tag:1girl")
    with qtbot.waitSignal(window.filter_box.applied, timeout=10_000) as applied:
        window.filter_edit.setText("tokens:>77")
        window._apply_text_filter()  # what the debounce calls (no event loop turn in between)
        assert window.filter_box.counting and "Counting CLIP tokens" in window.filter_box.message.text()
        assert shown(window) == ["a.png", "b.png", "d.png"]  # the old view until the counts are in
    assert applied.args == ["tokens:>77"]
    assert shown(window) == ["d.png"]
    assert fresh_counts.cached(LONG) is not None and fresh_counts.cached(LONG) > 77
    assert not window.filter_box.counting and window.filter_box.message.isHidden()


def test_tag_query_splits_off_the_gui_thread(qtbot: Any, window: MainWindow, fresh_tags: grid_query.TagSets,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid_query, "BACKGROUND_ABOVE", 0)
    with qtbot.waitSignal(window.filter_box.applied, timeout=10_000):
        window.filter_edit.setText('tag:"long hair"')
        window._apply_text_filter()
        assert "Reading the tags of 5 captions" in window.filter_box.message.text()
    assert shown(window) == ["a.png", "b.png"]
    assert fresh_tags.missing([CAPTIONS["a.png"]]) == []


def test_tag_separator_change_resplits(qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.ui.media_model import _FilterState

    type_query(qtbot, window, "tag:smile")
    assert shown(window) == ["a.png"]
    monkeypatch.setattr(_FilterState, "tag_separator", ";")  # as the tag panel sets it
    type_query(qtbot, window, "tag:smile")
    assert shown(window) == []  # "1girl, solo, long hair, smile" is one piece, and no tag


def test_edited_caption_is_refiltered_with_its_new_count(qtbot: Any, window: MainWindow) -> None:
    type_query(qtbot, window, "tokens:<10")
    assert shown(window) == ["e.jpg"]
    window.model.update_item(window.library.root / "c.jpg", caption="a car")
    assert shown(window) == ["c.jpg", "e.jpg"]


def test_token_counter_marks_the_overflow(qtbot: Any) -> None:
    panel = CaptionPanel()
    qtbot.addWidget(panel)
    counter = panel.token_counter
    panel.show_item(MediaItem(Path("/x/a.png"), "a.png", status="done", caption="a photo of a cat"))
    counter.update_count()
    assert counter.text() == "7 / 77 tokens"
    assert counter.styleSheet() == "" and not panel.editor.extraSelections()
    assert "start and end" in counter.toolTip()
    panel.show_item(MediaItem(Path("/x/b.png"), "b.png", status="done", caption=LONG))
    counter.update_count()
    report = counter.report()
    assert report is not None and report.over and counter.text() == f"{report.count} / 77 tokens"
    assert style.DANGER in counter.styleSheet()
    assert f"last {report.count - 77} tokens" in counter.toolTip() and "final words here" in counter.toolTip()
    (selection,) = panel.editor.extraSelections()
    assert LONG.endswith(selection.cursor.selectedText())
    assert selection.cursor.selectedText().endswith("1girl, final words here")
    panel.show_item(None)
    counter.update_count()
    assert counter.text() == "" and not panel.editor.extraSelections()


def test_token_counter_follows_typing_and_counts_utf16_right(qtbot: Any) -> None:
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    counter = TokenCounter(editor)
    editor.setPlainText("😀 " * 80)  # each emoji: 2 UTF-16 units in Qt, 1 character in Python
    qtbot.waitUntil(lambda: counter.text() != "", timeout=2000)
    report = counter.report()
    assert report is not None and report.over
    (selection,) = editor.extraSelections()
    assert selection.cursor.selectedText() == editor.toPlainText()[report.cut:]
    editor.setPlainText("short")
    qtbot.waitUntil(lambda: counter.text() == "3 / 77 tokens", timeout=2000)
    assert not editor.extraSelections()


def test_token_counter_keeps_counting_while_text_streams_in(qtbot: Any) -> None:
    """Tokens arriving faster than the counter's interval must not starve it (a throttle)."""
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    counter = TokenCounter(editor)
    seen: set[str] = set()
    for i in range(40):  # 40 appends 20 ms apart: 800 ms of streaming with no pause
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        editor.insertPlainText(f"word{i} ")
        qtbot.wait(20)
        seen.add(counter.text())
    seen.discard("")
    assert len(seen) >= 3, seen  # the count moved during the stream, not only after it
