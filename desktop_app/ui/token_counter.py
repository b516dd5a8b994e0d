"""The caption editor's CLIP token count, "n / 77", with the part CLIP drops marked."""

from __future__ import annotations

import html
import logging
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QWidget

from ..library.clip_tokens import CONTEXT_LENGTH, ClipTokenCounter, ClipVocabMissing, TokenReport, default_counter
from . import style

log = logging.getLogger(__name__)

#: Coalesces counting while text streams in or the user types.
UPDATE_MS = 60


class TokenCounter(QLabel):
    """Shows the editor's CLIP ViT-L/14 token count as "n / 77" (start and end tokens included).

    Past 77 the label turns red, its tooltip names the words CLIP drops, and those words get
    a wavy red underline in the editor. Counting follows the editor's text by itself.
    """

    def __init__(self, editor: QPlainTextEdit, parent: QWidget | None = None,
                 counter: ClipTokenCounter | None = None, limit: int = CONTEXT_LENGTH) -> None:
        super().__init__(parent)
        self._editor = editor
        self._counter = counter or default_counter()
        self._limit = limit
        self._report: TokenReport | None = None
        self._available = True
        self.setObjectName("muted")
        # Fixed: the count changes with every streamed token, and must not re-lay the panel out.
        self.setFixedSize(self.fontMetrics().horizontalAdvance(self._format(8888, 77)) + 12,
                          self.fontMetrics().height() + 2)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UPDATE_MS)
        self._timer.timeout.connect(self.update_count)
        editor.textChanged.connect(self._schedule)
        self.update_count()

    @Slot()
    def _schedule(self) -> None:
        # A throttle, not a debounce: text streaming in faster than UPDATE_MS still gets counted.
        if not self._timer.isActive():
            self._timer.start()

    def report(self) -> TokenReport | None:
        """The last count (None while the editor is empty or the vocabulary is missing)."""
        return self._report

    @Slot()
    def update_count(self) -> None:
        """Count the editor's text now."""
        self._timer.stop()
        text = self._editor.toPlainText()
        report = None
        if text.strip() and self._available:
            try:
                report = self._counter.report(text, self._limit)
            except ClipVocabMissing as exc:  # the app works without it; say why once
                self._available = False
                log.warning("%s", exc)
                self.setText("")
                self.setToolTip(str(exc))
        self._report = report
        self._show(report)

    def _show(self, report: TokenReport | None) -> None:
        if report is None:
            self.setText("")
            self.setStyleSheet("")
            if self._available:
                self.setToolTip("")
            self._underline(None)
            return
        self.setText(self._format(report.count, report.limit))
        about = self.tr("CLIP ViT-L/14 tokens, the start and end tokens included: {fit} tokens of "
                        "text fit in CLIP's {limit}.").format(fit=report.limit - 2, limit=report.limit)
        if not report.over:
            self.setStyleSheet("")
            self.setToolTip(about)
            self._underline(None)
            return
        dropped = report.count - report.limit
        words = report.overflow if len(report.overflow) <= 240 else report.overflow[:240] + "…"
        # A type selector: the tooltip (a QLabel too) must not turn red and bold.
        self.setStyleSheet(f"TokenCounter {{ color: {style.DANGER}; font-weight: 600; }}")
        self.setToolTip("<p>" + html.escape(about) + "</p><p>" + html.escape(
            self.tr("CLIP drops the last {n} tokens, from here on:").format(n=dropped))
            + f"</p><p><i>{html.escape(words)}</i></p>")
        self._underline(report.cut)

    def _format(self, count: int, limit: int) -> str:
        return self.tr("{count} / {limit} tokens").format(count=count, limit=limit)

    def _underline(self, cut: int | None) -> None:
        """A wavy red underline under the text past the limit (or none)."""
        if cut is None:
            self._editor.setExtraSelections([])
            return
        selection = QTextEdit.ExtraSelection()
        text = self._editor.toPlainText()
        cursor = QTextCursor(self._editor.document())
        cursor.setPosition(len(text[:cut].encode("utf-16-le")) // 2)  # Qt counts UTF-16 units
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor(style.DANGER))
        fmt.setForeground(QColor(style.MUTED))
        selection.cursor = cursor
        selection.format = fmt
        self._editor.setExtraSelections([selection])
