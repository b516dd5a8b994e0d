"""The main window's caption runs: start and stop, the CaptionService's signals, tile status, progress.

Several runs go at once: each Caption All / Caption Selected is its own job on the engine,
sharing its slots with the runs already going. The service's signals carry the job's id; the
slots here are `@Slot` methods of the MainWindow (GUI thread) and look the run up by that id
(a comparison's job is no run of the window: its dialog handles it). The status bar shows
the sum of every run since the last moment nothing was running; the live panel lists each
run with its own Stop.
"""

from __future__ import annotations

import html
import itertools
import logging
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP

from ..engine import CaptionRequest, ImageCaptioned
from ..library import Library
from ..library.run_lock import RunLock
from . import style
from .media_model import Roles
from .settings_panel import RunSettings
from .store_ops import _plan_run, commit_result, freeze_heap
from .widgets import _eta
from .worker import CaptionJob
from .i18n import plural

log = logging.getLogger(__name__)

_STATUS_ROLES = [int(Roles.StatusRole), int(Qt.ItemDataRole.ToolTipRole), int(Roles.ItemRole)]
_STAGE_WORDS = {"loading": QT_TRANSLATE_NOOP("RunControllerMixin", "Loading model"),
                "checking": QT_TRANSLATE_NOOP("RunControllerMixin", "Checking the decode loop"),
                "loaded": QT_TRANSLATE_NOOP("RunControllerMixin", "Model ready"),
                "warmup": QT_TRANSLATE_NOOP("RunControllerMixin", "Warming up"),
                "ready": QT_TRANSLATE_NOOP("RunControllerMixin", "Model ready"),
                "captioning": QT_TRANSLATE_NOOP("RunControllerMixin", "Captioning"),
                "download": QT_TRANSLATE_NOOP("RunControllerMixin", "Downloading"),
                "idle": QT_TRANSLATE_NOOP("RunControllerMixin", "Ready")}


@dataclass(eq=False)
class Run:
    """One caption run of the window: its job, where its results go, and how far it has got.

    `before`: each file's tile status before the run (put back for files it did not finish);
    `queued`: its files with no result yet (a second run leaves these out).
    """

    job: CaptionJob
    library: Library
    settings: RunSettings
    number: int
    selection: bool
    before: dict[Path, str] = field(default_factory=dict)
    queued: set[Path] = field(default_factory=set)
    done: int = 0
    failed: int = 0
    rate: float = 0.0
    eta: float = -1.0
    stopping: bool = False
    ended: bool = False

    @property
    def job_id(self) -> int:
        return self.job.job_id

    @property
    def total(self) -> int:
        """Its files; once it has ended, only those that got a result."""
        return self.done + self.failed if self.ended else len(self.job.request.items)

    @property
    def finished(self) -> int:
        return self.done + self.failed


class RunControllerMixin:
    """MainWindow's caption runs and the service's signal handlers (a mixin of the QMainWindow)."""

    def _init_runs(self) -> None:
        self._runs: dict[int, Run] = {}  # job id -> run, oldest first
        self._run_batch: list[Run] = []  # the runs the status bar sums (since nothing ran)
        self._run_numbers = itertools.count(1)
        self._starting = 0  # runs being planned on the writer
        self._storing: set[Path] = set()  # results on their way into the store
        self._run_locks: dict[Path, RunLock] = {}  # a library's database -> its held run lock

    @property
    def runs(self) -> list[Run]:
        """The runs going now (stopping ones too), oldest first."""
        return list(self._runs.values())

    @Slot()
    def caption_all(self) -> None:
        """Caption every file the run policy allows (beside the runs already going)."""
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
        if library is None or self._closed:
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
        self._starting += 1
        self._update_actions()
        if not self._runs:
            self.stage_label.setText(self.tr("Preparing…"))
        # pending() reads the store: on the writer, after the edits queued before it; the
        # request (one item per file, 100k of them) is built there too.
        self.writer.submit(partial(_plan_run, library, settings, subset),
                           partial(self._start_job, library, settings, subset is not None),
                           self._on_start_failed)

    def _start_job(self, library: Library, settings: RunSettings, selection: bool,
                   plan: tuple[list[Path], CaptionRequest | None]) -> None:
        paths, request = plan
        self._starting -= 1
        if library is not self.library or self._closed:
            self._update_actions()
            return
        taken = self._queued_in_runs(paths)
        if taken:  # another run will caption these: this one leaves them out
            paths = [p for p in paths if p not in taken]
            request = replace(request, items=tuple(i for i in request.items if i.path not in taken))
        if not paths:
            self._nothing_to_caption(selection, len(taken))
            return
        if not self.service.can_load(settings.model, settings.engine_options()):
            self.show_banner(self.tr("Cannot caption with %1 while a run with another model or device "
                                     "is going: stop it (Esc) or wait for it to end.")
                             .replace("%1", Path(settings.model).name or settings.model), None)
            self._update_actions()
            return
        if not self._lock_folder(library):
            self._update_actions()
            return
        self.hide_banner()
        run = Run(self.service.new_job(request, library.root), library, settings,
                  next(self._run_numbers), selection, queued=set(paths))
        if not self._runs:  # a fresh start: the live panel and the status bar begin again
            self.live_panel.clear()
            self._run_batch = []
        self._runs[run.job_id] = run
        self._run_batch.append(run)
        queued = {}
        for path in paths:
            item = self._item(path)
            if item is not None:
                run.before[path] = item.status
                queued[path] = "queued"
        self._set_statuses(queued)
        self.live_panel.add_run(run.job_id, self._run_title(run), self._run_tip(run, len(taken)))
        self.live_dock.raise_()
        self.progress_bar.show()
        self._show_progress()
        if taken:
            self.statusBar().showMessage(self._left_out(len(taken)), 8000)
        self.service.load_model(settings.model, settings.engine_options())
        self.service.start(run.job)
        self._update_actions()
        self.run_started.emit(run.job_id)

    def _queued_in_runs(self, paths: list[Path]) -> set[Path]:
        """Those of `paths` that a run going now has queued and not finished, or whose result
        is not in the store yet (the plan read the store before it)."""
        runs = [r for r in self._runs.values() if r.queued]
        if not runs and not self._storing:
            return set()
        return {p for p in paths if p in self._storing or any(p in r.queued for r in runs)}

    def _nothing_to_caption(self, selection: bool, taken: int) -> None:
        if not self._runs:
            self.stage_label.setText(self.tr("Ready"))
        if taken:
            text = plural(self.tr("Nothing to caption: the %1 file(s) are already queued in a run that is going."),
                          taken).replace("%1", f"{taken:,}")
        else:
            text = ((self.tr("Nothing to caption: every selected file is already captioned or edited.") if selection
                     else self.tr("Nothing to caption: every file is already captioned or edited."))
                    + " " + self.tr("Choose “Overwrite” under Run settings to caption them again."))
        self.statusBar().showMessage(text, 8000)
        self._update_actions()

    def _on_start_failed(self, message: str) -> None:
        self._starting -= 1
        if not self._runs:
            self.stage_label.setText(self.tr("Ready"))
        self.show_banner(self.tr("Cannot start: %1").replace("%1", message), None)
        self._update_actions()

    @Slot()
    def stop(self) -> None:
        """Stop the newest run still going (Esc, the toolbar's Stop) within one decoding step;
        finished captions are kept, the other runs go on.

        With nothing running, Esc takes the keyboard back to the grid.
        """
        run = next((r for r in reversed(self._runs.values()) if not r.stopping), None)
        if run is not None:
            self.stop_run(run.job_id)
        elif not self._runs and (self.caption_panel.editor.hasFocus() or self.filter_edit.hasFocus()):
            self.grid.setFocus()

    @Slot()
    def stop_all(self) -> None:
        """Stop every run."""
        for job_id in list(self._runs):
            self.stop_run(job_id)

    @Slot(int)
    def stop_run(self, job_id: int) -> None:
        """Stop one run (its Stop in the live panel); the others keep their slots."""
        run = self._runs.get(job_id)
        if run is None or run.stopping:
            return
        run.stopping = True
        self.service.cancel(job_id)
        self.live_panel.update_run(job_id, self._run_title(run), stopping=True)
        self._show_run_stage()
        self._update_actions()

    # -- what the status bar and the live panel say about runs --------------------------------
    def _run_title(self, run: Run) -> str:
        """A run's line in the live panel: its number, kind and count."""
        kind = self.tr("Selected") if run.selection else self.tr("All")
        count = self.tr("stopping…") if run.stopping else f"{run.finished:,} / {run.total:,}"
        return self.tr("Run %1 · %2 · %3").replace("%1", str(run.number)).replace("%2", kind).replace("%3", count)

    def _run_tip(self, run: Run, taken: int) -> str:
        n = len(run.job.request.items)
        tip = plural(self.tr("%1 file(s) of %2 · Stop stops this run only"), n).replace(
            "%1", f"{n:,}").replace("%2", run.library.root.name)
        if taken:
            tip += "\n" + self._left_out(taken)
        return tip

    def _left_out(self, taken: int) -> str:
        return plural(self.tr("%1 file(s) already queued in another run were left out of this one"),
                      taken).replace("%1", f"{taken:,}")

    def _show_run_stage(self) -> None:
        """The stage label while runs go: 'Captioning: 7 files', or the count of runs."""
        runs = [r for r in self._runs.values() if not r.stopping]
        if not runs:
            if self._runs:
                self.stage_label.setText(self.tr("Stopping…"))
            return
        words = self.tr(_STAGE_WORDS["captioning"])
        files = sum(len(r.job.request.items) for r in runs)
        if len(runs) == 1:
            text = plural(self.tr("%1: %2 file(s)"), files).replace("%2", f"{files:,}").replace("%1", words)
        else:
            text = (self.tr("%1: %2 runs, %3 files").replace("%3", f"{files:,}")
                    .replace("%2", str(len(runs))).replace("%1", words))
        self.stage_label.setText(text)

    def _show_progress(self) -> None:
        """The progress bar, count and rate: the sum of the runs since nothing ran."""
        batch = self._run_batch
        done = sum(r.done for r in batch)
        failed = sum(r.failed for r in batch)
        total = sum(r.total for r in batch)
        going = [r for r in batch if not r.ended]
        per_s = sum(r.rate for r in going)
        if len(going) == 1:
            eta = going[0].eta
        else:
            left = sum(r.total - r.finished for r in going)
            eta = left / per_s if per_s > 0 else -1.0
        self.progress_bar.set_progress(done + failed, total)
        failed_text = self.tr(" · %1 failed").replace("%1", f"{failed:,}") if failed else ""
        self.progress_label.setText(f"{done + failed:,} / {total:,}{failed_text}")
        if not going:
            return
        rate = self.tr("%1 files/s").replace("%1", f"{per_s:.2f}" if per_s < 10 else f"{per_s:.0f}")
        self.rate_label.setText(self.tr("%1 · %2 left").replace("%2", _eta(eta)).replace("%1", rate) if eta >= 0 else rate)

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
                               live_text="", review=getattr(record.review, "value", record.review),
                               problem=getattr(record, "problem", "") or "")
        item = self._item(path)
        if item is not None:
            self.caption_panel.refresh(item)

    @Slot(int, str, str)
    def _on_service_stage_changed(self, job_id: int, stage: str, detail: str) -> None:
        if stage == "idle" and self._runs:
            return  # a run's own end says how it went
        if stage == "captioning" and self._runs:
            self._show_run_stage()  # the engine's detail is English: the window counts itself
            return
        words = self.tr(_STAGE_WORDS[stage]) if stage in _STAGE_WORDS else stage.title()
        self.stage_label.setText(self.tr("%1: %2").replace("%2", detail).replace("%1", words) if detail and stage in ("loading", "captioning") else words)

    @Slot(str)
    def _on_service_model_loaded(self, description: str) -> None:
        self._model_description = description
        freeze_heap()  # the model's objects (torch, transformers) stay: keep GC passes short
        self._show_model_label()
        self._update_memory()

    @Slot(str, str)
    def _on_service_runner_chosen(self, runner: str, reason: str) -> None:
        """Remember which runner captions (shown with the model); the generate() fallback
        says why, once per reason, in the status bar and the Problems list."""
        self._runner = (runner, reason)
        if runner == "generate" and reason and reason != self._runner_warned:
            self._runner_warned = reason
            message = self.tr("Captioning with generate() instead of the decode loop (slower): %1").replace("%1", reason)
            self.statusBar().showMessage(message, 10000)
            self.log_panel.add(None, f"captioning with generate() instead of the decode loop: {reason}")

    def _show_model_label(self) -> None:
        """'name · device · runner' (the name elided to fit), the whole description in the tooltip."""
        description, label = self._model_description, self.model_label
        name, _, rest = description.partition(" on ")
        runner, reason = self._runner
        parts = [rest.split(" (")[0]]
        if runner == "continuous":
            parts.append(self.tr("continuous"))
            tip = self.tr("Continuous batching: captions decode together in one loop; a free slot "
                          "takes the next file at once")
        elif runner == "generate":
            parts.append("generate()")
            tip = self.tr("Captions with transformers' generate(), batch by batch (slower): %1").replace(
                "%1", reason or self.tr("chosen in the settings"))
        else:
            tip = ""
        tail = " · " + " · ".join(parts)
        metrics = label.fontMetrics()
        room = max(40, label.width() - 12 - metrics.horizontalAdvance(tail))
        text = metrics.elidedText(Path(name).name or name, Qt.TextElideMode.ElideMiddle, room) + tail
        if runner == "generate":  # the slower fallback stands out
            head, _, last = text.rpartition(" · ")
            text = f"{html.escape(head)} · <span style='color: {style.WARNING};'>{html.escape(last)}</span>"
        label.setTextFormat(Qt.TextFormat.RichText if runner == "generate" else Qt.TextFormat.PlainText)
        label.setText(text)
        label.setToolTip(description + (f"\n{tip}" if tip else ""))

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._model_description = ""
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label.setText(self.tr("No model loaded"))
        self.model_label.setToolTip("")
        self._runner = ("", "")
        self.show_banner(self.tr("The model could not be loaded. %1").replace("%1", message))
        self.log_panel.add(None, f"model load failed: {message}")

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._model_description = ""
        freeze_heap()  # the unload unfroze the heap to free the model's cycles
        self.model_label.setTextFormat(Qt.TextFormat.PlainText)
        self.model_label.setText(self.tr("No model loaded"))
        self.model_label.setToolTip("")
        self._runner = ("", "")
        dialog = self._dialogs.get("models")
        if dialog is not None and hasattr(dialog, "set_current_model"):
            dialog.set_current_model(None)

    @Slot(int, object)
    def _on_service_image_started(self, job_id: int, path: Path) -> None:
        if job_id not in self._runs:
            return  # a comparison's job: its dialog shows it
        self.live_panel.image_started(path, job_id)
        if self.model.update_item(path, status="generating", live_text=""):
            item = self._item(path)
            if item is not None:
                self.caption_panel.refresh(item)

    @Slot(int, object)
    def _on_service_tokens_streamed(self, job_id: int, batch: list[tuple[Path, int, str, bool]]) -> None:
        if job_id not in self._runs:
            return
        self.live_panel.append(batch, job_id)
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

    @Slot(int, object)
    def _on_service_image_captioned(self, job_id: int, result: ImageCaptioned) -> None:
        run = self._runs.get(job_id)
        if run is None:
            return  # a comparison's answer: its dialog stores it
        # No caption text (unfinished reasoning, an empty answer): the card says why.
        self.live_panel.image_finished(result.path, None if result.has_text
                                       else result.problem_message("Max new tokens"))
        run.queued.discard(result.path)
        self._storing.add(result.path)
        settings = run.settings
        self.writer.submit(partial(commit_result, run.library, result, settings.run_policy, settings.variants),
                           partial(self._on_result_committed, result.path),
                           partial(self._on_result_write_failed, result.path))

    def _on_result_committed(self, path: Path, outcome: tuple[Any, str | None]) -> None:
        self._storing.discard(path)
        record, problem = outcome
        self._apply_record(path, record)
        if problem:
            self.log_panel.add(path, problem)

    def _on_failure_recorded(self, path: Path, record: Any) -> None:
        self._storing.discard(path)
        self._apply_record(path, record)

    def _on_result_write_failed(self, path: Path, message: str) -> None:
        self._storing.discard(path)
        self._on_write_failed(path, message)

    @Slot(int, object, str)
    def _on_service_image_failed(self, job_id: int, path: Path, reason: str) -> None:
        run = self._runs.get(job_id)
        if run is None:
            return
        library = run.library
        self.live_panel.image_finished(path, reason)
        run.queued.discard(path)
        self._storing.add(path)
        self.log_panel.add(path, reason)

        def record() -> Any:
            library.record_failure(path, reason)
            return library.item(path)

        self.writer.submit(record, partial(self._on_failure_recorded, path),
                           partial(self._on_result_write_failed, path))

    def _on_write_failed(self, path: Path, message: str) -> None:
        self.log_panel.add(path, f"could not save: {message}")
        if path == self.caption_panel.path:
            self.caption_panel.set_save_state(self.tr("Not saved"))

    @Slot(int, int, int, int, float, float)
    def _on_service_progress(self, job_id: int, done: int, failed: int, total: int, per_s: float,
                             eta: float) -> None:
        run = self._runs.get(job_id)
        if run is None:
            return
        run.done, run.failed, run.rate, run.eta = done, failed, per_s, eta
        self._show_progress()
        self.live_panel.update_run(job_id, self._run_title(run))

    @Slot(int, bool)
    def _on_service_job_finished(self, job_id: int, cancelled: bool) -> None:
        if job_id in self._runs:
            self._end_run(job_id, cancelled, self.tr("Stopped") if cancelled else self.tr("Finished"))

    @Slot(int, str)
    def _on_service_job_failed(self, job_id: int, message: str) -> None:
        if job_id not in self._runs:
            return
        if not message.startswith("no model is loaded"):  # the load failure is already shown
            self.show_banner(self.tr("Captioning stopped: %1").replace("%1", message), None)
            self.log_panel.add(None, f"captioning stopped: {message}")
        self._end_run(job_id, True, self.tr("Failed"))

    def _end_run(self, job_id: int, cancelled: bool, word: str) -> None:
        """Put the run's tiles that got no result back to what they were; the other runs go on."""
        run = self._runs.pop(job_id)
        run.ended = True
        left = {p: s for p, s in run.before.items() if p in run.queued}
        for path in left:
            self._grid_live.pop(path, None)
        if run.library is self.library:
            self._set_statuses(left)
            for path in left:
                self.model.set_live_text(path, "")
        elif not self._uses_library(run.library):
            self.writer.submit(run.library.close)
        run.before, run.queued = {}, set()
        if not self._uses_library(run.library):
            self._unlock_folder(run.library)
        self.live_panel.run_ended(job_id)
        self._show_progress()
        if self._runs:
            self._show_run_stage()
        else:
            done = run.finished
            self.stage_label.setText(plural(self.tr("%1: %2 file(s)"), done).replace("%2", f"{done:,}").replace("%1", word))
            self.progress_bar.hide()
            self.rate_label.setText(self.rate_label.text().split(" · ")[0])
        self._update_actions()
        self.run_finished.emit(cancelled)
        self.run_ended.emit(job_id, cancelled)

    def _lock_folder(self, library: Library) -> bool:
        """Hold the folder's run lock while this window's runs write into it (the CLI takes the
        same lock): a `caption` run on the folder elsewhere refuses the window's, and waits for
        it. False, with a banner naming the other run, when it is busy."""
        key = library.db.path
        lock = self._run_locks.get(key) or RunLock(key.with_suffix(".lock"))
        try:
            held = lock.try_acquire()
        except OSError as exc:  # an unwritable data folder: the store will say more
            log.warning("cannot take the run lock %s: %s", lock.path, exc)
            return True
        if not held:
            self.show_banner(self.tr("Another caption run is working on this folder (%1): wait for "
                                     "it to end, then caption again.").replace("%1", lock.holder()), None)
            return False
        self._run_locks[key] = lock
        return True

    def _unlock_folder(self, library: Library) -> None:
        lock = self._run_locks.pop(library.db.path, None)
        if lock is not None:
            lock.release()

    def _uses_library(self, library: Library | None) -> bool:
        """Whether a run going now writes into `library`."""
        return any(r.library is library for r in self._runs.values())
