"""The window's tag features: the Tags dock, counts kept current off the GUI thread, batch tag ops.

Counting a folder runs on a private thread (100k captions take about two seconds); after
that each caption change updates the counts incrementally in the GUI thread (microseconds).
Batch operations are planned on that thread too and applied through the window's
`apply_batch`, so each is one undo step.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QStringListModel, Qt, QTimer, Slot
from PySide6.QtWidgets import QMenu, QWidget

from ..library.tags import DEFAULT_SEPARATOR, TagCounts, TagOp, count_tags, plan_op
from . import media_model
from .editing import BatchEdit, Change, SerialExecutor
from .media_model import Roles
from .tag_editor import TagEditor
from .tag_panel import TagPanel

log = logging.getLogger(__name__)

SEPARATOR_KEY = "tags/separator"
VIEW_KEY = "tags/view_shown"
_CAPTION = int(Roles.CaptionRole)
INCREMENTAL_LIMIT = 2000  # more changed captions at once than this: count the folder again


class TagController(QObject):
    """Adds the Tags dock and the caption panel's tag view to a `MainWindow`, and drives them."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.counts = TagCounts()
        self.completions = QStringListModel(self)
        self.executor = SerialExecutor("tag-counter", self)
        self._generation = 0
        self._counting = False
        self._dirty: set[Path] = set()  # captions changed while a count runs
        self.separator = str(window.qsettings.value(SEPARATOR_KEY, DEFAULT_SEPARATOR) or DEFAULT_SEPARATOR)
        media_model._FilterState.tag_separator = self.separator
        self.panel = TagPanel(window)
        self.panel.set_separator(self.separator)
        self.dock = window._dock(self.tr("Tags"), "tagsDock", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.tabifyDockWidget(window.settings_dock, self.dock)
        window.settings_dock.raise_()
        self._add_to_view_menu()
        self.editor = TagEditor(window.caption_panel.editor, self.completions)
        self.editor.set_separator(self.separator)
        window.caption_panel.add_tag_editor(self.editor)
        self.editor.set_shown(str(window.qsettings.value(VIEW_KEY, "false")).lower() == "true")
        self.editor.shown_changed.connect(lambda shown: window.qsettings.setValue(VIEW_KEY, shown))
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(250)
        self._refresh_timer.timeout.connect(self._show_counts)
        self._changed: set[Path] = set()  # captions changed, to count at the next turn
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._update_timer.timeout.connect(self._apply_changes)
        self.panel.filter_requested.connect(self.filter_by_tag)
        self.panel.add_requested.connect(self.add_to_selection)
        self.panel.op_requested.connect(self.run_op)
        self.panel.separator_changed.connect(self.set_separator)
        model = window.model
        model.modelReset.connect(self.recount)
        model.rowsInserted.connect(self.recount)
        model.rowsRemoved.connect(self.recount)
        model.dataChanged.connect(self._on_model_data_changed)

    def _add_to_view_menu(self) -> None:
        toggle = self.window.settings_dock.toggleViewAction()
        for menu in self.window.menuBar().findChildren(QMenu):
            if toggle in menu.actions():
                menu.insertAction(toggle, self.dock.toggleViewAction())
                menu.removeAction(toggle)
                menu.insertAction(self.dock.toggleViewAction(), toggle)
                return

    # -- counts ---------------------------------------------------------------------------------
    @Slot()
    def recount(self, *args: Any) -> None:
        """Count the whole folder again, on the counter's thread."""
        self._generation += 1
        self._counting = True
        self._dirty.clear()
        self._changed.clear()
        items = [(item.path, item.caption) for item in self.window.model.items()]
        self.panel.set_counting()
        self.executor.submit(partial(count_tags, items, self.separator),
                             partial(self._on_counted, self._generation))

    def _on_counted(self, generation: int, counts: TagCounts) -> None:
        if generation != self._generation:
            return  # a newer count is on its way
        self._counting = False
        self.counts = counts
        for path in self._dirty:
            item = self.window._item(path)
            counts.set_caption(path, item.caption if item is not None else "")
        self._dirty.clear()
        self._show_counts()

    def wait(self, timeout_ms: int = 10000) -> bool:
        """Block until a running count is in (tests, and the window's close)."""
        return self.executor.wait(timeout_ms)

    @property
    def counting(self) -> bool:
        """Whether a full count is under way."""
        return self._counting

    @Slot(QModelIndex, QModelIndex, list)
    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: list[int] | None = None) -> None:
        if roles and _CAPTION not in roles:
            return
        model = self.window.model
        self._changed.update(model.item(row).path for row in range(top.row(), bottom.row() + 1))
        if not self._update_timer.isActive():
            self._update_timer.start()

    @Slot()
    def _apply_changes(self) -> None:
        """Count the captions changed since the last call (a big batch recounts in the background)."""
        changed, self._changed = self._changed, set()
        if self._counting:
            self._dirty |= changed
            return
        if len(changed) > INCREMENTAL_LIMIT:
            self.recount()
            return
        updated = False
        for path in changed:
            item = self.window._item(path)
            updated |= self.counts.set_caption(path, item.caption if item is not None else "")
        if updated and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    @Slot()
    def _show_counts(self) -> None:
        self._refresh_timer.stop()
        rows = self.counts.most_common()
        self.panel.set_counts(rows, busy=self._counting)
        self.completions.setStringList([tag for tag, _ in rows])

    # -- settings -------------------------------------------------------------------------------
    @Slot(str)
    def set_separator(self, separator: str) -> None:
        """Split tags on `separator` from now on (saved in the settings)."""
        separator = separator or DEFAULT_SEPARATOR
        if separator == self.separator:
            return
        self.separator = separator
        self.window.qsettings.setValue(SEPARATOR_KEY, separator)
        media_model._FilterState.tag_separator = separator
        self.panel.set_separator(separator)
        self.editor.set_separator(separator)
        self.recount()
        if self.window.filter_edit.text().strip():
            self.window._apply_text_filter()  # a tag: query splits on the new separator

    # -- actions --------------------------------------------------------------------------------
    @Slot(str)
    def filter_by_tag(self, tag: str) -> None:
        """Show only the images whose caption has `tag`: the filter box gets the query `tag:"…"`."""
        quoted = tag.replace("\\", "\\\\").replace('"', '\\"')
        self.window.filter_edit.setText(f'tag:"{quoted}"')
        self.window._apply_text_filter()

    @Slot(str)
    def add_to_selection(self, tag: str) -> None:
        """Add `tag` after the last tag of every selected caption (one undo step)."""
        self.run_op(TagOp("add", tag), True)

    @Slot(object, bool)
    def run_op(self, op: TagOp, selection_only: bool) -> None:
        """Plan `op` over the folder or the selection off the GUI thread, then apply it."""
        window = self.window
        if window.library is None:
            return
        window.caption_panel.flush()  # the plan starts from what the user typed
        if selection_only:
            items = window._selected_captions()
            if not items and window.caption_panel.path is not None:
                item = window._item(window.caption_panel.path)
                items = [(item.path, item.caption)] if item is not None else []
            if not items:
                window.statusBar().showMessage(self.tr("Select the files to change first"), 5000)
                return
        else:
            items = [(item.path, item.caption) for item in window.model.items()]
        self.executor.submit(partial(plan_op, items, op, self.separator), partial(self._on_planned, op),
                             self._on_plan_failed)

    def _on_planned(self, op: TagOp, plan: list[tuple[Path, str, str]]) -> None:
        window = self.window
        changes = []
        for path, old, new in plan:
            item = window._item(path)
            if item is not None and item.caption == old:  # not changed meanwhile
                changes.append(Change(path, old, new))
        if not changes:
            window.statusBar().showMessage(self.tr("No caption changes"), 4000)
            return
        window.apply_batch(BatchEdit(op.label(len(changes)), changes))

    def _on_plan_failed(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 6000)

    def tag_view(self) -> QWidget:
        """The caption panel's tag view."""
        return self.editor
