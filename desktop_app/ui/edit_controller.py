"""The main window's editing: editor saves, review marks, undo/redo, find/replace, prepend/append."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot

from .editing import (AffixDialog, BatchEdit, BatchOutcome, FindReplaceDialog, Scope, apply_batch, redo_batch,
                      undo_batch)
from .media_model import Roles
from .store_ops import commit_edit, commit_review, step_history
from .i18n import plural

_REVIEW_ROLES = [int(Roles.ReviewRole), int(Qt.ItemDataRole.ToolTipRole), int(Roles.ItemRole)]


class EditControllerMixin:
    """MainWindow's caption editing and batch edits (a mixin of the QMainWindow)."""

    @Slot(object, str)
    def _on_caption_panel_caption_edited(self, path: Path, text: str) -> None:
        library = self.library
        item = self._item(path)
        if library is None or item is None:
            return
        status = item.status if item.status in ("queued", "generating") else "edited"
        self.model.update_item(path, caption=text, status=status, failure="", truncated=False,
                               problem="")
        self.caption_panel.refresh(item)
        self._last_action = "edit"
        self._update_actions()
        self.writer.submit(partial(commit_edit, library, path, text), partial(self._on_edit_saved, path),
                           partial(self._on_write_failed, path))

    def _on_edit_saved(self, path: Path, record: Any) -> None:
        if path == self.caption_panel.path and not self.caption_panel.has_pending_edit:
            self.caption_panel.set_save_state(self.tr("Saved"))

    @Slot(str)
    def _on_caption_panel_review_changed(self, review: str) -> None:
        """Mark every selected image (the shown one when it is not selected) with `review`."""
        library, current = self.library, self.caption_panel.path
        if library is None or current is None:
            return
        paths = self.grid.selected_paths()
        if current not in paths:
            paths = [current]
        self._set_reviews(paths, review)
        self.writer.submit(partial(commit_review, library, paths, review), self._on_reviews_saved,
                           partial(self._on_write_failed, current))
        if len(paths) > 1:
            n = len(paths)
            text = {"approved": self.tr("Approved %1 file(s)"), "flagged": self.tr("Flagged %1 file(s)")}.get(
                review, self.tr("Cleared the mark of %1 file(s)"))
            text = plural(text, n).replace("%1", f"{n:,}")
            self.statusBar().showMessage(text, 3000)

    def _set_reviews(self, paths: list[Path], review: str) -> None:
        """Set many tiles' review mark with one dataChanged (like `_set_statuses`)."""
        rows = []
        for path in paths:
            row = self.model.row_of(path)
            if row is not None:
                self.model.item(row).review = review
                rows.append(row)
        if rows:
            self.model.dataChanged.emit(self.model.index(min(rows), 0), self.model.index(max(rows), 0),
                                        _REVIEW_ROLES)
        current = self.caption_panel.path
        item = self._item(current) if current is not None else None
        if item is not None:
            self.caption_panel.refresh(item)

    def _on_reviews_saved(self, errors: list[tuple[Path, str]]) -> None:
        for path, message in errors:
            self.log_panel.add(path, f"could not save the review mark: {message}")

    @Slot()
    def undo(self) -> None:
        """Undo: the last batch edit if that was the last thing done, else the current caption."""
        self._history_step(forward=False)

    @Slot()
    def redo(self) -> None:
        """Redo: the batch edit just undone, else the current caption's next version."""
        self._history_step(forward=True)

    def _history_step(self, forward: bool) -> None:
        library = self.library
        if library is None:
            return
        self.caption_panel.flush()
        batch = self.batches.redo_target() if forward else self.batches.undo_target()
        if self._last_action == "batch" and batch is not None:
            fn = redo_batch if forward else undo_batch
            self.writer.submit(partial(fn, library, batch), partial(self._on_batch_stepped, forward))
            return
        path = self.caption_panel.path
        if path is None or self.caption_panel.is_streaming:
            return
        self._last_action = "edit"
        self.writer.submit(partial(step_history, library, path, forward),
                           partial(self._on_history_stepped, path, forward),
                           partial(self._on_write_failed, path))

    def _on_history_stepped(self, path: Path, forward: bool, outcome: tuple[bool, Any]) -> None:
        moved, record = outcome
        if not moved:
            self.statusBar().showMessage(self.tr("Nothing to redo") if forward else self.tr("Nothing to undo"), 2500)
            return
        self._apply_record(path, record)
        if path == self.caption_panel.path:
            self.caption_panel.set_save_state(self.tr("Saved"))
        self._update_actions()

    def _on_batch_stepped(self, forward: bool, outcome: BatchOutcome) -> None:
        if forward:
            self.batches.mark_redone()
        else:
            self.batches.mark_undone()
        self._show_batch_outcome(outcome, self.tr("Redone") if forward else self.tr("Undone"))

    def apply_batch(self, batch: BatchEdit) -> None:
        """Apply a batch edit (find/replace, prepend/append) in the background; one undo step."""
        library = self.library
        if library is None or not batch.changes:
            return
        self.caption_panel.flush()
        self.writer.submit(partial(apply_batch, library, batch), self._on_batch_applied)

    def _on_batch_applied(self, outcome: BatchOutcome) -> None:
        self.batches.push(outcome.batch)
        self._show_batch_outcome(outcome, self.tr("Done"))

    def _show_batch_outcome(self, outcome: BatchOutcome, word: str) -> None:
        for path, record in outcome.records.items():
            self._apply_record(path, record)
        for path, message in outcome.errors:
            self.log_panel.add(path, message)
        self._last_action = "batch"
        skipped = self.tr("; %1 changed since and left alone").replace("%1", f"{len(outcome.skipped):,}") if outcome.skipped else ""
        self.statusBar().showMessage(self.tr("%1: %2%3. Ctrl+Z / Ctrl+Y to undo or redo.").replace("%3", skipped).replace(
            "%2", outcome.batch.label).replace("%1", word), 8000)
        self._update_actions()

    def _scope(self) -> Scope:
        return Scope(all_items=lambda: [(i.path, i.caption) for i in self.model.items()],
                     selected_items=self._selected_captions)

    def _selected_captions(self) -> list[tuple[Path, str]]:
        out = []
        for path in self.grid.selected_paths():
            item = self._item(path)
            if item is not None:
                out.append((path, item.caption))
        return out

    @Slot()
    def show_find_replace(self) -> FindReplaceDialog | None:
        """Open the find-and-replace dialog (non-modal)."""
        if self.library is None:
            return None
        self.caption_panel.flush()
        dialog = self._dialogs.get("find")
        if not isinstance(dialog, FindReplaceDialog):
            dialog = FindReplaceDialog(self._scope(), self)
            dialog.apply_requested.connect(self.apply_batch)
            self._dialogs["find"] = dialog
        dialog.selected_radio.setEnabled(bool(self.grid.selected_paths()))
        dialog.refresh()
        if dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
        dialog.show()
        dialog.find_edit.setFocus()
        return dialog

    @Slot()
    def show_affix(self) -> AffixDialog | None:
        """Open the prepend/append dialog for the selected captions."""
        self.caption_panel.flush()
        items = self._selected_captions()
        if not items:
            self.statusBar().showMessage(self.tr("Select the files to change first (Ctrl+A selects all)"), 5000)
            return None
        dialog = AffixDialog(items, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.apply_requested.connect(self.apply_batch)
        dialog.show()
        return dialog
