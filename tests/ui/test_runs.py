"""Several caption runs at once in the window (issue 17): each Caption All / Caption Selected is
its own job sharing the engine's slots, with its own Stop; a file a run has queued is left out
of the next run. The tiny model's captions are garbage: the tests compare results with the
store and count them, never read the words."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QSettings, Qt, Slot

from desktop_app.engine import ImageCaptioned
from desktop_app.library import Status
from desktop_app.ui.main_window import MainWindow
from tests.ui.test_main_window import (RUN_TIMEOUT_MS, ini, make_images, make_window, open_folder,  # noqa: F401
                                       sidecar, themed, wait_writes)

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


class Seen(QObject):
    """Every result and every streamed batch of the window's service, by job (GUI thread)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.captioned: dict[Path, list[tuple[int, ImageCaptioned]]] = defaultdict(list)
        self.streamed: dict[int, int] = defaultdict(int)
        self.ended: list[tuple[int, bool]] = []
        self.both_in_panel = False
        self.window = window
        window.service.image_captioned.connect(self._on_service_image_captioned)
        window.service.tokens_streamed.connect(self._on_service_tokens_streamed)
        window.run_ended.connect(self._on_window_run_ended)

    @Slot(int, object)
    def _on_service_image_captioned(self, job_id: int, result: ImageCaptioned) -> None:
        self.captioned[result.path].append((job_id, result))

    @Slot(int, object)
    def _on_service_tokens_streamed(self, job_id: int, batch: Any) -> None:
        self.streamed[job_id] += len(batch)
        runs = {e.run for e in self.window.live_panel.entries() if e.state == "generating"}
        self.both_in_panel = self.both_in_panel or len(runs) >= 2

    @Slot(int, bool)
    def _on_window_run_ended(self, job_id: int, cancelled: bool) -> None:
        self.ended.append((job_id, cancelled))


def select(qtbot: Any, window: MainWindow, paths: list[Path]) -> None:
    window.select_paths(paths)
    qtbot.waitUntil(lambda: window.grid.selected_paths() == paths, timeout=5000)


def start(qtbot: Any, window: MainWindow, paths: list[Path] | None = None) -> Any:
    """Caption Selected (`paths`) or Caption All; returns the new run."""
    with qtbot.waitSignal(window.run_started, timeout=15_000) as started:
        if paths is None:
            window.caption_all()
        else:
            select(qtbot, window, paths)
            window.caption_selected()
    return next(r for r in window.runs if r.job_id == started.args[0])


def ini_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"  # the file `make_window` writes its settings to


def status(window: MainWindow, path: Path) -> str:
    return window.model.item(window.model.row_of(path)).status


def test_two_runs_at_once_both_complete_and_a_queued_file_is_captioned_once(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window(max_new_tokens=300, batch_size=4)
    images = make_images(tmp_path / "photos", 9)
    open_folder(qtbot, window, tmp_path / "photos")
    seen = Seen(window)
    first = start(qtbot, window, images[:3])
    qtbot.waitUntil(lambda: seen.streamed[first.job_id] > 0, timeout=RUN_TIMEOUT_MS)
    window.settings_panel.max_tokens_spin.setValue(24)
    assert window.caption_all_action.isEnabled()  # not greyed out while a run goes
    second = start(qtbot, window)  # Caption All: the first run's three files are left out
    assert [i.path for i in second.job.request.items] == images[3:]
    assert "already queued in another run" in window.statusBar().currentMessage()
    assert len(window.runs) == 2 and [r for r, _ in window.live_panel.runs()] == [first.job_id, second.job_id]
    qtbot.waitUntil(lambda: window.stage_label.text() == "Captioning: 2 runs, 9 files", timeout=5000)
    qtbot.waitUntil(lambda: len(seen.ended) == 2, timeout=2 * RUN_TIMEOUT_MS)
    assert sorted(seen.ended) == [(first.job_id, False), (second.job_id, False)]
    assert seen.ended[0] == (second.job_id, False)  # the short run did not wait for the long one
    assert seen.streamed[second.job_id] > 0 and seen.both_in_panel  # the panel showed both runs
    wait_writes(qtbot, window)

    for path in images:
        assert len(seen.captioned[path]) == 1, path  # once, by one run
        job_id, result = seen.captioned[path][0]
        assert job_id == (first.job_id if path in images[:3] else second.job_id)
        record = window.library.item(path)
        assert record.status is Status.DONE and record.caption == result.caption.strip()
        assert sidecar(path) == record.caption
        assert status(window, path) == "done"
    assert window.progress_label.text() == "9 / 9"  # the status bar summed both runs
    assert window.stage_label.text() == "Finished: 3 files"  # the run that ended last
    assert window.live_panel.runs() == [] and not window.stop_action.isEnabled()


def test_stopping_one_run_leaves_the_other_running_to_its_end(qtbot: Any, make_window: Any,
                                                              tmp_path: Path) -> None:
    window = make_window(max_new_tokens=4000, batch_size=3)
    images = make_images(tmp_path / "photos", 9)
    open_folder(qtbot, window, tmp_path / "photos")
    seen = Seen(window)
    long = start(qtbot, window, images[:6])  # three captions in flight, three never start
    qtbot.waitUntil(lambda: seen.streamed[long.job_id] > 0, timeout=RUN_TIMEOUT_MS)
    window.settings_panel.max_tokens_spin.setValue(16)
    short = start(qtbot, window, images[6:])
    assert {status(window, p) for p in images[6:]} == {"queued"}

    with qtbot.waitSignal(window.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        qtbot.mouseClick(window.live_panel.stop_button(long.job_id), Qt.MouseButton.LeftButton)
    assert ended.args == [long.job_id, True]
    assert not any(seen.captioned[p] for p in images[:6])  # stopped long before 4000 tokens
    assert [r.job_id for r in window.runs] == [short.job_id]  # the other run goes on
    assert [status(window, p) for p in images[:6]] == ["pending"] * 6  # back to what they were
    assert window.stop_action.isEnabled()

    with qtbot.waitSignal(window.run_ended, timeout=RUN_TIMEOUT_MS) as ended:
        pass
    assert ended.args == [short.job_id, False]
    wait_writes(qtbot, window)
    for path in images[6:]:
        (job_id, result), = seen.captioned[path]
        assert job_id == short.job_id
        assert window.library.item(path).caption == result.caption.strip()
        assert status(window, path) == "done"
    for path in images[:6]:
        assert window.library.item(path).status is Status.PENDING and not seen.captioned[path]
    assert window.stage_label.text() == "Finished: 3 files"


def test_esc_stops_the_newest_run_and_another_model_is_refused_meanwhile(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window(max_new_tokens=4000, batch_size=4)
    images = make_images(tmp_path / "photos", 6)
    open_folder(qtbot, window, tmp_path / "photos")
    seen = Seen(window)
    older = start(qtbot, window, images[:2])
    newer = start(qtbot, window, images[2:4])
    qtbot.waitUntil(lambda: seen.streamed[older.job_id] > 0 and seen.streamed[newer.job_id] > 0,
                    timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(window.run_ended, timeout=5000) as ended:
        qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    assert ended.args == [newer.job_id, True]
    before = seen.streamed[older.job_id]
    qtbot.waitUntil(lambda: seen.streamed[older.job_id] > before + 3, timeout=10_000)  # still decoding
    assert [r.job_id for r in window.runs] == [older.job_id]
    cards = {e.path: e.state for e in window.live_panel.entries()}
    assert cards[images[2]] == "stopped" and cards[images[0]] == "generating"

    # A run on another model would end the one going: refused, the run goes on.
    window.settings_panel.set_model(str(tmp_path / "another-model"))
    select(qtbot, window, images[4:])
    window.caption_selected()
    qtbot.waitUntil(lambda: "another model" in window.banner_text(), timeout=5000)
    assert [r.job_id for r in window.runs] == [older.job_id]
    assert {status(window, p) for p in images[4:]} == {"pending"}
    with qtbot.waitSignal(window.run_ended, timeout=5000) as ended:
        window.stop_all_action.trigger()
    assert ended.args == [older.job_id, True]


def test_the_status_bar_names_the_runner(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window(max_new_tokens=4)
    make_images(tmp_path / "photos", 1)
    open_folder(qtbot, window, tmp_path / "photos")
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS):
        window.caption_all()
    assert window.model_label.text().endswith(" · cpu · continuous")
    assert window.model_label.toolTip().startswith(str(window.settings_panel.settings().model))
    assert ", continuous batching\nContinuous batching: " in window.model_label.toolTip()
    assert not window.log_panel.rows()
    window.close()

    # The generate() runner says why it is used: in the tooltip, the status bar, the Problems list.
    fallback = MainWindow(QSettings(str(ini_path(tmp_path)), QSettings.Format.IniFormat),
                          data_dir=tmp_path / "data", runner="generate")
    qtbot.addWidget(fallback)
    fallback.show()
    open_folder(qtbot, fallback, tmp_path / "photos")
    with qtbot.waitSignal(fallback.service.model_loaded, timeout=RUN_TIMEOUT_MS):
        fallback.settings_panel.policy_combo.setCurrentIndex(
            fallback.settings_panel.policy_combo.findData("overwrite_all"))
        fallback.caption_all()
    label = fallback.model_label
    assert label.textFormat() == Qt.TextFormat.RichText and label.text().endswith(" · cpu · <span style='color: "
                                                                                  "#f0a040;'>generate()</span>")
    assert label.toolTip().endswith("generate() runner (chosen with --runner generate)\nCaptions with "
                                    "transformers' generate(), batch by batch (slower): chosen with --runner generate")
    assert fallback.statusBar().currentMessage() == ("Captioning with generate() instead of the decode loop "
                                                     "(slower): chosen with --runner generate")
    assert fallback.log_panel.rows() == [
        ("—", "captioning with generate() instead of the decode loop: chosen with --runner generate")]
    qtbot.waitUntil(lambda: not fallback.runs, timeout=RUN_TIMEOUT_MS)
    fallback.close()
    assert fallback.service.thread.isFinished()


def test_a_cli_run_on_the_folder_keeps_the_window_from_captioning_it_twice(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    """The window takes the folder's run lock (the one `caption` takes) while its runs write:
    held by another run, Caption All refuses with a banner naming it; free, it captions."""
    from desktop_app.library.run_lock import RunLock

    window = make_window(max_new_tokens=4000, batch_size=4)
    images = make_images(tmp_path / "photos", 3)
    open_folder(qtbot, window, tmp_path / "photos")
    other = RunLock.for_folder(tmp_path / "photos", tmp_path / "data")  # as a CLI run holds it
    assert other.try_acquire()
    window.caption_all()
    qtbot.waitUntil(lambda: "Another caption run is working on this folder" in window.banner_text(),
                    timeout=15_000)
    assert "process" in window.banner_text() and not window.runs
    assert {status(window, p) for p in images} == {"pending"}
    other.release()
    run = start(qtbot, window)
    assert not other.try_acquire()  # the window holds it while its run goes
    with qtbot.waitSignal(window.run_ended, timeout=RUN_TIMEOUT_MS):
        window.stop_action.trigger()
    assert run.job_id not in [r.job_id for r in window.runs]
    assert other.try_acquire()  # and lets it go when its last run ends
    other.release()
