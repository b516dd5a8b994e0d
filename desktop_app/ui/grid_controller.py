"""The main window's grid side: the filter bar, selection, the current tile, status counts."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QButtonGroup, QFrame, QHBoxLayout, QLineEdit, QMenu, QSlider, QToolButton, QWidget

from . import style
from .grid_query import FilterBox
from .media_model import STATUS_FILTERS, MediaItem
from .i18n import plural

_FILTER_PILLS = (("all", QT_TRANSLATE_NOOP("GridControllerMixin", "All")),
                 ("uncaptioned", QT_TRANSLATE_NOOP("GridControllerMixin", "To do")),
                 ("done", QT_TRANSLATE_NOOP("GridControllerMixin", "Done")),
                 ("edited", QT_TRANSLATE_NOOP("GridControllerMixin", "Edited")),
                 ("failed", QT_TRANSLATE_NOOP("GridControllerMixin", "Failed")),
                 ("truncated", QT_TRANSLATE_NOOP("GridControllerMixin", "Cut")),
                 ("approved", QT_TRANSLATE_NOOP("GridControllerMixin", "Approved")),
                 ("flagged", QT_TRANSLATE_NOOP("GridControllerMixin", "Flagged")))


class GridControllerMixin:
    """MainWindow's grid, filter and selection handling (a mixin of the QMainWindow)."""

    def _build_filter_bar(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("filterBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 8, 10, 8)
        row.setSpacing(4)
        self.filter_buttons: dict[str, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for key, label in _FILTER_PILLS:
            button = QToolButton()
            button.setObjectName("pill")
            button.setCheckable(True)
            button.setText(self.tr(label))
            button.clicked.connect(partial(self.set_status_filter, key))
            group.addButton(button)
            row.addWidget(button)
            self.filter_buttons[key] = button
        self.filter_buttons["all"].setChecked(True)
        row.addStretch(1)
        self.filter_edit = QLineEdit()
        self.filter_box = FilterBox(self.filter_edit, self.proxy, self)  # the filter language
        self.filter_edit.setPlaceholderText(self.tr("Filter: words, tag:x, status:edited, tokens:>77…  (Ctrl+F)"))
        self.filter_edit.addAction(style.icon("search", style.MUTED), QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setFixedWidth(320)
        self.filter_edit.textChanged.connect(self._on_filter_text_changed)
        self.sort_button = QToolButton()
        self.sort_button.setObjectName("flat")
        self.sort_button.setIcon(style.icon("sliders", style.MUTED))
        self.sort_button.setToolTip(self.tr("Sort order"))
        self.sort_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        sort_menu = QMenu(self.sort_button)
        sort_group = QActionGroup(self)
        for label, key, descending in ((self.tr("Sort by name"), "name", False), (self.tr("Newest first"), "mtime", True),
                                       (self.tr("Oldest first"), "mtime", False)):
            action = sort_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(key == "name")
            sort_group.addAction(action)
            action.triggered.connect(partial(self.proxy.set_sort, key, descending))
        self.sort_button.setMenu(sort_menu)
        row.addWidget(self.sort_button)
        self.zoom_slider = QSlider(Qt.Orientation.Horizontal)
        self.zoom_slider.setRange(80, 400)
        self.zoom_slider.setValue(self.grid.tile_size())
        self.zoom_slider.setFixedWidth(110)
        self.zoom_slider.setToolTip(self.tr("Tile size (Ctrl+wheel)"))
        self.zoom_slider.valueChanged.connect(self.grid.set_tile_size)
        self.grid.tile_size_changed.connect(self.zoom_slider.setValue)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(self._apply_text_filter)
        return bar

    def select_paths(self, paths: Iterable[Path]) -> None:
        """Select these files in the grid (clearing filters that hide them); the first is current."""
        indexes = []
        for path in paths:
            source = self.model.index_of(path)
            if not source.isValid():
                continue
            index = self.proxy.mapFromSource(source)
            if not index.isValid():
                self.set_status_filter("all")
                self.filter_edit.clear()
                self._apply_text_filter()
                index = self.proxy.mapFromSource(source)
            if index.isValid():
                indexes.append(index)
        if not indexes:
            return
        selection = QItemSelection()
        for index in indexes:
            selection.select(index, index)
        model = self.grid.selectionModel()
        model.setCurrentIndex(indexes[0], QItemSelectionModel.SelectionFlag.NoUpdate)
        model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(indexes[0])

    def current_item(self) -> MediaItem | None:
        """The item of the current tile."""
        path = self.grid.current_path()
        row = self.model.row_of(path) if path is not None else None
        return None if row is None else self.model.item(row)

    def _item(self, path: Path) -> MediaItem | None:
        row = self.model.row_of(path)
        return None if row is None else self.model.item(row)

    @Slot(object)
    def _on_grid_current_path_changed(self, path: Path | None) -> None:
        item = self._item(path) if path is not None else None
        self.caption_panel.show_item(item, self.loader.pixmap(path) if path is not None else None)

    @Slot(list)
    def _on_grid_selection_changed(self, paths: list[Path]) -> None:
        self._update_actions()
        if len(paths) > 1:
            self.statusBar().showMessage(self.tr("%1 selected").replace("%1", f"{len(paths):,}"), 3000)

    @Slot(object)
    def _on_grid_activated_path(self, path: Path) -> None:
        self.focus_editor()

    @Slot()
    def focus_editor(self) -> None:
        """Put the keyboard in the caption editor (Enter / F2)."""
        if self.caption_panel.path is not None:
            self.caption_panel.editor.setFocus()
            self.caption_panel.editor.moveCursor(self.caption_panel.editor.textCursor().MoveOperation.End)

    @Slot()
    def focus_filter(self) -> None:
        """Put the keyboard in the filter field (Ctrl+F)."""
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def move_current(self, step: int) -> None:
        """Show the previous/next tile, wherever the keyboard is (Alt+Up / Alt+Down)."""
        count = self.proxy.rowCount()
        if not count:
            return
        row = max(0, min(count - 1, self.grid.currentIndex().row() + step))
        self.grid.setCurrentIndex(self.proxy.index(row, 0))

    def zoom(self, factor: float) -> None:
        """Scale the tiles."""
        self.grid.set_tile_size(round(self.grid.tile_size() * factor))

    def set_status_filter(self, key: str) -> None:
        """Show only tiles of a status filter ('all', 'uncaptioned', 'done', ...)."""
        if key not in STATUS_FILTERS:
            raise ValueError(key)
        self.proxy.set_status_filter(key)
        self.filter_buttons[key].setChecked(True)

    @Slot(str)
    def _on_filter_text_changed(self, text: str) -> None:
        self._filter_timer.start()

    @Slot()
    def _apply_text_filter(self) -> None:
        self._filter_timer.stop()
        self.filter_box.apply(self.filter_edit.text())

    @Slot()
    def _on_model_data_changed(self, *args: Any) -> None:
        if not self._counts_timer.isActive():
            self._counts_timer.start()

    @Slot()
    def _update_counts(self) -> None:
        counts: dict[str, int] = {}
        truncated = 0
        for item in self.model.items():
            counts[item.status] = counts.get(item.status, 0) + 1
            truncated += item.truncated
            if item.review:
                counts[item.review] = counts.get(item.review, 0) + 1
        total = self.model.rowCount()
        todo = counts.get("pending", 0) + counts.get("failed", 0)
        numbers = {"all": total, "uncaptioned": todo, "done": counts.get("done", 0),
                   "edited": counts.get("edited", 0), "failed": counts.get("failed", 0), "truncated": truncated,
                   "approved": counts.get("approved", 0), "flagged": counts.get("flagged", 0)}
        for key, label in _FILTER_PILLS:
            self.filter_buttons[key].setText(f"{self.tr(label)}  {numbers[key]:,}" if total else self.tr(label))
        for key in ("truncated", "approved", "flagged"):  # shown once there is something to show
            self.filter_buttons[key].setVisible(numbers[key] > 0 or self.proxy.status_filter() == key)
        if total:
            self.counts_label.setText(plural(self.tr("%1 file(s) · %2 captioned"), total).replace("%1", f"{total:,}").replace(
                "%2", f"{numbers['done'] + numbers['edited']:,}"))
        else:
            self.counts_label.clear()
