"""The model manager and export dialogs: cache listing, choosing, downloads with cancel, exports."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from desktop_app.engine import hub
from desktop_app.engine.models import KNOWN_MODELS
from desktop_app.library import Library
from desktop_app.ui.export_dialog import ExportDialog
from desktop_app.ui.model_manager import ModelManagerDialog
from tests.engine.test_hub import make_cached_repo
from tests.library.conftest import make_read_only, png_bytes  # noqa: F401 - make_read_only is a fixture

REPO_2B = "Qwen/Qwen3-VL-2B-Instruct"

# The offscreen platform says this when any top-level window is shown; harmless.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


# -- model manager ----------------------------------------------------------------------------
@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An HF cache holding a complete 2B Instruct and a partial 4B Instruct."""
    cache = tmp_path / "hf-cache"
    make_cached_repo(cache, REPO_2B, {"config.json": b"{}", "model.safetensors": b"w" * 2_500_000})
    make_cached_repo(cache, "Qwen/Qwen3-VL-4B-Instruct", {"config.json": b"{}"})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def manager(qtbot, hf_cache: Path) -> Iterator[Callable[..., ModelManagerDialog]]:
    """Open model managers; each is shut down (download thread joined) after the test."""
    dialogs: list[ModelManagerDialog] = []

    def _open(**kwargs: object) -> ModelManagerDialog:
        dialog = ModelManagerDialog(**kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(dialog)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield _open
    for dialog in dialogs:
        assert dialog.shutdown(5000), "a download thread outlived its test"


def row_of(dialog: ModelManagerDialog, source: str) -> int:
    for row in range(dialog.table.rowCount()):
        if dialog.table.item(row, 0).data(256) == source:  # Qt.UserRole
            return row
    raise AssertionError(f"{source} not listed")


def cell(dialog: ModelManagerDialog, source: str, column: int) -> str:
    return dialog.table.item(row_of(dialog, source), column).text()


def test_lists_known_models_and_marks_the_cached_one(manager) -> None:
    dialog = manager(current_model="Qwen3-VL-2B-Instruct")
    for spec in KNOWN_MODELS.values():
        row_of(dialog, spec.source)
    assert cell(dialog, REPO_2B, 4) == "yes, 2.50 MB"
    assert cell(dialog, REPO_2B, 0).endswith("(loaded)")
    assert cell(dialog, "Qwen/Qwen3-VL-4B-Instruct", 4).startswith("partial")
    assert cell(dialog, "Qwen/Qwen3-VL-8B-Thinking", 4) == "no"
    assert cell(dialog, "Qwen/Qwen3-VL-8B-Thinking", 3) == "Thinking"
    assert cell(dialog, "Qwen/Qwen3-VL-30B-A3B-Instruct", 3) == "Instruct · MoE"
    assert dialog.selected_source() == REPO_2B  # the loaded model is preselected
    assert not dialog.download_button.isEnabled()  # already complete
    assert dialog.unload_button.isEnabled()


def test_use_selected_and_unload_emit(manager, qtbot) -> None:
    dialog = manager(current_model=REPO_2B)
    dialog.select_model("Qwen/Qwen3-VL-8B-Instruct")
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == ["Qwen/Qwen3-VL-8B-Instruct"]
    with qtbot.waitSignal(dialog.model_chosen) as chosen:  # a double click uses the row too
        dialog.table.itemDoubleClicked.emit(dialog.table.item(row_of(dialog, REPO_2B), 1))
    assert chosen.args == [REPO_2B]
    with qtbot.waitSignal(dialog.unload_requested):
        dialog.unload_button.click()
    dialog.set_current_model(None)
    assert not dialog.unload_button.isEnabled()


def test_local_folder_is_validated(manager, qtbot, tiny_model_dir: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = manager()
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "photo.jpg").write_bytes(b"")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(bad))
    dialog.folder_button.click()
    assert "Not a usable checkpoint" in dialog.status_label.text()
    assert "config.json" in dialog.status_label.text()
    with pytest.raises(AssertionError):
        row_of(dialog, str(bad.resolve()))

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tiny_model_dir))
    dialog.folder_button.click()
    good = str(tiny_model_dir.resolve())
    assert dialog.selected_source() == good
    assert cell(dialog, good, 4) == "local folder"
    with qtbot.waitSignal(dialog.model_chosen) as chosen:
        dialog.use_button.click()
    assert chosen.args == [good]


def slow_downloader(started: threading.Event, steps: int = 2000) -> Callable[..., Path]:
    """A stand-in for hub.download_model that takes ~10 s unless cancelled."""

    def download(repo_id: str, cancel: threading.Event, on_progress: Callable[[int, int, str], None]) -> Path:
        started.set()
        for step in range(steps):
            if cancel.is_set():
                raise hub.DownloadCancelled("Download cancelled.")
            on_progress(step * 1_000_000, steps * 1_000_000, "model-00001-of-00002.safetensors")
            time.sleep(0.005)
        raise AssertionError("the download was never cancelled")

    return download


def test_download_shows_progress_and_cancel_stops_it(manager, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()
    monkeypatch.setattr(hub, "download_model", slow_downloader(started))
    dialog = manager()
    dialog.select_model("Qwen/Qwen3-VL-8B-Instruct")
    assert dialog.download_button.isEnabled()
    dialog.download_button.click()
    assert dialog.downloading and dialog.cancel_button.isEnabled()
    assert not dialog.use_button.isEnabled() and not dialog.download_button.isEnabled()
    shown = " MB of 2.00 GB — model-00001-of-00002.safetensors"
    qtbot.waitUntil(lambda: shown in dialog.progress_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=5000)
    assert dialog.progress_bar.isVisible()

    started_at = time.monotonic()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=3000)
    assert time.monotonic() - started_at < 2.0
    assert "cancelled" in dialog.status_label.text()
    assert not dialog.progress_bar.isVisible() and dialog.download_button.isEnabled()


def test_finished_download_refreshes_the_cache_column(manager, qtbot, hf_cache: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def download(repo_id: str, cancel: threading.Event, on_progress: Callable[..., None]) -> Path:
        on_progress(0, 10, "config.json")
        snapshot = make_cached_repo(hf_cache, repo_id, {"config.json": b"{}", "model.safetensors": b"w"})
        on_progress(10, 10, "model.safetensors")
        return snapshot

    monkeypatch.setattr(hub, "download_model", download)
    dialog = manager()
    dialog.select_model("Qwen/Qwen3-VL-8B-Thinking")
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as done:
        dialog.download_button.click()
    assert done.args == ["Qwen/Qwen3-VL-8B-Thinking"]
    assert cell(dialog, "Qwen/Qwen3-VL-8B-Thinking", 4).startswith("yes")
    assert dialog.status_label.text().startswith("Downloaded Qwen/Qwen3-VL-8B-Thinking")


def test_download_error_is_shown(manager, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    def download(repo_id: str, cancel: threading.Event, on_progress: Callable[..., None]) -> Path:
        raise hub.DownloadError(f"No network: cannot reach huggingface.co to download {repo_id}; x.")

    monkeypatch.setattr(hub, "download_model", download)
    dialog = manager()
    dialog.select_model("Qwen/Qwen3-VL-4B-Thinking")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=3000)
    assert dialog.status_label.text().startswith("No network: cannot reach huggingface.co")


def test_offline_says_so_and_never_downloads(manager, qtbot, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "download_model", lambda *a: pytest.fail("downloaded while offline"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    dialog = manager(offline=True)
    assert dialog.status_label.text().startswith("No network: no Qwen3-VL model is in the")
    dialog.select_model("Qwen/Qwen3-VL-8B-Instruct")
    assert not dialog.download_button.isEnabled() and not dialog.use_button.isEnabled()
    assert dialog.status_label.text().startswith("No network: Qwen3-VL-8B-Instruct is not in the cache")
    dialog._on_download_clicked()  # even when reached another way, nothing starts
    assert not dialog.downloading


def test_offline_with_a_cached_model_can_use_it(manager) -> None:
    dialog = manager(offline=True)
    dialog.select_model(REPO_2B)
    assert dialog.use_button.isEnabled() and not dialog.download_button.isEnabled()
    assert dialog.status_label.text().startswith("Offline: downloads are off. Qwen3-VL models: 1 ready")
    dialog.select_model("Qwen/Qwen3-VL-32B-Instruct")
    assert dialog.status_label.text().startswith("No network: Qwen3-VL-32B-Instruct")
    dialog.select_model(REPO_2B)  # the hint goes with the row it was about
    assert dialog.status_label.text().startswith("Offline: downloads are off.")


# -- export dialog ----------------------------------------------------------------------------
@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    """Three images, two of them captioned (one with two variants)."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (media / name).write_bytes(png_bytes())
    lib = Library.open(media, data_dir=tmp_path / "data")
    lib.record_result("a.png", "a red square", ["a red square", "crimson tile"], {"model": "tiny", "seed": 1})
    lib.record_result("b.png", "another square", ["another square"], {"model": "tiny", "seed": 2})
    yield lib
    lib.close()


@pytest.fixture
def export_dialog(qtbot, library: Library) -> Iterator[Callable[..., ExportDialog]]:
    dialogs: list[ExportDialog] = []

    def _open(**kwargs: object) -> ExportDialog:
        dialog = ExportDialog(library, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(dialog)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield _open
    for dialog in dialogs:
        assert dialog.wait(5000), "an export thread outlived its test"


def run_export(qtbot, dialog: ExportDialog) -> object:
    with qtbot.waitSignal(dialog.exported, timeout=10000) as blocker:
        dialog.export_button.click()
    assert not dialog.running
    return blocker.args[0]


def test_export_jsonl_into_a_folder(export_dialog, qtbot, tmp_path: Path) -> None:
    dialog = export_dialog()
    assert dialog.all_radio.text() == "All 2 captioned files" and not dialog.selected_radio.isVisible()
    dialog.set_format("jsonl")
    assert "captions.jsonl" in dialog.format_help.text()
    assert not dialog.variants_combo.isEnabled() and not dialog.ext_edit.isEnabled()
    dialog.set_target_folder(tmp_path / "out")
    result = run_export(qtbot, dialog)
    rows = [json.loads(line) for line in (tmp_path / "out" / "captions.jsonl").read_text().splitlines()]
    assert [r["path"] for r in rows] == ["a.png", "b.png", "c.png"]
    assert rows[0]["variants"] == ["a red square", "crimson tile"]
    assert result.written == [tmp_path / "out" / "captions.jsonl"]
    target = tmp_path / "out" / "captions.jsonl"
    assert dialog.summary_label.text() == f"1 written, 0 skipped, 0 failed.\nWrote {target}"
    assert not dialog.failures_view.isVisible()


def test_export_txt_beside_images_then_only_missing(export_dialog, qtbot, library: Library) -> None:
    dialog = export_dialog()
    dialog.set_format("txt")
    dialog.variants_combo.setCurrentIndex(dialog.variants_combo.findData("joined"))
    run_export(qtbot, dialog)
    assert (library.root / "a.txt").read_text() == "a red square\n\ncrimson tile"
    assert (library.root / "b.txt").read_text() == "another square"
    assert not (library.root / "c.txt").exists()
    summary = f"2 written, 0 skipped, 0 failed.\nBeside the files in {library.root}"
    assert dialog.summary_label.text() == summary

    dialog.only_missing_check.setChecked(True)
    result = run_export(qtbot, dialog)
    assert len(result.skipped) == 2 and dialog.summary_label.text() == "0 written, 2 skipped, 0 failed."


def test_export_only_the_selection_with_another_extension(export_dialog, qtbot, library: Library,
                                                          tmp_path: Path) -> None:
    dialog = export_dialog(selected=[library.root / "b.png", "c.png"])
    assert dialog.selected_radio.isVisible()
    assert dialog.selected_radio.text() == "The 1 captioned of 2 selected"
    dialog.selected_radio.setChecked(True)
    dialog.ext_edit.setText("caption")
    dialog.set_target_folder(tmp_path / "out")
    run_export(qtbot, dialog)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.caption"]


def test_read_only_target_shows_the_failures(export_dialog, qtbot, tmp_path: Path,
                                             make_read_only) -> None:  # noqa: F811 - the fixture
    out = tmp_path / "locked"
    out.mkdir()
    make_read_only(out)
    dialog = export_dialog()
    dialog.set_format("txt")
    dialog.set_target_folder(out)
    result = run_export(qtbot, dialog)
    assert len(result.failed) == 2 and result.written == []
    assert dialog.summary_label.text() == "0 written, 0 skipped, 2 failed."
    assert dialog.failures_view.isVisible()
    listed = dialog.failures_view.toPlainText().splitlines()
    assert [line.split(": ", 1)[0] for line in listed] == [str(out / "a.txt"), str(out / "b.txt")]
    assert all("Permission denied" in line for line in listed)


def test_unusable_options_are_refused_before_exporting(export_dialog, tmp_path: Path) -> None:
    dialog = export_dialog()
    dialog.folder_radio.setChecked(True)
    dialog.export_button.click()
    assert dialog.summary_label.text() == "Choose the folder to export into." and not dialog.running
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    dialog.set_target_folder(blocker)
    dialog.export_button.click()
    assert "is a file, not a folder" in dialog.summary_label.text()
    dialog.set_target_folder(None)
    dialog.ext_edit.setText("../x")
    dialog.export_button.click()
    assert dialog.summary_label.text().startswith("Sidecar extension:")


# -- screenshots ------------------------------------------------------------------------------
def shoot(widget: QWidget, path: Path) -> None:
    """Save a PNG of a widget once its pending layout requests have run."""
    QApplication.sendPostedEvents()
    QApplication.processEvents()
    assert widget.grab().save(str(path))


def test_screenshots(manager, export_dialog, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     make_read_only) -> None:  # noqa: F811 - the fixture
    """Save PNGs of both dialogs (idle, downloading, after an export, after failures)."""
    shots = tmp_path / "screenshots"
    shots.mkdir()
    dialog = manager(current_model=REPO_2B)
    dialog.select_model("Qwen/Qwen3-VL-8B-Instruct")
    shoot(dialog, shots / "model_manager.png")

    started = threading.Event()
    monkeypatch.setattr(hub, "download_model", slow_downloader(started))
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 20, timeout=5000)
    shoot(dialog, shots / "model_manager_downloading.png")
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=3000)

    exporter = export_dialog(selected=["a.png"])
    exporter.set_format("txt")
    shoot(exporter, shots / "export_dialog.png")
    exporter.set_target_folder(tmp_path / "export-out")
    run_export(qtbot, exporter)
    shoot(exporter, shots / "export_dialog_done.png")
    locked = tmp_path / "locked"
    locked.mkdir()
    make_read_only(locked)
    exporter.set_target_folder(locked)
    run_export(qtbot, exporter)
    shoot(exporter, shots / "export_dialog_failed.png")
    for name in ("model_manager", "model_manager_downloading", "export_dialog", "export_dialog_done",
                 "export_dialog_failed"):
        assert (shots / f"{name}.png").stat().st_size > 5000, name
