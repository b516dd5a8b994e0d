"""The main window's multi-image comparison: the "Compare Selected…" action and its dialog."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence

from ..library.comparisons import MAX_IMAGES, MIN_IMAGES


def _tr(text: str, n: int = -1) -> str:
    return QCoreApplication.translate("CompareController", text, None, n)


class CompareControllerMixin:
    """MainWindow's comparison actions (a mixin of the QMainWindow; see `compare_dialog`)."""

    def _build_compare_actions(self) -> None:
        """The actions, in the Caption menu and the grid's context menu."""
        self.compare_action = QAction(_tr("Compare Selected…"), self)
        self.compare_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.compare_action.setToolTip(_tr("Ask one question about the selected images (2 to 20)"))
        self.compare_action.triggered.connect(self.compare_selected)
        self.comparisons_action = QAction(_tr("Past Comparisons…"), self)
        self.comparisons_action.triggered.connect(self.show_comparisons)
        self.addAction(self.compare_action)
        view = self.grid
        if view.contextMenuPolicy() == Qt.ContextMenuPolicy.DefaultContextMenu:
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        view.addAction(self.caption_selected_action)
        view.addAction(self.compare_action)

    def _update_compare_actions(self) -> None:
        count = len(self.grid.selected_paths())
        ready = self.library is not None  # beside caption runs: its job shares the slots
        self.compare_action.setEnabled(ready and count >= MIN_IMAGES)
        self.comparisons_action.setEnabled(self.library is not None)
        if count > MAX_IMAGES:
            tip = _tr("At most %n images can be compared at once", MAX_IMAGES)
        else:
            tip = _tr("Ask one question about the selected images (2 to 20)")
        self.compare_action.setToolTip(tip)

    @Slot()
    def compare_selected(self) -> Any:
        """Open the comparison dialog for the selected images (2 to 20 of them)."""
        paths = self.grid.selected_paths()
        if self.library is None:
            return None
        if len(paths) < MIN_IMAGES:
            self.statusBar().showMessage(_tr("Select at least 2 images to compare them"), 5000)
            return None
        if len(paths) > MAX_IMAGES:
            self.show_banner(_tr("%n images are selected: a comparison takes at most 20. "
                                 "Select fewer images.", len(paths)), None)
            return None
        return self._open_compare(paths)

    @Slot()
    def show_comparisons(self) -> Any:
        """Open the comparison dialog on the folder's past comparisons."""
        if self.library is None:
            return None
        dialog = self._open_compare([])
        if dialog.history_view.count():
            dialog.history_view.setCurrentRow(0)
        return dialog

    def _open_compare(self, paths: list[Any]) -> Any:
        from .compare_dialog import CompareDialog

        self.caption_panel.flush()
        dialog = CompareDialog(self.service, self.library, self.writer, self.settings_panel.settings(),
                               paths, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialogs["compare"] = dialog  # closeEvent stops a comparison still running
        dialog.open()
        return dialog
