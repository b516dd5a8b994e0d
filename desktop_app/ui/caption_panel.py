"""The selected image, large, with its caption editor (autosaved) and its own live stream."""

from __future__ import annotations

import itertools
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import (QColor, QFocusEvent, QImage, QImageReader, QKeyEvent, QKeySequence,
                           QPainter, QPainterPath, QPixmap)
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from ..library.scan import VIDEO_EXTENSIONS
from . import style
from .box_overlay import BoxOverlay
from .media_model import PROBLEM_TEXT, MediaItem
from .widgets import ElidedLabel
from .token_counter import TokenCounter
from .video_preview import VideoPlayer, video_meta

log = logging.getLogger(__name__)

AUTOSAVE_MS = 500
# Ctrl+Shift+A already adds text to the selected captions (the window's affix action).
APPROVE_SHORTCUT = "Ctrl+Shift+K"
FLAG_SHORTCUT = "Ctrl+Shift+F"
PREVIEW_EDGE = 1600  # longest edge the preview is decoded at (enough for a 4K screen's panel)


class _PreviewRelay(QObject):
    loaded = Signal(int, QImage, QSize)  # request id, image, original size


class _PreviewJob(QRunnable):
    """Decodes one image at preview size in a worker thread (QImage only: no QPixmap here)."""

    def __init__(self, request_id: int, path: Path, relay: _PreviewRelay) -> None:
        super().__init__()
        self._id, self._path, self._relay = request_id, path, relay

    def run(self) -> None:
        reader = QImageReader(os.fspath(self._path))
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > PREVIEW_EDGE:
            reader.setScaledSize(size.scaled(PREVIEW_EDGE, PREVIEW_EDGE, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        try:
            self._relay.loaded.emit(self._id, image, size)
        except RuntimeError:  # the panel is gone
            pass


class PreviewView(QWidget):
    """Paints a pixmap aspect-fit and centred, with rounded corners, or a quiet placeholder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._text = ""
        self.overlay: Any = None  # paints over the image (ui.box_overlay.BoxOverlay)
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixmap(self, pixmap: QPixmap | None, text: str = "") -> None:
        """Show `pixmap` (None: show `text` instead)."""
        self._pixmap, self._text = pixmap, text
        self.update()

    def pixmap(self) -> QPixmap | None:
        """The pixmap shown."""
        return self._pixmap

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 320)

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        pixmap = self._pixmap
        if pixmap is None or pixmap.isNull():
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(style.SURFACE))
            p.drawRoundedRect(rect, 12, 12)
            p.setPen(QColor(style.FAINT))
            p.drawText(rect.adjusted(16, 0, -16, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._text)
            return
        ratio = pixmap.devicePixelRatio() or 1.0
        w, h = pixmap.width() / ratio, pixmap.height() / ratio
        scale = min(rect.width() / w, rect.height() / h)
        tw, th = w * scale, h * scale
        target = QRectF(rect.x() + (rect.width() - tw) / 2, rect.y() + (rect.height() - th) / 2, tw, th)
        clip = QPainterPath()
        clip.addRoundedRect(target, 10, 10)
        p.setClipPath(clip)
        p.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
        if self.overlay is not None:
            self.overlay.paint(p, target)


class CaptionEditor(QPlainTextEdit):
    """A plain-text caption editor whose undo/redo keys ask the store instead of itself.

    Signals:
        undo_requested(): Ctrl+Z (the window undoes in the caption store).
        redo_requested(): Ctrl+Y / Ctrl+Shift+Z.
        focus_lost(): focus left the editor (a pending edit is saved then).
    """

    undo_requested = Signal()
    redo_requested = Signal()
    focus_lost = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setUndoRedoEnabled(False)  # undo is per image and lives in the store
        self.setTabChangesFocus(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo_requested.emit()
        elif event.matches(QKeySequence.StandardKey.Redo) or (
                event.key() == Qt.Key.Key_Y and event.modifiers() == Qt.KeyboardModifier.ControlModifier):
            self.redo_requested.emit()
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.focus_lost.emit()


class CaptionPanel(QWidget):
    """The current image large, its name and status, and its caption editor.

    The editor saves by itself: `caption_edited` fires 500 ms after the last keystroke, when
    focus leaves the editor, and before another image is shown. While the image is being
    captioned the editor is read-only and shows the caption as it streams in.

    Signals:
        caption_edited(object, str): the user's caption of a file (Path, text) to store.
        undo_requested(): Ctrl+Z in the editor.
        redo_requested(): Ctrl+Y in the editor.
        review_changed(str): the user marked the image "approved" or "flagged", or cleared
            its mark ("") with the Approve / Flag buttons (the window marks the selection).
    """

    caption_edited = Signal(object, str)
    review_changed = Signal(str)
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._item: MediaItem | None = None
        self._dirty = False
        self._streaming = False
        self._setting = False
        self._preview_ids = itertools.count(1)
        self._preview_id = 0
        self._image_size: QSize | None = None
        self._video_info: Any = None  # the shown video's VideoInfo, once probed
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _PreviewRelay(self)
        self._relay.loaded.connect(self._on_preview_loaded)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(AUTOSAVE_MS)
        self._save_timer.timeout.connect(self.flush)
        self._build()
        self.show_item(None)

    def _build(self) -> None:
        self.preview = PreviewView(self)
        self.video_player = VideoPlayer(self.preview, self)  # shown for videos only
        self.video_player.info_changed.connect(self._on_video_player_info_changed)
        self.name_label = ElidedLabel()
        self.name_label.setObjectName("heading")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_chip = QLabel()
        self.status_chip.setObjectName("chip")
        self.truncated_chip = QLabel(self.tr("cut at token limit"))
        self.truncated_chip.setObjectName("chip")
        self.truncated_chip.setStyleSheet(f"background: {style.WARNING};")
        self.truncated_chip.setToolTip(self.tr("The caption reached Max new tokens before it ended"))
        self.problem_chip = QLabel()  # the last generation gave no caption text, and why
        self.problem_chip.setObjectName("chip")
        self.problem_chip.setStyleSheet(f"background: {style.DANGER};")
        self.meta_label = QLabel()
        self.meta_label.setObjectName("muted")
        self.meta_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.failure_label = QLabel()
        self.failure_label.setWordWrap(True)
        self.failure_label.setStyleSheet(f"color: {style.DANGER};")
        self.editor = CaptionEditor(self)
        self.editor.setPlaceholderText(self.tr("No caption yet. Press Ctrl+Enter to caption this file, or type one."))
        self.editor.textChanged.connect(self._on_editor_text_changed)
        self.editor.focus_lost.connect(self.flush)
        self.editor.undo_requested.connect(self.undo_requested)
        self.editor.redo_requested.connect(self.redo_requested)
        self.box_overlay = BoxOverlay(self.preview, self.editor)  # grounding boxes over the image
        # Fixed sizes: these change with every streamed token of the shown image, and a
        # fixed-size label never re-lays the panel out.
        line = self.fontMetrics().height() + 4
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")
        self.count_label.setFixedSize(220, line)
        self.token_counter = TokenCounter(self.editor, self)  # CLIP's "n / 77"
        self.save_label = QLabel()
        self.save_label.setObjectName("muted")
        self.save_label.setFixedSize(110, line)
        self.save_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.approve_button = self._review_button(self.tr("Approve"), APPROVE_SHORTCUT, "approved",
                                                  self.tr("Mark the selected captions as checked and good"))
        self.flag_button = self._review_button(self.tr("Flag"), FLAG_SHORTCUT, "flagged",
                                               self.tr("Mark the selected captions as needing another look"))
        self.undo_button = QToolButton()
        self.redo_button = QToolButton()
        for button in (self.undo_button, self.redo_button):
            button.setObjectName("flat")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        title = QHBoxLayout()
        title.setSpacing(8)
        title.addWidget(self.name_label, 1)
        title.addWidget(self.truncated_chip)
        title.addWidget(self.problem_chip)
        title.addWidget(self.status_chip)
        title.addWidget(self.approve_button)
        title.addWidget(self.flag_button)
        footer = QHBoxLayout()
        footer.addWidget(self.count_label)
        footer.addStretch(1)
        footer.addWidget(self.save_label)
        footer.addWidget(self.undo_button)
        footer.addWidget(self.redo_button)
        self._footer = footer
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addWidget(self.preview, 5)
        layout.addWidget(self.video_player)
        layout.addLayout(title)
        layout.addWidget(self.meta_label)
        layout.addWidget(self.failure_label)
        layout.addWidget(self.editor, 3)
        layout.addWidget(self.token_counter, 0, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(footer)

    def _review_button(self, text: str, shortcut: str, review: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setCheckable(True)
        button.setShortcut(QKeySequence(shortcut))
        key = button.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        button.setToolTip(self.tr("%1 (%2); click again to clear").replace("%2", key).replace("%1", tip))
        button.clicked.connect(partial(self._on_review_clicked, button, review))
        return button

    def add_tag_editor(self, view: Any) -> None:
        """Put the tag view (a `TagEditor`) under the caption editor and its token count, its
        toggle in the footer."""
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.token_counter) + 1, view, 3)
        self._footer.insertWidget(1, view.toggle_button)

    def set_actions(self, undo: Any, redo: Any) -> None:
        """Bind the footer buttons to the window's undo/redo actions."""
        self.undo_button.setDefaultAction(undo)
        self.redo_button.setDefaultAction(redo)

    # -- what is shown ------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The file shown, if any."""
        return self._item.path if self._item else None

    @property
    def is_streaming(self) -> bool:
        """Whether the editor shows a caption being generated."""
        return self._streaming

    def show_item(self, item: MediaItem | None, thumbnail: QPixmap | None = None) -> None:
        """Show another file (a pending edit of the previous one is saved first)."""
        self.flush()
        same = item is not None and self._item is not None and item.path == self._item.path
        self._item = item
        self._streaming = item is not None and item.status == "generating"
        self._update_header()
        self._set_editor_text(self._editor_text())
        if not same:
            self._load_preview(item, thumbnail)
            if item is not None:
                self.meta_label.setText(self._meta_text(item))

    def refresh(self, item: MediaItem) -> None:
        """The shown file's record changed (a result, an undo): show it unless the user is typing."""
        if self._item is None or item.path != self._item.path:
            return
        entering = item.status == "generating" and not self._streaming
        if entering:
            self.flush()  # the user's words are saved before the stream takes the editor
        self._item = item
        was_streaming, self._streaming = self._streaming, item.status == "generating"
        self._update_header()
        if entering or was_streaming or not self._dirty:
            self._set_editor_text(self._editor_text())

    def append_stream(self, path: Path, text: str) -> None:
        """More generated text of `path` (shown only while that file streams on screen)."""
        if not self._streaming or self._item is None or path != self._item.path:
            return
        cursor = self.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self._setting = True
        cursor.insertText(text)
        self._setting = False
        self.editor.ensureCursorVisible()
        self._update_counts()

    def text(self) -> str:
        """The editor's text."""
        return self.editor.toPlainText()

    def _editor_text(self) -> str:
        item = self._item
        if item is None:
            return ""
        return item.live_text if self._streaming else item.caption

    def _set_editor_text(self, text: str) -> None:
        self._setting = True
        if self.editor.toPlainText() != text:
            self.editor.setPlainText(text)
        self._setting = False
        self.editor.setReadOnly(self._item is None or self._streaming)
        self._dirty = False
        self._update_counts()

    def _update_header(self) -> None:
        item = self._item
        for widget in (self.status_chip, self.meta_label):
            widget.setVisible(item is not None)
        self._update_review_buttons()
        if item is None:
            self.name_label.setText(self.tr("No file selected"))
            self.truncated_chip.hide()
            self.problem_chip.hide()
            self.failure_label.hide()
            self.save_label.clear()
            return
        self.name_label.setText(item.path.name)
        self.name_label.setToolTip(str(item.path))
        self.status_chip.setText(QCoreApplication.translate("TileDelegate", item.status))
        self.status_chip.setStyleSheet(style.chip_style(item.status))
        self.truncated_chip.setVisible(item.truncated and item.status != "generating")
        problem = PROBLEM_TEXT.get(item.problem) if item.status != "generating" else None
        self.problem_chip.setVisible(problem is not None)
        if problem is not None:
            self.problem_chip.setText(QCoreApplication.translate("TileDelegate", problem[0]))
            self.problem_chip.setToolTip(QCoreApplication.translate("MediaListModel", problem[1]))
        self.failure_label.setVisible((item.status == "failed" or problem is not None) and bool(item.failure))
        self.failure_label.setText(self.tr("Failed: %1").replace("%1", item.failure))
        self.meta_label.setText(self._meta_text(item))
        self.meta_label.setToolTip(str(item.path))

    def _meta_text(self, item: MediaItem) -> str:
        size = self._image_size
        parts = video_meta(self._video_info) if self._video_info is not None else []
        if size is not None and size.isValid():
            parts.append(f"{size.width()} × {size.height()}")
        if item.size:
            parts.append(_human_size(item.size))
        parts.append(self.tr("in %1").replace("%1", str(item.path.parent.name or item.path.parent)))
        return "  ·  ".join(parts)

    def _update_counts(self) -> None:
        text = self.editor.toPlainText()
        words = len(text.split())
        self.count_label.setText(self.tr("%1 words · %2 characters").replace("%1", f"{words:,}").replace("%2", f"{len(text):,}") if text else "")
        if self._streaming:
            self.save_label.setText(self.tr("Generating…"))
        elif self._dirty:
            self.save_label.setText(self.tr("Editing…"))
        elif self.save_label.text() == self.tr("Generating…"):
            self.save_label.clear()

    def set_save_state(self, text: str) -> None:
        """Show how saving went ("Saved", "Could not write the caption file", ...)."""
        self.save_label.setText(text)

    def _update_review_buttons(self) -> None:
        review = self._item.review if self._item is not None else ""
        for button, mark in ((self.approve_button, "approved"), (self.flag_button, "flagged")):
            button.setEnabled(self._item is not None)
            button.setChecked(review == mark)

    def review(self) -> str:
        """The shown file's review mark ("", "approved" or "flagged")."""
        return self._item.review if self._item is not None else ""

    # -- review -------------------------------------------------------------------------------
    def _on_review_clicked(self, button: QToolButton, review: str) -> None:
        if self._item is None:
            return
        self.review_changed.emit(review if button.isChecked() else "")
        self._update_review_buttons()  # as the window left the item (it refreshes the panel)

    # -- editing ------------------------------------------------------------------------------
    @Slot()
    def _on_editor_text_changed(self) -> None:
        if self._setting or self._item is None or self.editor.isReadOnly():
            return
        self._dirty = True
        self._save_timer.start()
        self._update_counts()

    @Slot()
    def flush(self) -> None:
        """Hand a pending edit to the window now (it stores it and writes the sidecar)."""
        self._save_timer.stop()
        if not self._dirty or self._item is None:
            return
        self._dirty = False
        text = self.editor.toPlainText()
        self.save_label.setText(self.tr("Saving…"))
        self.caption_edited.emit(self._item.path, text)

    @property
    def has_pending_edit(self) -> bool:
        """Whether typed text waits for its autosave."""
        return self._dirty

    # -- preview ------------------------------------------------------------------------------
    def _load_preview(self, item: MediaItem | None, thumbnail: QPixmap | None) -> None:
        self._preview_id = next(self._preview_ids)
        self._image_size = self._video_info = None
        is_video = item is not None and item.path.suffix.lower() in VIDEO_EXTENSIONS
        self.video_player.setVisible(is_video)
        if is_video:
            self.video_player.open(item.path, thumbnail)
            return
        self.video_player.close_video()
        if item is None:
            self.preview.set_pixmap(None, self.tr("Select a file to see it here"))
            return
        self.preview.set_pixmap(thumbnail, self.tr("Loading…"))
        self._pool.start(_PreviewJob(self._preview_id, item.path, self._relay))

    @Slot(int, QImage, QSize)
    def _on_preview_loaded(self, request_id: int, image: QImage, size: QSize) -> None:
        if request_id != self._preview_id or self._item is None:
            return
        if image.isNull():
            if self.preview.pixmap() is None:
                self.preview.set_pixmap(None, self.tr("Cannot show this file"))
        else:
            self.preview.set_pixmap(QPixmap.fromImage(image))
        self._image_size = size
        self.meta_label.setText(self._meta_text(self._item))

    @Slot(object)
    def _on_video_player_info_changed(self, info: Any) -> None:
        self._video_info = info
        if self._item is not None:
            self.meta_label.setText(self._meta_text(self._item))

    def shutdown(self) -> None:
        """Wait for a preview being decoded (at exit)."""
        self._preview_id = -1
        self.video_player.shutdown()
        self._pool.clear()
        self._pool.waitForDone()


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
