"""The caption as a tag list under the text editor, and tag autocomplete in both.

The text editor stays the caption's truth: the tag view reads it, and each edit in the view
(add, remove, rename, reorder) rewrites it through `library.tags.set_tags`, which keeps
sentences and untouched spacing exactly as they were. Autocomplete leaves out the tags the
caption already has (compared as the tag counts compare them: case and underscores aside).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (QAbstractItemModel, QEvent, QModelIndex, QObject, QPersistentModelIndex,
                            QSortFilterProxyModel, QStringListModel, Qt, QTimer, Signal, Slot)
from PySide6.QtGui import QColor, QFont, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (QAbstractItemView, QCompleter, QHBoxLayout, QLineEdit, QListView, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QToolButton, QVBoxLayout, QWidget)

from ..library.tags import (DEFAULT_MATCH, DEFAULT_SEPARATOR, SENTENCE, TagCaption, separator_core, set_tags,
                            split_tags)
from . import style

KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 1


class ExcludingTagsModel(QSortFilterProxyModel):
    """The folder's tags (in the source's order) less those a caption already has."""

    def __init__(self, source: QAbstractItemModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self._excluded: frozenset[str] = frozenset()

    def set_excluded(self, tags: Iterable[str]) -> bool:
        """Leave out `tags` from now on; whether that changed anything (then rows are refiltered)."""
        keys = frozenset(DEFAULT_MATCH.key(tag) for tag in tags if tag.strip())
        if keys == self._excluded:
            return False
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
        self._excluded = keys
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - Qt < 6.9
            self.invalidateRowsFilter()
        return True

    def excluded(self) -> frozenset[str]:
        """The comparison keys of the tags left out."""
        return self._excluded

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not self._excluded:
            return True
        text = self.sourceModel().index(row, 0, parent).data()
        return DEFAULT_MATCH.key(str(text or "")) not in self._excluded


def make_completer(model: QAbstractItemModel, parent: QObject, contains: bool = True) -> QCompleter:
    """A completer over the folder's tags in the model's order (most frequent first).

    `contains`: offer tags containing the typed text anywhere (else only those starting so).
    """
    completer = QCompleter(parent)
    completer.setModel(model)
    completer.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains if contains else Qt.MatchFlag.MatchStartsWith)
    completer.setMaxVisibleItems(10)
    completer.popup().setStyleSheet(  # a popup is a window of its own: give it the theme
        f"QListView {{ background: {style.SURFACE}; color: {style.TEXT}; border: 1px solid {style.BORDER}; "
        f"padding: 2px; }} QListView::item {{ padding: 3px 6px; }} "
        f"QListView::item:selected {{ background: {style.ACCENT}; color: white; }}")
    return completer


class TextTagCompleter(QObject):
    """Offers the folder's tags while a tag is typed in a plain-text editor (after a separator)."""

    def __init__(self, editor: QPlainTextEdit, model: QAbstractItemModel, separator: str = DEFAULT_SEPARATOR) -> None:
        super().__init__(editor)
        self.editor = editor
        self.separator = separator
        self._inserting = False
        self.model = ExcludingTagsModel(model, self)  # the caption's other tags are not offered
        # Only tags starting with what is typed: prose typed in the editor seldom pops it up.
        self.completer = make_completer(self.model, self, contains=False)
        self.completer.setWidget(editor)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated[str].connect(self.insert_completion)
        self.completer.popup().installEventFilter(self)
        editor.textChanged.connect(self._on_editor_text_changed)

    def current_word(self) -> tuple[int, str]:
        """(start, text) of the tag being typed: from the last separator to the cursor."""
        cursor = self.editor.textCursor()
        before = self.editor.toPlainText()[: cursor.position()]
        cut = max(before.rfind(separator_core(self.separator)), before.rfind("\n"))
        start = cut + len(separator_core(self.separator)) if cut >= 0 and before[cut] != "\n" else cut + 1
        while start < len(before) and before[start] in " \t":
            start += 1
        return start, before[start:]

    def other_tags(self, start: int) -> list[str]:
        """The caption's tags but the one being typed (which begins at `start`)."""
        text = self.editor.toPlainText()
        position = self.editor.textCursor().position()
        ends = [i for i in (text.find(separator_core(self.separator), position), text.find("\n", position))
                if i >= 0]
        end = min(ends) if ends else len(text)
        return split_tags(text[:start] + text[end:], self.separator)

    def update_popup(self) -> bool:
        """Show or hide the popup for the word at the cursor; whether it is shown."""
        start, word = self.current_word()
        popup = self.completer.popup()
        if not word.strip() or len(word) > 64 or self.editor.isReadOnly():
            popup.hide()
            return False
        self.model.set_excluded(self.other_tags(start))
        self.completer.setCompletionPrefix(word)
        if self.completer.completionCount() == 0 or (
                self.completer.completionCount() == 1 and self.completer.currentCompletion() == word):
            popup.hide()
            return False
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.editor.cursorRect()
        rect.setWidth(max(220, popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width()))
        self.completer.complete(rect)
        return True

    @Slot(str)
    def insert_completion(self, tag: str) -> None:
        """Replace the word being typed by `tag`."""
        start, word = self.current_word()
        cursor = self.editor.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(start + len(word), QTextCursor.MoveMode.KeepAnchor)
        self._inserting = True
        cursor.insertText(tag)
        self._inserting = False
        self.editor.setTextCursor(cursor)
        self.completer.popup().hide()

    @Slot()
    def _on_editor_text_changed(self) -> None:
        if self._inserting:
            return
        if self.editor.hasFocus() and not self.editor.isReadOnly():
            QTimer.singleShot(0, self.update_popup)  # after the editor's cursor moved

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # Keys reach the popup first while it is open (the completer forwards the rest).
        if watched is self.completer.popup() and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            index = self.completer.popup().currentIndex()
            if index.isValid():
                self.insert_completion(index.data())
                return True
        return False


class TagEditor(QWidget):
    """The caption's tags as chips under the text editor: add, remove, rename, drag to reorder.

    Sentences are listed too, greyed, and cannot be edited or dragged; reordering tags around
    them leaves them where they are in the caption.

    Signals:
        shown_changed(bool): the tag view was shown or hidden.
    """

    shown_changed = Signal(bool)

    def __init__(self, editor: QPlainTextEdit, model: QAbstractItemModel | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.separator = DEFAULT_SEPARATOR
        self.completions = model if model is not None else QStringListModel(self)
        self._syncing = False
        self.toggle_button = QToolButton()
        self.toggle_button.setText(self.tr("Tags"))
        self.toggle_button.setCheckable(True)
        self.toggle_button.setToolTip(self.tr("Show the caption as a list of tags too"))
        self.toggle_button.toggled.connect(self.set_shown)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.ListMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setSpacing(3)
        self.list.setUniformItemSizes(False)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setStyleSheet(
            f"QListWidget {{ background: {style.SURFACE}; border-radius: 8px; padding: 4px; }}"
            f"QListWidget::item {{ background: {style.RAISED}; border: 1px solid {style.BORDER}; "
            f"border-radius: 9px; padding: 1px 8px; color: {style.TEXT}; }}"
            f"QListWidget::item:selected {{ background: {style.ACCENT}; color: white; }}")
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.list.model().rowsMoved.connect(self._on_list_rows_moved)
        self.add_edit = QLineEdit()
        self.add_edit.setPlaceholderText(self.tr("Add a tag…"))
        self.add_model = ExcludingTagsModel(self.completions, self)  # the caption's tags are not offered
        self.add_edit.setCompleter(make_completer(self.add_model, self))
        self.add_edit.returnPressed.connect(self._on_add_return_pressed)
        self.remove_button = self._button("✕", self.tr("Remove the selected tags (Delete)"), self.remove_selected)
        self.left_button = self._button("◀", self.tr("Move the selected tag earlier"), lambda: self.move_selected(-1))
        self.right_button = self._button("▶", self.tr("Move the selected tag later"), lambda: self.move_selected(1))
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.add_edit, 1)
        for button in (self.left_button, self.right_button, self.remove_button):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self.text_completer = TextTagCompleter(editor, self.completions, self.separator)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(80)
        self._timer.timeout.connect(self.reload)
        editor.textChanged.connect(self._on_editor_text_changed)
        self.list.installEventFilter(self)
        self.hide()

    def _button(self, text: str, tip: str, slot: Any) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setObjectName("flat")
        button.clicked.connect(slot)
        return button

    # -- settings -----------------------------------------------------------------------------
    def set_separator(self, separator: str) -> None:
        """Split on another separator from now on."""
        self.separator = separator or DEFAULT_SEPARATOR
        self.text_completer.separator = self.separator
        self.reload()

    @Slot(bool)
    def set_shown(self, shown: bool) -> None:
        """Show or hide the tag view (the text editor always stays)."""
        self.toggle_button.setChecked(shown)
        self.setVisible(shown)
        if shown:
            self.reload()
        self.shown_changed.emit(shown)

    # -- reading the caption --------------------------------------------------------------------
    def tags(self) -> list[str]:
        """The tags listed, in order."""
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).data(KIND_ROLE) != SENTENCE]

    def segments(self) -> list[tuple[str, str]]:
        """(kind, text) of every chip, in order."""
        return [(self.list.item(i).data(KIND_ROLE), self.list.item(i).text()) for i in range(self.list.count())]

    @Slot()
    def _on_editor_text_changed(self) -> None:
        if not self._syncing and self.isVisible():
            self._timer.start()

    @Slot()
    def reload(self) -> None:
        """List the editor's caption again."""
        self._timer.stop()
        editable = not self.editor.isReadOnly()
        self.list.blockSignals(True)
        self.list.clear()
        sentence_font = QFont(self.list.font())
        sentence_font.setItalic(True)
        for kind, text in TagCaption(self.editor.toPlainText(), self.separator).segments():
            item = QListWidgetItem(text)
            item.setData(KIND_ROLE, kind)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if kind == SENTENCE:
                item.setFont(sentence_font)
                item.setForeground(QColor(style.MUTED))
                item.setToolTip(self.tr("A sentence: tag edits leave it as it is (edit it in the text)"))
            elif editable:
                flags |= Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled
            item.setFlags(flags)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.add_model.set_excluded(self.tags())
        for widget in (self.add_edit, self.remove_button, self.left_button, self.right_button):
            widget.setEnabled(editable)

    # -- editing --------------------------------------------------------------------------------
    def apply_tags(self, tags: list[str]) -> None:
        """Make the caption's tag list `tags` (the text editor changes; sentences stay)."""
        if self.editor.isReadOnly():
            return
        old = self.editor.toPlainText()
        new = set_tags(old, tags, self.separator)
        if new != old:
            self._syncing = True
            cursor = self.editor.textCursor()
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(new)  # one change the panel autosaves, like typing
            self._syncing = False
        self.reload()

    def add_tag(self, tag: str) -> None:
        """Add `tag` after the last tag (nothing when the caption has it)."""
        tag = tag.strip()
        if tag and tag.casefold() not in {t.casefold() for t in self.tags()}:
            self.apply_tags(self.tags() + [tag])

    @Slot()
    def _on_add_return_pressed(self) -> None:
        self.add_tag(self.add_edit.text())
        self.add_edit.clear()

    @Slot()
    def remove_selected(self) -> None:
        """Remove the selected tags (sentences cannot be removed here)."""
        rows = {self.list.row(item) for item in self.list.selectedItems() if item.data(KIND_ROLE) != SENTENCE}
        if rows:
            self.apply_tags([self.list.item(i).text() for i in range(self.list.count())
                             if i not in rows and self.list.item(i).data(KIND_ROLE) != SENTENCE])

    def move_selected(self, step: int) -> None:
        """Move the selected tag one tag earlier (-1) or later (+1)."""
        items = [i for i in self.list.selectedItems() if i.data(KIND_ROLE) != SENTENCE]
        if len(items) != 1:
            return
        tags = self.tags()
        tag_rows = [i for i in range(self.list.count()) if self.list.item(i).data(KIND_ROLE) != SENTENCE]
        at = tag_rows.index(self.list.row(items[0]))
        to = at + step
        if not 0 <= to < len(tags):
            return
        tags.insert(to, tags.pop(at))
        self.apply_tags(tags)
        self.list.setCurrentItem(self.list.item(tag_rows[to]))

    @Slot(QListWidgetItem)
    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        QTimer.singleShot(0, lambda: self.apply_tags(self.tags()))

    @Slot()
    def _on_list_rows_moved(self, *args: Any) -> None:
        QTimer.singleShot(0, lambda: self.apply_tags(self.tags()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.list and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.list.state() != \
                QAbstractItemView.State.EditingState:
            self.remove_selected()
            return True
        return False
