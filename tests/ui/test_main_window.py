"""The main window end to end: drop, caption with the tiny model, stop, close, edit, batch edits.

The tiny Qwen3-VL has random weights, so captions are garbage: tests compare streamed text
with final captions and read the store and the sidecars, never the words.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QObject, QPointF, QSettings, Qt, QThread, QUrl, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from desktop_app.engine import ImageCaptioned
from desktop_app.library import Library, Status
from desktop_app.ui import style
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings_panel import RunSettings


pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),  # any Qt warning fails the test
    # The offscreen platform says this whenever a top-level window is shown.
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

RUN_TIMEOUT_MS = 60_000


# -- helpers --------------------------------------------------------------------------------
def make_images(folder: Path, count: int, start: int = 0) -> list[Path]:
    """`count` small images of different sizes and colours."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"img{i:02d}.png"
        Image.new("RGB", (48 + 8 * (i % 5), 40 + 6 * (i % 3)), (30 * i % 256, 90, 200 - 5 * i % 200)).save(path)
        paths.append(path)
    return paths


def drop(window: MainWindow, paths: list[Path]) -> None:
    """Drag `paths` onto the window as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(window.rect().center())
    with warnings.catch_warnings():  # PySide6 6.12 marks the only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def open_folder(qtbot: Any, window: MainWindow, folder: Path) -> None:
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        window.open_folder(folder)


def wait_writes(qtbot: Any, window: MainWindow) -> None:
    """Until every queued store write has run and its callback too."""
    qtbot.waitUntil(lambda: not window.writer.busy, timeout=15_000)


def sidecar(path: Path) -> str:
    return path.with_suffix(".txt").read_text(encoding="utf-8")


def assert_stopped(window: MainWindow) -> None:
    """No thread of the window is left running."""
    assert window.service.thread.isFinished()
    assert window.writer.active_threads() == 0
    assert window.opener.active_threads() == 0
    assert window.loader._pool.activeThreadCount() == 0


class Results(QObject):
    """Records, in the GUI thread, what the live panel and the editor showed at each result."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window
        self.captioned: dict[Path, ImageCaptioned] = {}
        self.live: dict[Path, str | None] = {}
        self.editor: dict[Path, str] = {}
        self.threads: set[Any] = set()
        window.service.image_captioned.connect(self._on_service_image_captioned)

    @Slot(int, object)
    def _on_service_image_captioned(self, job_id: int, result: ImageCaptioned) -> None:
        self.threads.add(QThread.currentThread())
        self.captioned[result.path] = result
        self.live[result.path] = self.window.live_panel.text_of(result.path)
        if self.window.caption_panel.path == result.path:
            self.editor[result.path] = self.window.caption_panel.text()


class Messages(QObject):
    """Collects the string of a signal."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[str] = []

    @Slot(str)
    def on_message(self, text: str) -> None:
        self.received.append(text)


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def themed(qapp: QApplication) -> None:
    """The real theme, so a broken stylesheet shows up as a Qt warning (a failure)."""
    style.apply_theme(qapp)


@pytest.fixture
def ini(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot: Any, tmp_path: Path, ini: Path, tiny_model_dir: Path) -> Iterator[Any]:
    """Windows with settings in tmp_path and the tiny model on CPU; closed and checked after."""
    made: list[MainWindow] = []

    def factory(**overrides: Any) -> MainWindow:
        settings = QSettings(str(ini), QSettings.Format.IniFormat)
        if settings.value("run/settings") is None or overrides:
            values = dict(model=str(tiny_model_dir), device="cpu", dtype="fp32", max_new_tokens=24,
                          batch_size=4)
            values.update(overrides)
            settings.setValue("run/settings", RunSettings(**values).to_json())
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


# -- opening --------------------------------------------------------------------------------
def test_drop_folder_then_files(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    assert window.stack.currentWidget() is window.drop_hint
    photos = make_images(tmp_path / "photos", 6)
    with qtbot.waitSignal(window.folder_opened, timeout=15_000) as opened:
        drop(window, [tmp_path / "photos"])
        assert window.stack.currentIndex() == 1  # opening runs in the background
    assert opened.args == [(tmp_path / "photos").resolve()]
    assert window.model.rowCount() == 6
    assert window.stack.currentWidget() is window.grid
    assert window.caption_panel.path == photos[0]  # the first image is shown
    assert window.recent_folders()[0] == str((tmp_path / "photos").resolve())

    other = make_images(tmp_path / "more", 4, start=10)
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        drop(window, [other[1], other[3]])  # files: their folder opens, they are selected
    assert window.library.root == (tmp_path / "more").resolve()
    qtbot.waitUntil(lambda: window.grid.selected_paths() == [other[1], other[3]])


# -- running --------------------------------------------------------------------------------
def test_caption_all_streams_commits_and_writes_sidecars(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = make_images(tmp_path / "photos", 6)
    broken = tmp_path / "photos" / "broken.png"
    broken.write_bytes(b"not an image")
    open_folder(qtbot, window, tmp_path / "photos")
    window.select_paths([images[1]])
    assert window.caption_panel.path == images[1]
    results = Results(window)
    stages: list[str] = []
    window.service.stage_changed.connect(lambda *_: stages.append(window.stage_label.text()))

    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.caption_all()
        qtbot.waitUntil(lambda: bool(window.runs))
        assert {window.model.item(r).status for r in range(7)} <= {"queued", "generating", "done"}
        # A run going no longer greys captioning out: another run would be queued beside it.
        assert window.caption_all_action.isEnabled() and window.stop_action.isEnabled()
    assert finished.args == [False]
    wait_writes(qtbot, window)
    assert "Captioning: 7 files" in stages  # counted by the window (the engine's detail is English)

    assert set(results.captioned) == set(images)
    assert results.threads == {QThread.currentThread()}
    for path, result in results.captioned.items():
        assert results.live[path] == result.caption  # the live card streamed exactly it
    assert results.editor[images[1]] == results.captioned[images[1]].caption  # so did the editor
    assert window.caption_panel.text() == results.captioned[images[1]].caption.strip()
    library = window.library
    for path, result in results.captioned.items():
        record = library.item(path)
        assert record.status is Status.DONE and record.caption == result.caption.strip()
        assert sidecar(path) == result.caption.strip()
        assert window.model.item(window.model.row_of(path)).status == "done"
    assert library.item(broken).status is Status.FAILED
    assert window.model.item(window.model.row_of(broken)).status == "failed"
    assert [name for name, _ in window.log_panel.rows()] == ["broken.png"]
    assert window.progress_label.text().startswith("7 / 7")

    # A second run skips what is done; only the failed file is retried.
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
        window.caption_all()
    assert window.stage_label.text() == "Finished: 1 file"


def test_stop_cancels_quickly_and_restores_tiles(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window(max_new_tokens=4000, batch_size=2)
    images = make_images(tmp_path / "photos", 8)
    open_folder(qtbot, window, tmp_path / "photos")
    with qtbot.waitSignal(window.service.image_started, timeout=RUN_TIMEOUT_MS):
        window.caption_all()
    with qtbot.waitSignal(window.run_finished, timeout=5000) as finished:
        started = time.perf_counter()
        qtbot.keyClick(window.grid, Qt.Key.Key_Escape)  # Esc stops
    assert time.perf_counter() - started < 3
    assert finished.args == [True]
    wait_writes(qtbot, window)
    statuses = [window.model.item(window.model.row_of(p)).status for p in images]
    assert set(statuses) <= {"pending", "done"} and "pending" in statuses
    assert all(window.model.item(window.model.row_of(p)).live_text == "" for p in images)
    assert window.stage_label.text().startswith("Stopped")
    assert window.caption_all_action.isEnabled() and not window.stop_action.isEnabled()


def test_close_during_run_saves_finished_captions(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window(max_new_tokens=48, batch_size=2)
    images = make_images(tmp_path / "photos", 24)
    open_folder(qtbot, window, tmp_path / "photos")
    results = Results(window)
    with qtbot.waitSignal(window.service.image_captioned, timeout=RUN_TIMEOUT_MS):
        window.caption_all()
    assert window.running
    window.close()  # during the run
    assert_stopped(window)
    assert results.captioned and len(results.captioned) < len(images)
    with Library.open(tmp_path / "photos", data_dir=tmp_path / "data") as library:
        for path in images:
            record = library.item(path)
            if path in results.captioned:
                assert record.status is Status.DONE
                assert record.caption == results.captioned[path].caption.strip()
                assert sidecar(path) == record.caption
            else:
                assert record.status is Status.PENDING


def test_failed_model_load_explains_itself(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    window = make_window(model=str(empty))
    images = make_images(tmp_path / "photos", 3)
    open_folder(qtbot, window, tmp_path / "photos")
    messages = Messages()
    window.service.model_load_failed.connect(messages.on_message)
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
        window.caption_all()
    assert len(messages.received) == 1
    message = messages.received[0]
    assert str(empty) in message  # the engine's words: which folder, and what is wrong with it
    assert message in window.banner_text()
    assert window.banner_button.isVisible()  # offers the model manager
    assert any(message in text for _, text in window.log_panel.rows())
    assert [window.model.item(window.model.row_of(p)).status for p in images] == ["pending"] * 3


# -- editing --------------------------------------------------------------------------------
def test_edit_autosaves_and_undoes_in_the_store(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = make_images(tmp_path / "photos", 3)
    open_folder(qtbot, window, tmp_path / "photos")
    library, editor = window.library, window.caption_panel.editor
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)  # Enter: into the editor
    assert QApplication.focusWidget() is editor

    qtbot.keyClicks(editor, "a red square")
    assert library.item(images[0]).status is Status.PENDING  # not yet: debounced
    qtbot.waitUntil(lambda: library.item(images[0]).caption == "a red square", timeout=5000)
    assert library.item(images[0]).status is Status.EDITED
    wait_writes(qtbot, window)
    assert sidecar(images[0]) == "a red square"
    assert window.model.item(0).status == "edited"

    qtbot.keyClicks(editor, " on white")
    qtbot.waitUntil(lambda: library.item(images[0]).caption == "a red square on white", timeout=5000)
    qtbot.keyClick(editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: editor.toPlainText() == "a red square", timeout=5000)
    assert library.item(images[0]).caption == "a red square"
    assert sidecar(images[0]) == "a red square"
    qtbot.keyClick(editor, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: editor.toPlainText() == "a red square on white", timeout=5000)
    wait_writes(qtbot, window)
    assert sidecar(images[0]) == "a red square on white"

    # Moving on saves at once (no 500 ms wait), and the keyboard stays in the editor.
    editor.setPlainText("")
    qtbot.keyClicks(editor, "first")
    window.move_current(1)
    wait_writes(qtbot, window)
    assert library.item(images[0]).caption == "first"
    assert window.caption_panel.path == images[1]


def _captioned_folder(qtbot: Any, window: MainWindow, tmp_path: Path) -> list[Path]:
    images = make_images(tmp_path / "photos", 4)
    for path, text in zip(images, ["a red cat", "a cat and a dog", "a bird", ""]):
        if text:
            path.with_suffix(".txt").write_text(text, encoding="utf-8")
    open_folder(qtbot, window, tmp_path / "photos")
    return images


def test_find_replace_previews_then_undoes_in_one_step(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = _captioned_folder(qtbot, window, tmp_path)
    library = window.library
    assert library.item(images[0]).status is Status.EDITED  # a caption file the app did not write
    dialog = window.show_find_replace()
    dialog.find_edit.setText("cat")
    dialog.replace_edit.setText("lion")
    dialog.refresh()
    assert dialog.count_label.text() == "2 matches in 2 captions"
    assert library.item(images[0]).caption == "a red cat"  # a preview changes nothing
    dialog.regex_check.setChecked(True)
    dialog.find_edit.setText(r"a (\w+ )?(cat|bird)")
    dialog.replace_edit.setText(r"one \1\2")
    dialog.refresh()
    assert dialog.count_label.text() == "3 matches in 3 captions"
    assert "+ one red cat" in dialog.preview.toPlainText()
    dialog.find_edit.setText("(")
    dialog.refresh()
    assert "Invalid regular expression" in dialog.count_label.text()
    assert not dialog.apply_button.isEnabled()
    dialog.find_edit.setText("cat")
    dialog.replace_edit.setText("lion")
    dialog.regex_check.setChecked(False)
    dialog.refresh()
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: library.item(images[1]).caption == "a lion and a dog", timeout=5000)
    wait_writes(qtbot, window)
    assert [library.item(p).caption for p in images] == ["a red lion", "a lion and a dog", "a bird", ""]
    assert library.item(images[0]).status is Status.EDITED
    assert sidecar(images[0]) == "a red lion"
    assert window.model.item(0).caption == "a red lion"

    window.undo()  # one step takes the whole replacement back
    wait_writes(qtbot, window)
    assert [library.item(p).caption for p in images] == ["a red cat", "a cat and a dog", "a bird", ""]
    assert library.item(images[0]).status is Status.EDITED  # back to the imported edit
    assert sidecar(images[1]) == "a cat and a dog"
    assert window.model.item(1).caption == "a cat and a dog"
    window.redo()
    wait_writes(qtbot, window)
    assert library.item(images[1]).caption == "a lion and a dog"


def test_prepend_append_to_selection(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = _captioned_folder(qtbot, window, tmp_path)
    library = window.library
    window.select_paths([images[0], images[2], images[3]])
    qtbot.waitUntil(lambda: len(window.grid.selected_paths()) == 3)
    dialog = window.show_affix()
    dialog.prefix_edit.setText("ohwx")
    dialog.suffix_edit.setText("photo")
    assert "2 of 3 selected captions will change" in dialog.count_label.text()
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: library.item(images[2]).caption == "ohwx, a bird, photo", timeout=5000)
    wait_writes(qtbot, window)
    assert library.item(images[0]).caption == "ohwx, a red cat, photo"
    assert library.item(images[1]).caption == "a cat and a dog"  # not selected
    assert library.item(images[3]).caption == ""  # no caption: left alone
    assert sidecar(images[0]) == "ohwx, a red cat, photo"
    window.undo()
    wait_writes(qtbot, window)
    assert library.item(images[0]).caption == "a red cat"
    assert library.item(images[2]).caption == "a bird"


# -- keyboard and persistence ---------------------------------------------------------------
def test_keyboard_shortcuts(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    images = make_images(tmp_path / "photos", 5)
    open_folder(qtbot, window, tmp_path / "photos")
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)  # arrows move in the grid
    assert window.caption_panel.path == images[1]
    window.filter_action.trigger()  # Ctrl+F
    assert QApplication.focusWidget() is window.filter_edit
    window.escape_action.trigger()  # Esc with nothing running: back to the grid
    assert QApplication.focusWidget() is window.grid
    window.edit_caption_action.trigger()  # F2
    assert QApplication.focusWidget() is window.caption_panel.editor
    window.next_action.trigger()  # Alt+Down, from the editor
    assert window.caption_panel.path == images[2]
    shortcuts = {a.text(): [k.toString() for k in a.shortcuts()] for a in window.actions()}
    assert "Ctrl+Return" in shortcuts["Caption Selected"]
    assert "Esc" in shortcuts["Stop or Back to Grid"]
    assert "Ctrl+Y" in shortcuts["Redo"] and "Ctrl+Z" in shortcuts["Undo"]


def test_settings_and_layout_persist(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    make_images(tmp_path / "photos", 2)
    open_folder(qtbot, window, tmp_path / "photos")
    panel = window.settings_panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("tags"))
    panel.prompt_edit.setPlainText("Tags for {filename}, please")  # edited: a custom prompt
    panel.system_edit.setPlainText("You are terse.")
    panel.max_tokens_spin.setValue(77)
    panel.temperature_spin.setValue(0.7)
    panel.top_k_spin.setValue(40)
    panel.seed_spin.setValue(1234)
    panel.variants_spin.setValue(2)
    panel.batch_spin.setValue(3)
    panel.resolution_slider.setValue(2)
    panel.policy_combo.setCurrentIndex(panel.policy_combo.findData("overwrite_all"))
    assert panel.resolution_label.text() == "512 × 512 px · ≈ 256 visual tokens"
    expected = panel.settings()
    assert expected.preset == "custom" and expected.prompt == "Tags for {filename}, please"
    window.live_dock.hide()
    window.grid.set_tile_size(220)
    window.close()
    stored = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    for key in ("window/geometry", "window/state", "window/splitter"):
        assert not stored.value(key).isEmpty()

    again = make_window()
    assert again.settings_panel.settings() == expected
    assert again.live_dock.isHidden() and not again.settings_dock.isHidden()  # dock layout
    assert again.grid.tile_size() == 220
    assert again.last_folder() == str((tmp_path / "photos").resolve())
    assert [a.text() for a in again.recent_menu.actions()][0] == str((tmp_path / "photos").resolve())
    request = again.settings_panel.settings().request([tmp_path / "photos" / "img00.png"])
    assert request.params.max_new_tokens == 77 and request.batch_size == 3
    assert request.max_pixels == 512 * 512 and request.system_prompt == "You are terse."
