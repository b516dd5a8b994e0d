"""Compare 2-20 images: ask one question about all of them, watch the answer stream, keep it.

`CompareDialog` runs one request on the window's `CaptionService` (the model stays loaded),
streams the answer beside the thumbnails of the images it concerns, and stores it in the
folder's library (`Library.record_comparison`). Its list shows past comparisons of the folder
(two lines each: when and how many images, then the question); picking one shows its question,
images and answer again, and Delete (the button, the context menu or the Del key) removes it
after a confirmation.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QImageReader, QKeyEvent, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QDialog, QHBoxLayout, QLabel,
                               QListView, QListWidget, QListWidgetItem, QMessageBox, QPlainTextEdit,
                               QPushButton, QSplitter, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QVBoxLayout, QWidget)

from ..compare import QUESTIONS, comparison_request, per_image_pixels
from ..library.comparisons import MAX_IMAGES, MIN_IMAGES, Comparison
from . import style
from .i18n import plural

log = logging.getLogger(__name__)
THUMB = 88
# The role of a past comparison's question in the history list (its first line is shown).
QUESTION_ROLE = int(Qt.ItemDataRole.UserRole) + 1


def _thumbnail(path: Path) -> QPixmap:
    """A small pixmap of `path` (decoded scaled: at most 20 of these, in the GUI thread)."""
    reader = QImageReader(os.fspath(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(THUMB * 2, THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        blank = QPixmap(THUMB, THUMB)
        blank.fill(Qt.GlobalColor.darkGray)
        return blank
    return QPixmap.fromImage(image)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class HistoryDelegate(QStyledItemDelegate):
    """A past comparison as two lines with room around them: "date · n images", then the
    question's first line elided to the list's width (muted), and a hairline below."""

    PAD_X, PAD_Y, GAP = 10, 7, 3

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        height = option.fontMetrics.height()
        return QSize(max(option.rect.width(), 120), 2 * height + self.GAP + 2 * self.PAD_Y)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, opt.text = opt.text, ""
        widget = opt.widget
        (widget.style() if widget else QApplication.style()).drawControl(
            QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)  # background, selection
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        rect = opt.rect.adjusted(self.PAD_X, self.PAD_Y, -self.PAD_X, -self.PAD_Y)
        height = opt.fontMetrics.height()
        painter.save()
        bold = QFont(opt.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(QColor("white") if selected else QColor(style.TEXT))
        top = rect.adjusted(0, 0, 0, -(rect.height() - height))
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, rect.width()))
        painter.setFont(opt.font)
        painter.setPen(QColor("#e8ecff") if selected else QColor(style.MUTED))
        question = _first_line(str(index.data(QUESTION_ROLE) or ""))
        bottom = top.translated(0, height + self.GAP)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         opt.fontMetrics.elidedText(question, Qt.TextElideMode.ElideRight, rect.width()))
        if not selected:
            painter.setPen(QColor(style.BORDER))
            y = opt.rect.bottom()
            painter.drawLine(opt.rect.left() + self.PAD_X, y, opt.rect.right() - self.PAD_X, y)
        painter.restore()


class CompareDialog(QDialog):
    """Ask a question about several images; the answer streams in and is stored.

    Signals:
        comparison_saved(object): a `Comparison` was stored in the library.
    """

    comparison_saved = Signal(object)

    def __init__(self, service: Any, library: Any, writer: Any, settings: Any,
                 paths: Sequence[Path] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service, self.library, self.writer, self.settings = service, library, writer, settings
        self.paths = [Path(p) for p in paths]
        self._job_id: int | None = None
        self._answer = ""
        self._close_when_done = False
        self._history: list[Comparison] = []
        self._selection = list(self.paths)  # what the window asked about ("New question" returns to it)
        self._asked: tuple[str, list[Path], float] = ("", [], 0.0)
        self.setWindowTitle(self.tr("Compare Images"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(900, 620)
        self._build()
        self._show_images(self.paths)
        self._on_question_combo_changed(0)
        self.reload_history()
        self._update_buttons()
        s = service
        s.job_started.connect(self._on_service_job_started)
        s.tokens_streamed.connect(self._on_service_tokens_streamed)
        s.image_captioned.connect(self._on_service_image_captioned)
        s.image_failed.connect(self._on_service_image_failed)
        s.job_finished.connect(self._on_service_job_finished)
        s.job_failed.connect(self._on_service_job_failed)

    def _build(self) -> None:
        self.images_view = QListWidget()
        self.images_view.setViewMode(QListView.ViewMode.IconMode)
        self.images_view.setFlow(QListView.Flow.LeftToRight)
        self.images_view.setWrapping(False)
        self.images_view.setIconSize(QSize(THUMB, THUMB))
        self.images_view.setFixedHeight(THUMB + 34)
        self.images_view.setMovement(QListView.Movement.Static)
        self.question_combo = QComboBox()
        labels = {"differences": self.tr("Differences"), "before_after": self.tr("Before / after"),
                  "style": self.tr("Consistent style?"), "character": self.tr("Same character?")}
        for key, label, _ in QUESTIONS:
            self.question_combo.addItem(labels.get(key, label), key)
        self.question_combo.addItem(self.tr("Your own question"), "")
        self.question_combo.currentIndexChanged.connect(self._on_question_combo_changed)
        self.question_edit = QPlainTextEdit()
        self.question_edit.setPlaceholderText(self.tr("Ask anything about these images…"))
        self.question_edit.setFixedHeight(72)
        self.answer_view = QPlainTextEdit()
        self.answer_view.setReadOnly(True)
        self.answer_view.setStyleSheet("QPlainTextEdit { color: palette(text); }")  # not the dim read-only grey
        self.answer_view.setPlaceholderText(self.tr("The answer appears here as it is written."))
        self.status_label = QLabel()
        self.status_label.setObjectName("muted")
        self.status_label.setWordWrap(True)
        self.ask_button = QPushButton(self.tr("Ask"))
        self.ask_button.setDefault(True)
        self.ask_button.clicked.connect(self.ask)
        self.stop_button = QPushButton(self.tr("Stop"))
        self.stop_button.clicked.connect(self.stop)
        self.new_button = QPushButton(self.tr("New question"))
        self.new_button.setToolTip(self.tr("Ask another question about the selected images"))
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.clicked.connect(self.reject)
        self.history_view = QListWidget()
        self.history_view.setMinimumWidth(240)
        self.history_view.setUniformItemSizes(True)
        self.history_view.setItemDelegate(HistoryDelegate(self.history_view))
        self.history_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.history_view.currentRowChanged.connect(self._on_history_row_changed)
        self.delete_action = QAction(self.tr("Delete…"), self.history_view)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.setToolTip(self.tr("Delete the selected comparison from the folder's library"))
        self.delete_action.triggered.connect(self.delete_selected)
        self.history_view.addAction(self.delete_action)  # the Del key and the context menu
        self.history_view.installEventFilter(self)  # Del/Backspace when no shortcut saw it first
        self.history_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.delete_button = QPushButton(self.tr("Delete…"))
        self.delete_button.setToolTip(self.delete_action.toolTip())
        self.delete_button.clicked.connect(self.delete_selected)

        main = QWidget()
        column = QVBoxLayout(main)
        column.setContentsMargins(0, 0, 0, 0)
        self.images_label = QLabel()
        column.addWidget(self.images_label)
        column.addWidget(self.images_view)
        ask_row = QHBoxLayout()
        ask_row.addWidget(QLabel(self.tr("Question")))
        ask_row.addWidget(self.question_combo, 1)
        column.addLayout(ask_row)
        column.addWidget(self.question_edit)
        column.addWidget(QLabel(self.tr("Answer")))
        column.addWidget(self.answer_view, 1)
        column.addWidget(self.status_label)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(QLabel(self.tr("Past comparisons")))
        side_column.addWidget(self.history_view, 1)
        delete_row = QHBoxLayout()
        delete_row.addStretch(1)
        delete_row.addWidget(self.delete_button)
        side_column.addLayout(delete_row)
        splitter = QSplitter()
        splitter.addWidget(main)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([590, 290])  # room for "2026-11-26 13:25 · 12 images" in the list
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.ask_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

    # -- state ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the comparison is queued or running."""
        return self._job_id is not None

    def answer(self) -> str:
        """The answer shown."""
        return self.answer_view.toPlainText()

    def question(self) -> str:
        """The question as it will be sent."""
        return self.question_edit.toPlainText().strip()

    def set_question(self, text: str) -> None:
        """Ask your own question (the combo switches to "Your own question")."""
        self.question_combo.setCurrentIndex(self.question_combo.count() - 1)
        self.question_edit.setPlainText(text)

    def _update_buttons(self) -> None:
        count = len(self.paths)
        can_ask = MIN_IMAGES <= count <= MAX_IMAGES and not self.running
        self.ask_button.setEnabled(can_ask)
        self.stop_button.setEnabled(self.running)
        self.question_combo.setEnabled(not self.running)
        self.question_edit.setReadOnly(self.running)
        self.new_button.setVisible(bool(self._selection) and self.paths != self._selection and not self.running)
        chosen = 0 <= self.history_view.currentRow() < len(self._history)
        self.delete_action.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def _show_images(self, paths: Sequence[Path]) -> None:
        self.images_view.clear()
        for number, path in enumerate(paths, start=1):
            item = QListWidgetItem(QIcon(_thumbnail(path)), f"{number}. {path.name}")
            item.setToolTip(str(path))
            self.images_view.addItem(item)
        self.images_label.setText(plural(self.tr("%n image(s), sent to the model in this order", "", len(paths)), len(paths)))

    # -- asking ----------------------------------------------------------------------------------
    @Slot(int)
    def _on_question_combo_changed(self, index: int) -> None:
        key = self.question_combo.itemData(index)
        text = next((t for k, _, t in QUESTIONS if k == key), None)
        if text is not None:
            self.question_edit.setPlainText(text)
        elif index >= 0:
            self.question_edit.clear()
            self.question_edit.setFocus()

    @Slot()
    def ask(self) -> int | None:
        """Send the question about the images; returns the job id (None when refused)."""
        if self.running:
            return None
        settings = self.settings
        try:
            request = comparison_request(self.paths, self.question(), settings.params(),
                                         settings.system_prompt.strip() or None,
                                         per_image_pixels(len(self.paths), settings.max_pixels))
        except ValueError as exc:
            self._say(self.tr("Cannot ask: %1").replace("%1", str(exc)), True)
            return None
        self._answer = ""
        self.answer_view.clear()
        self.history_view.blockSignals(True)
        self.history_view.setCurrentRow(-1)
        self.history_view.blockSignals(False)
        if not self.service.load_model(settings.model, settings.engine_options()):
            self._say(self.tr("Cannot ask while a caption run uses another model or device: "
                              "stop it or wait for it to end."), True)
            return None
        job = self.service.new_job(request, self.library.root)
        self._job_id = job.job_id
        self._asked = (self.question(), list(self.paths), time.time())
        self.service.start(job)
        self._say(self.tr("Waiting for the model…"))
        self._update_buttons()
        return job.job_id

    @Slot()
    def stop(self) -> None:
        """Stop the answer within one decoding step (what was written is kept on screen)."""
        if self.running:
            self.service.cancel(self._job_id)
            self._say(self.tr("Stopping…"))

    def _say(self, text: str, error: bool = False) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #ef5b5b;" if error else "")

    # -- the service's signals (GUI thread) -------------------------------------------------------
    @Slot(int)
    def _on_service_job_started(self, job_id: int) -> None:
        if job_id == self._job_id:
            self._say(plural(self.tr("Comparing %n image(s)…", "", len(self.paths)), len(self.paths)))

    @Slot(int, object)
    def _on_service_tokens_streamed(self, job_id: int, batch: list[tuple[Path, int, str, bool]]) -> None:
        if job_id != self._job_id or not self.paths:
            return
        for path, variant, text, reasoning in batch:
            if path == self.paths[0] and variant == 0 and not reasoning:
                cursor = self.answer_view.textCursor()
                cursor.movePosition(cursor.MoveOperation.End)
                cursor.insertText(text)
                self.answer_view.ensureCursorVisible()

    @Slot(int, object)
    def _on_service_image_captioned(self, job_id: int, result: Any) -> None:
        if job_id != self._job_id or result.path != self.paths[0]:
            return
        question, paths, _ = self._asked
        answer = result.caption.strip()
        self.answer_view.setPlainText(answer)
        model = str(result.metadata.get("model", "")) or getattr(self.settings, "model", "")
        extra = {k: v for k, v in result.metadata.items() if k in ("params", "system_prompt", "prompt_tokens", "visual_tokens")}
        if result.reasoning:
            extra["reasoning"] = result.reasoning
        store = partial(self.library.record_comparison, question, paths, answer, model,
                        result.truncated, extra)
        self.writer.submit(store, self._on_comparison_stored, self._on_store_failed)

    @Slot(int, object, str)
    def _on_service_image_failed(self, job_id: int, path: Path, reason: str) -> None:
        if job_id == self._job_id and self.paths and path == self.paths[0]:
            self._say(self.tr("The comparison failed: %1").replace("%1", reason), True)

    @Slot(int, bool)
    def _on_service_job_finished(self, job_id: int, cancelled: bool) -> None:
        if job_id == self._job_id:
            self._end(self.tr("Stopped: nothing was stored.") if cancelled else None)

    @Slot(int, str)
    def _on_service_job_failed(self, job_id: int, message: str) -> None:
        if job_id == self._job_id:
            self._end(self.tr("The comparison failed: %1").replace("%1", message), error=True)

    def _end(self, message: str | None, error: bool = False) -> None:
        self._job_id = None
        if message:
            self._say(message, error)
        self._update_buttons()
        if self._close_when_done:
            super().reject()

    def _on_comparison_stored(self, comparison: Comparison) -> None:
        self._say(plural(self.tr("Saved with its %n image(s).", "", len(comparison.paths)), len(comparison.paths)))
        self.reload_history()
        self.comparison_saved.emit(comparison)

    def _on_store_failed(self, message: str) -> None:
        self._say(self.tr("Could not save the comparison: %1").replace("%1", message), True)

    # -- history ---------------------------------------------------------------------------------
    def reload_history(self) -> None:
        """Refill the list of past comparisons from the library (newest first)."""
        try:
            self._history = self.library.comparisons(limit=500)
        except Exception as exc:  # noqa: BLE001 - the list is a convenience; say why it is empty
            log.warning("cannot read past comparisons: %s", exc)
            self._history = []
        self.history_view.blockSignals(True)
        self.history_view.clear()
        for comparison in self._history:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(comparison.created_at))
            count = len(comparison.paths)
            title = self.tr("%1 · %n image(s)", "", count).replace("%1", when)
            item = QListWidgetItem(plural(title, count))
            item.setData(QUESTION_ROLE, comparison.question)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{item.text()}: {_first_line(comparison.question)}")
            item.setToolTip(comparison.question)
            self.history_view.addItem(item)
        self.history_view.blockSignals(False)
        self._update_buttons()

    @Slot(int)
    def _on_history_row_changed(self, row: int) -> None:
        self._update_buttons()
        if row < 0 or row >= len(self._history) or self.running:
            return
        self.show_comparison(self._history[row])

    @Slot()
    def delete_selected(self) -> bool:
        """Delete the chosen past comparison, once the user confirms; whether it is being deleted."""
        row = self.history_view.currentRow()
        if not 0 <= row < len(self._history):
            return False
        comparison = self._history[row]
        if not self._confirm_delete(comparison):
            return False
        self.delete_button.setEnabled(False)
        self.delete_action.setEnabled(False)
        self.writer.submit(partial(self.library.delete_comparison, comparison.id),
                           partial(self._on_comparison_deleted, row, comparison), self._on_delete_failed)
        return True

    def _confirm_delete(self, comparison: Comparison) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(comparison.created_at))
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Delete Comparison"),
                          self.tr("Delete the comparison asked %1?").replace("%1", when),
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDeleteComparison")
        question = _first_line(comparison.question)
        quoted = self.tr("“%1”").replace("%1", question[:200] + ("…" if len(question) > 200 else ""))
        box.setInformativeText(quoted + "\n\n"
                               + self.tr("Its question and answer are removed from this folder's library; "
                                         "the images are not touched."))
        delete = box.addButton(self.tr("Delete"), QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(delete)
        box.exec()
        confirmed = box.clickedButton() is delete
        box.deleteLater()
        return confirmed

    def _on_comparison_deleted(self, row: int, comparison: Comparison, deleted: bool) -> None:
        shown = self.answer_view.toPlainText() == comparison.answer and self.question() == comparison.question.strip()
        self.reload_history()
        if self.history_view.count() and not self.running:
            self.history_view.setCurrentRow(min(row, self.history_view.count() - 1))  # shows the next one
        elif shown and not self.running:
            self._on_new_button_clicked()
        self._say(self.tr("Comparison deleted.") if deleted else self.tr("That comparison was already deleted."))
        self._update_buttons()

    def _on_delete_failed(self, message: str) -> None:
        self._say(self.tr("Could not delete the comparison: %1").replace("%1", message), True)
        self._update_buttons()

    def show_comparison(self, comparison: Comparison) -> None:
        """Show a stored comparison: its images, question and answer (ask again to rerun it)."""
        if self.running:
            return
        self.paths = [self.library.absolute(rel) for rel in comparison.paths]
        self._show_images(self.paths)
        self.set_question(comparison.question)
        self.answer_view.setPlainText(comparison.answer)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(comparison.created_at))
        missing = sum(not p.exists() for p in self.paths)
        note = plural(self.tr(" · %n image(s) missing", "", missing), missing) if missing else ""
        self._say(self.tr("Asked %1 with %2").replace("%1", when).replace("%2", comparison.model or "?") + note)
        self._update_buttons()

    @Slot()
    def _on_new_button_clicked(self) -> None:
        self.paths = list(self._selection)
        self._show_images(self.paths)
        self.answer_view.clear()
        self._say("")
        self._on_question_combo_changed(self.question_combo.currentIndex())
        self._update_buttons()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.history_view and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
            return True
        return super().eventFilter(watched, event)

    # -- closing ---------------------------------------------------------------------------------
    def reject(self) -> None:
        """Close; a running comparison is stopped first (the dialog closes once it has)."""
        if self.running:
            self._close_when_done = True
            self.stop()
            return
        super().reject()

    def shutdown(self) -> None:
        """The window is closing: stop a running comparison."""
        if self.running:
            self.service.cancel(self._job_id)
