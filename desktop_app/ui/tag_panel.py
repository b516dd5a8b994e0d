"""The folder's tags with their counts: search, sort, click to filter, double-click to add, batch ops."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPoint, QSortFilterProxyModel,
                            Qt, QTimer, Signal, Slot)
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QLineEdit, QMenu, QTableView, QVBoxLayout, QWidget)

from ..library.tags import TagOp
from . import style
from .i18n import plural

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class TagCountModel(QAbstractTableModel):
    """Rows of (tag, count); column 0 the tag, column 1 the count."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, int]] = []

    def set_counts(self, rows: list[tuple[str, int]]) -> None:
        """Show these (tag, count) rows (most frequent first)."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[tuple[str, int]]:
        """The rows shown, in model order."""
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 2

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        tag, count = self._rows[index.row()]
        if role == _DISPLAY:
            return tag if index.column() == 0 else f"{count:,}"
        if role == SORT_ROLE:
            return tag.casefold() if index.column() == 0 else count
        if role == int(Qt.ItemDataRole.TextAlignmentRole) and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == int(Qt.ItemDataRole.ToolTipRole):
            return plural(self.tr("%n caption(s) have “%1”", "", count), count).replace("%1", tag)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> Any:  # noqa: N802
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return self.tr("Tag") if section == 0 else self.tr("Count")
        return None


class TagPanel(QWidget):
    """A dock's content: the folder's tags by count, a search box, and tag operations.

    Signals:
        filter_requested(str): a tag was clicked: show only images having it.
        add_requested(str): a tag was double-clicked: add it to the selected captions.
        op_requested(object, bool): a batch `TagOp` from the context menu; whether it is for
            the selected images only (else the whole folder).
        separator_changed(str): the user typed another tag separator.
    """

    filter_requested = Signal(str)
    add_requested = Signal(str)
    op_requested = Signal(object, bool)
    separator_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TagCountModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search tags"))
        self.search.setClearButtonEnabled(True)
        self.search.addAction(style.icon("search", style.MUTED), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.selection_only = QCheckBox(self.tr("Selected files only"))
        self.selection_only.setToolTip(self.tr("Rename, delete, move and de-duplicate in the selected files "
                                               "only (else in the whole folder)"))
        self.separator_edit = QLineEdit(", ")
        self.separator_edit.setFixedWidth(48)
        self.separator_edit.setToolTip(self.tr("What separates tags in a caption"))
        self.separator_edit.editingFinished.connect(self._on_separator_edited)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setToolTip(self.tr("Click: show files with this tag · Double-click: add it to the "
                                      "selected captions · Right-click: rename, delete, move to front"))
        self._clicked_tag: str | None = None
        self._click_timer = QTimer(self)
        self._click_timer.setSingleShot(True)
        self._click_timer.timeout.connect(self._on_click_timer_timeout)
        self.table.clicked.connect(self._on_table_clicked)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        options = QHBoxLayout()
        options.addWidget(self.selection_only)
        options.addStretch(1)
        options.addWidget(QLabel(self.tr("Separator")))
        options.addWidget(self.separator_edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addLayout(options)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def set_counts(self, rows: list[tuple[str, int]], busy: bool = False) -> None:
        """Show the folder's (tag, count) rows; `busy` while a recount runs."""
        self.model.set_counts(rows)
        if busy:
            self.summary.setText(self.tr("Counting tags…"))
        else:
            total = sum(n for _, n in rows)
            self.summary.setText(self.tr("%1 tags · %2 uses").replace("%1", f"{len(rows):,}")
                                 .replace("%2", f"{total:,}") if rows else self.tr("No tags yet"))

    def set_counting(self) -> None:
        """Say a count is under way."""
        self.summary.setText(self.tr("Counting tags…"))

    def visible_tags(self) -> list[tuple[str, int]]:
        """(tag, count) as listed now (sorted and searched)."""
        rows = self.model.rows()
        return [rows[self.proxy.mapToSource(self.proxy.index(row, 0)).row()] for row in range(self.proxy.rowCount())]

    def separator(self) -> str:
        """The tag separator typed."""
        return self.separator_edit.text() or ", "

    def set_separator(self, separator: str) -> None:
        """Show `separator` (from the settings)."""
        self.separator_edit.setText(separator)

    def tag_at(self, proxy_row: int) -> str:
        """The tag listed at `proxy_row`."""
        return self.proxy.index(proxy_row, 0).data()

    @Slot()
    def _on_separator_edited(self) -> None:
        if not self.separator_edit.text():
            self.separator_edit.setText(", ")
        self.separator_changed.emit(self.separator())

    @Slot(QModelIndex)
    def _on_table_clicked(self, index: QModelIndex) -> None:
        # Wait out a double-click: filtering at once would hide the selection it adds to.
        self._clicked_tag = self.tag_at(index.row())
        self._click_timer.start(QApplication.doubleClickInterval())

    @Slot()
    def _on_click_timer_timeout(self) -> None:
        if self._clicked_tag is not None:
            self.filter_requested.emit(self._clicked_tag)
        self._clicked_tag = None

    @Slot(QModelIndex)
    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        self._click_timer.stop()
        self._clicked_tag = None
        self.add_requested.emit(self.tag_at(index.row()))

    @Slot(QPoint)
    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        menu = self.build_menu(self.tag_at(index.row()) if index.isValid() else None)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def build_menu(self, tag: str | None) -> QMenu:
        """The context menu for `tag` (None: only the tag-independent actions)."""
        menu = QMenu(self)
        where = self.tr("in the selected files") if self.selection_only.isChecked() else self.tr("in the folder")
        if tag is not None:
            menu.addAction(self.tr("Show files with “%1”").replace("%1", tag),
                           lambda: self.filter_requested.emit(tag))
            menu.addAction(self.tr("Add “%1” to the selected captions").replace("%1", tag),
                           lambda: self.add_requested.emit(tag))
            menu.addAction(self.tr("Add “%1” at the front of the selected captions").replace("%1", tag),
                           lambda: self.op_requested.emit(TagOp("add_front", tag), True))
            menu.addSeparator()
            menu.addAction(self.tr("Rename “%1” %2…").replace("%1", tag).replace("%2", where),
                           lambda: self._ask_rename(tag))
            menu.addAction(self.tr("Delete “%1” %2").replace("%1", tag).replace("%2", where),
                           lambda: self._request(TagOp("delete", tag)))
            menu.addAction(self.tr("Move “%1” to the front %2").replace("%1", tag).replace("%2", where),
                           lambda: self._request(TagOp("front", tag)))
            menu.addSeparator()
        menu.addAction(self.tr("Remove duplicate tags %1").replace("%1", where),
                       lambda: self._request(TagOp("dedupe")))
        return menu

    def _ask_rename(self, tag: str) -> None:
        new, ok = QInputDialog.getText(self, self.tr("Rename tag"), self.tr("New name for “%1”").replace("%1", tag),
                                       text=tag)
        if ok and new.strip() and new.strip() != tag:
            self._request(TagOp("rename", tag, new.strip()))

    def _request(self, op: TagOp) -> None:
        self.op_requested.emit(op, self.selection_only.isChecked())
