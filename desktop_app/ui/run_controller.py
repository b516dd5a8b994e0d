"""The main window's caption runs: start and stop, the CaptionService's signals, tile status, progress.

The service's signals come from its worker thread by way of the service (a QObject in the GUI
thread); the slots here are `@Slot` methods of the MainWindow, so they run in the GUI thread.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP

from ..engine import CaptionRequest, ImageCaptioned
from ..library import Library
from .media_model import Roles
from .settings_panel import RunSettings
from .store_ops import _plan_run, commit_result
from .widgets import _eta
from .i18n import plural

_STATUS_ROLES = [int(Roles.StatusRole), int(Qt.ItemDataRole.ToolTipRole), int(Roles.ItemRole)]
_STAGE_WORDS = {"loading": QT_TRANSLATE_NOOP("RunControllerMixin", "Loading model"),
                "loaded": QT_TRANSLATE_NOOP("RunControllerMixin", "Model ready"),
                "warmup": QT_TRANSLATE_NOOP("RunControllerMixin", "Warming up"),
                "ready": QT_TRANSLATE_NOOP("RunControllerMixin", "Model ready"),
                "captioning": QT_TRANSLATE_NOOP("RunControllerMixin", "Captioning"),
                "download": QT_TRANSLATE_NOOP("RunControllerMixin", "Downloading"),
                "idle": QT_TRANSLATE_NOOP("RunControllerMixin", "Ready")}


class RunControllerMixin:
    """MainWindow's caption runs and the service's signal handlers (a mixin of the QMainWindow)."""

    @Slot()
    def caption_all(self) -> None:
        """Caption every file the run policy allows."""
        self._begin_run(None)

    @Slot()
    def caption_selected(self) -> None:
        """Caption the selected files the run policy allows (Ctrl+Enter)."""
        selected = self.grid.selected_paths()
        if not selected and self.grid.current_path() is not None:
            selected = [self.grid.current_path()]
        if not selected:
            self.statusBar().showMessage(self.tr("Select files first (Ctrl+A selects all)"), 5000)
            return
        self._begin_run(selected)

    def _begin_run(self, subset: list[Path] | None) -> None:
        library = self.library
        if library is None or self.running or self._closed:
            return
        self.caption_panel.flush()
        settings = self.settings_panel.settings()
        try:
            settings.params().validate()
        except ValueError as exc:
            self.show_banner(self.tr("Cannot caption: %1").replace("%1", str(exc)), None)
            return
        if self.settings_panel.problem():  # e.g. a video trim that ends before it starts
            self.show_banner(self.tr("Cannot caption: %1").replace("%1", self.settings_panel.problem()), None)
            return
        self._starting = True
        self._update_actions()
        self.stage_label.setText(self.tr("Preparing…"))
        # pending() reads the store: on the writer, after the edits queued before it; the
        # request (one item per file, 100k of them) is built there too.
        self.writer.submit(partial(_plan_run, library, settings, subset),
                           partial(self._start_job, library, settings, subset is not None),
                           self._on_start_failed)

    def _start_job(self, library: Library, settings: RunSettings, selection: bool,
                   plan: tuple[list[Path], CaptionRequest | None]) -> None:
        paths, request = plan
        self._starting = False
        if library is not self.library or self._closed:
            self._update_actions()
            return
        if not paths:
            self.stage_label.setText(self.tr("Ready"))
            self.statusBar().showMessage(
                (self.tr("Nothing to caption: every selected file is already captioned or edited.") if selection
                 else self.tr("Nothing to caption: every file is already captioned or edited."))
                + " " + self.tr("Choose “Overwrite” under Run settings to caption them again."), 8000)
            self._update_actions()
            return
        self.hide_banner()
        job = self.service.new_job(request, library.root)
        self._job, self._job_library, self._job_settings = job, library, settings
        self._finished_in_run = set()
        self._before_run = {}
        queued = {}
        for path in paths:
            item = self._item(path)
            if item is not None:
                self._before_run[path] = item.status
                queued[path] = "queued"
        self._set_statuses(queued)
        self.live_panel.clear()
        self.live_dock.raise_()
        self.progress_bar.set_progress(0, len(paths))
        self.progress_bar.show()
        self.progress_label.setText(f"0 / {len(paths):,}")
        self.rate_label.clear()
        self.service.load_model(settings.model, settings.engine_options())
        self.service.start(job)
        self._update_actions()
        self.run_started.emit(job.job_id)

    def _on_start_failed(self, message: str) -> None:
        self._starting = False
        self.stage_label.setText(self.tr("Ready"))
        self.show_banner(self.tr("Cannot start: %1").replace("%1", message), None)
        self._update_actions()

    @Slot()
    def stop(self) -> None:
        """Stop the run within one decoding step (Esc); finished captions are kept.

        With nothing running, Esc takes the keyboard back to the grid.
        """
        if self._job is None:
            if self.caption_panel.editor.hasFocus() or self.filter_edit.hasFocus():
                self.grid.setFocus()
            return
        self.service.cancel()
        self.stage_label.setText(self.tr("Stopping…"))

    def _set_statuses(self, statuses: dict[Path, str]) -> None:
        """Set many tiles' status with one dataChanged (per-row signals cost seconds at 100k)."""
        rows = []
        for path, status in statuses.items():
            row = self.model.row_of(path)
            if row is not None:
                self.model.item(row).status = status
                rows.append(row)
        if rows:
            self.model.dataChanged.emit(self.model.index(min(rows), 0), self.model.index(max(rows), 0),
                                        _STATUS_ROLES)
        current = self.caption_panel.path
        if current is not None and current in statuses:
            item = self._item(current)
            if item is not None:
                self.caption_panel.refresh(item)

    def _apply_record(self, path: Path, record: Any) -> None:
        """Show a library record on its tile and, if it is on screen, in the caption panel."""
        self._grid_live.pop(path, None)
        if record is None or self.model.row_of(path) is None:
            return
        self.model.update_item(path, status=record.status, caption=record.caption,
                               truncated=bool(record.truncated), failure=record.failure_reason or "",
                               live_text="", review=getattr(record.review, "value", record.review))
        item = self._item(path)
        if item is not None:
            self.caption_panel.refresh(item)

    @Slot(str, str)
    def _on_service_stage_changed(self, stage: str, detail: str) -> None:
        if stage == "idle" and self._job is not None:
            return  # the job's own end says how it went
        words = self.tr(_STAGE_WORDS[stage]) if stage in _STAGE_WORDS else stage.title()
        if stage == "captioning" and self._job is not None:  # the engine's detail is English
            n = len(self._job.request.items)
            self.stage_label.setText(plural(self.tr("%1: %2 file(s)"), n).replace("%2", f"{n:,}").replace("%1", words))
            return
        self.stage_label.setText(self.tr("%1: %2").replace("%2", detail).replace("%1", words) if detail and stage in ("loading", "captioning") else words)

    @Slot(str)
    def _on_service_model_loaded(self, description: str) -> None:
        self._model_description = description
        name, _, rest = description.partition(" on ")
        text = f"{Path(name).name or name} · {rest.split(' (')[0]}"
        self.model_label.setText(self.model_label.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideMiddle, self.model_label.width() - 12))
        self.model_label.setToolTip(description)
        self._update_memory()

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._model_description = ""
        self.model_label.setText(self.tr("No model loaded"))
        self.show_banner(self.tr("The model could not be loaded. %1").replace("%1", message))
        self.log_panel.add(None, f"model load failed: {message}")

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._model_description = ""
        self.model_label.setText(self.tr("No model loaded"))
        dialog = self._dialogs.get("models")
        if dialog is not None and hasattr(dialog, "set_current_model"):
            dialog.set_current_model(None)

    @Slot(object)
    def _on_service_image_started(self, path: Path) -> None:
        if self._job is None:
            return
        self.live_panel.image_started(path)
        if self.model.update_item(path, status="generating", live_text=""):
            item = self._item(path)
            if item is not None:
                self.caption_panel.refresh(item)

    @Slot(object)
    def _on_service_tokens_streamed(self, batch: list[tuple[Path, int, str, bool]]) -> None:
        if self._job is None:
            return  # another job's text (a comparison: its dialog shows it)
        self.live_panel.append(batch)
        for path, variant, text, reasoning in batch:
            if variant or reasoning:
                continue
            item = self._item(path)
            if item is not None:
                self._grid_live[path] = self._grid_live.get(path, item.live_text) + text
                self.caption_panel.append_stream(path, text)
        if self._grid_live and not self._grid_live_timer.isActive():
            self._grid_live_timer.start()

    @Slot()
    def _flush_grid_live(self) -> None:
        """Hand the streamed text gathered since the last flush to the grid's tiles."""
        self._grid_live_timer.stop()
        pending, self._grid_live = self._grid_live, {}
        for path, text in pending.items():
            item = self._item(path)
            if item is not None and item.status == "generating":
                self.model.set_live_text(path, text)

    @Slot(object)
    def _on_service_image_captioned(self, result: ImageCaptioned) -> None:
        if self._job is None:
            return  # a comparison's answer: its dialog stores it
        library, settings = self._job_library, self._job_settings
        self.live_panel.image_finished(result.path)
        self._finished_in_run.add(result.path)
        if library is None or settings is None:
            return
        self.writer.submit(partial(commit_result, library, result, settings.run_policy, settings.variants),
                           partial(self._on_result_committed, result.path),
                           partial(self._on_write_failed, result.path))

    def _on_result_committed(self, path: Path, outcome: tuple[Any, str | None]) -> None:
        record, problem = outcome
        self._apply_record(path, record)
        if problem:
            self.log_panel.add(path, problem)

    @Slot(object, str)
    def _on_service_image_failed(self, path: Path, reason: str) -> None:
        if self._job is None:
            return
        library = self._job_library
        self.live_panel.image_finished(path, reason)
        self._finished_in_run.add(path)
        self.log_panel.add(path, reason)
        if library is None:
            return

        def record() -> Any:
            library.record_failure(path, reason)
            return library.item(path)

        self.writer.submit(record, partial(self._apply_record, path), partial(self._on_write_failed, path))

    def _on_write_failed(self, path: Path, message: str) -> None:
        self.log_panel.add(path, f"could not save: {message}")
        if path == self.caption_panel.path:
            self.caption_panel.set_save_state(self.tr("Not saved"))

    @Slot(int, int, int, float, float)
    def _on_service_progress(self, done: int, failed: int, total: int, per_s: float, eta: float) -> None:
        self.progress_bar.set_progress(done + failed, total)
        failed_text = self.tr(" · %1 failed").replace("%1", f"{failed:,}") if failed else ""
        self.progress_label.setText(f"{done + failed:,} / {total:,}{failed_text}")
        rate = self.tr("%1 files/s").replace("%1", f"{per_s:.2f}" if per_s < 10 else f"{per_s:.0f}")
        self.rate_label.setText(self.tr("%1 · %2 left").replace("%2", _eta(eta)).replace("%1", rate) if eta >= 0 else rate)

    @Slot(int, bool)
    def _on_service_job_finished(self, job_id: int, cancelled: bool) -> None:
        if self._job is not None and job_id == self._job.job_id:
            self._end_run(cancelled, self.tr("Stopped") if cancelled else self.tr("Finished"))

    @Slot(int, str)
    def _on_service_job_failed(self, job_id: int, message: str) -> None:
        if self._job is None or job_id != self._job.job_id:
            return
        if not message.startswith("no model is loaded"):  # the load failure is already shown
            self.show_banner(self.tr("Captioning stopped: %1").replace("%1", message), None)
            self.log_panel.add(None, f"captioning stopped: {message}")
        self._end_run(True, self.tr("Failed"))

    def _end_run(self, cancelled: bool, word: str) -> None:
        """Put tiles that got no result back to what they were, and re-enable the controls."""
        self._grid_live.clear()
        left = {p: s for p, s in self._before_run.items() if p not in self._finished_in_run}
        if self._job_library is self.library:
            self._set_statuses(left)
            for path in left:
                self.model.set_live_text(path, "")
        elif self._job_library is not None:
            self.writer.submit(self._job_library.close)
        self._job = None
        self._job_library = None
        self._before_run = {}
        done = len(self._finished_in_run)
        self.stage_label.setText(plural(self.tr("%1: %2 file(s)"), done).replace("%2", f"{done:,}").replace("%1", word))
        self.progress_bar.hide()
        self.rate_label.setText(self.rate_label.text().split(" · ")[0])
        self._update_actions()
        self.run_finished.emit(cancelled)
