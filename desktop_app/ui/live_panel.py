"""Every caption in flight at once, growing token by token; and the run's error log."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QScrollArea, QTableWidget,
                               QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from . import style
from .i18n import plural

log = logging.getLogger(__name__)

CARD_WIDTH, CARD_HEIGHT = 320, 98
CARD_GAP = 8
_THUMB = 64
#: Control characters (a random model emits them) shown as spaces; newlines kept.
_UNPRINTABLE = {c: " " for c in range(32) if c != 10} | {0x7F: " "}
_STATE_COLOURS = {"generating": style.STATUS_COLORS["generating"], "done": style.SUCCESS,
                  "failed": style.DANGER, "stopped": style.FAINT}
RUN_CHIP_TEXT_WIDTH = 250


@dataclass(slots=True)
class LiveEntry:
    """One caption in flight (or just finished) in the live panel."""

    path: Path
    variant: int = 0
    text: str = ""
    reasoning: str = ""
    state: str = "generating"  # generating | done | failed | stopped (its run was stopped)
    detail: str = ""  # failure reason
    run: int = 0  # the job id of the run it belongs to


class LiveCard(QFrame):
    """One caption's card: thumbnail, name, state and the newest lines of its text.

    Plain widgets on purpose: Qt paints them in C++, without the GIL, so a batch streaming
    into dozens of cards never waits on the worker thread's Python. Only `setText` calls
    cross into Qt, once per card per flush.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveCard")
        self.setFixedSize(CARD_WIDTH, CARD_HEIGHT)
        # Placed by hand, no layout: a text change then never re-lays anything out (a
        # word-wrapped label in a layout costs a text layout per flush).
        pad, line = 9, QFontMetrics(self.font()).height() + 2
        x = pad + _THUMB + pad
        self.thumb = QLabel(self)
        self.thumb.setGeometry(pad, pad, _THUMB, _THUMB)
        self.dot = QLabel(self)
        self.dot.setGeometry(x, pad + (line - 8) // 2, 8, 8)
        self.count = QLabel(self)
        self.count.setObjectName("muted")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.count.setGeometry(CARD_WIDTH - pad - 62, pad, 62, line)
        self.name = QLabel(self)
        self.name.setObjectName("liveName")
        self.name.setGeometry(x + 14, pad, self.count.x() - x - 18, line)
        self.body = QLabel(self)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.body.setGeometry(x, pad + line + 2, CARD_WIDTH - x - pad, CARD_HEIGHT - 2 * pad - line - 2)
        self._body_metrics = QFontMetrics(self.body.font())
        self._bottom = False
        self.entry: LiveEntry | None = None
        self._state = ""
        self._has_thumb = False
        self._chars = 0

    def show_entry(self, entry: LiveEntry, thumbnail: QPixmap | None) -> None:
        """Show another caption in this card."""
        self.entry = entry
        self._has_thumb = False
        self.set_thumbnail(thumbnail)
        metrics = QFontMetrics(self.name.font())
        self.name.setText(metrics.elidedText(entry.path.name, Qt.TextElideMode.ElideMiddle,
                                             self.name.width()))
        self.name.setToolTip(str(entry.path))
        average = QFontMetrics(self.body.font()).averageCharWidth() or 7
        self._chars = int((CARD_WIDTH - _THUMB - 36) / average * 4 * 1.5)  # 4 lines and some
        self._state = ""
        self.refresh()

    def set_thumbnail(self, pixmap: QPixmap | None) -> None:
        """Show the thumbnail, square-cropped (a placeholder tile until there is one)."""
        if self._has_thumb:
            return
        self._has_thumb = isinstance(pixmap, QPixmap) and not pixmap.isNull()
        self.thumb.setPixmap(_square(pixmap if self._has_thumb else None))

    @property
    def has_thumbnail(self) -> bool:
        """Whether the real thumbnail is shown."""
        return self._has_thumb

    def refresh(self) -> None:
        """Show the entry's text and state now."""
        entry = self.entry
        if entry is None:
            return
        if entry.state != self._state:
            self._state = entry.state
            self.dot.setStyleSheet(f"background: {_STATE_COLOURS[entry.state]}; border-radius: 4px;")
            colour = {"generating": style.TEXT, "done": style.MUTED, "failed": style.DANGER,
                      "stopped": style.FAINT}[entry.state]
            self.body.setStyleSheet(f"color: {colour};")
        if entry.state == "failed":
            text, label = entry.detail or self.tr("failed"), self.tr("failed")
        elif entry.text.strip() or not entry.reasoning:
            text = entry.text.lstrip()
            words = len(text.split())
            label = (self.tr("done") if entry.state == "done" else self.tr("stopped") if entry.state == "stopped"
                     else plural(self.tr("%n word(s)", "", words), words))
            if entry.state == "generating":
                text += "▍"
        else:
            text, label = self.tr("thinking: ") + entry.reasoning.lstrip(), self.tr("thinking")
        if entry.variant:
            label = f"v{entry.variant + 1} · {label}"
        text = text[-self._chars:].translate(_UNPRINTABLE)
        # Short text starts at the top; once it overflows, its newest lines show (bottom).
        needed = self._body_metrics.boundingRect(
            0, 0, self.body.width(), 10_000, int(Qt.TextFlag.TextWordWrap), text).height()
        bottom = needed > self.body.height()
        if bottom != self._bottom:
            self._bottom = bottom
            vertical = Qt.AlignmentFlag.AlignBottom if bottom else Qt.AlignmentFlag.AlignTop
            self.body.setAlignment(Qt.AlignmentFlag.AlignLeft | vertical)
        self.body.setText(text)
        self.count.setText(label)


def _square(pixmap: QPixmap | None) -> QPixmap:
    """A rounded, centre-cropped square of `pixmap` (or an empty tile), sharp on HiDPI."""
    ratio = 2.0
    side = round(_THUMB * ratio)
    out = QPixmap(side, side)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    clip = QPainterPath()
    clip.addRoundedRect(QRectF(0, 0, side, side), 8 * ratio, 8 * ratio)
    p.setClipPath(clip)
    p.fillRect(QRectF(0, 0, side, side), QColor(style.RAISED))
    if pixmap is not None:
        scale = max(side / pixmap.width(), side / pixmap.height())
        w, h = pixmap.width() * scale, pixmap.height() * scale
        p.drawPixmap(QRectF((side - w) / 2, (side - h) / 2, w, h), pixmap, QRectF(pixmap.rect()))
    p.end()
    out.setDevicePixelRatio(ratio)
    return out


class RunChip(QFrame):
    """One run going: its number, kind and count, and a Stop for this run alone.

    Signals:
        stop_clicked(int): its Stop was pressed (the run's job id).
    """

    stop_clicked = Signal(int)

    def __init__(self, run: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.setObjectName("runChip")
        self.label = QLabel()
        self.label.setFixedWidth(RUN_CHIP_TEXT_WIDTH)  # counts change often: no relayout
        self.stop_button = QToolButton()
        self.stop_button.setObjectName("flat")
        self.stop_button.setIcon(style.icon("stop", style.DANGER))
        self.stop_button.setIconSize(QSize(12, 12))
        self.stop_button.setFixedSize(22, 22)
        self.stop_button.setToolTip(self.tr("Stop this run (the others go on)"))
        self.stop_button.clicked.connect(self._on_stop_button_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 1, 2, 1)
        row.setSpacing(4)
        row.addWidget(self.label)
        row.addWidget(self.stop_button)

    def set_text(self, text: str) -> None:
        self.label.setText(self.label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                               RUN_CHIP_TEXT_WIDTH))

    def set_stopping(self, stopping: bool) -> None:
        self.stop_button.setEnabled(not stopping)

    @Slot()
    def _on_stop_button_clicked(self) -> None:
        self.stop_clicked.emit(self.run)


class _Board(QWidget):
    """Lays fixed-size cards out in rows that fill its width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards: list[LiveCard] = []

    def add(self, card: LiveCard) -> None:
        card.setParent(self)
        self.cards.append(card)
        card.show()
        self.reflow()

    def clear(self) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self.reflow()

    def reflow(self) -> None:
        width = max(1, self.width())
        columns = max(1, (width + CARD_GAP) // (CARD_WIDTH + CARD_GAP))
        for i, card in enumerate(self.cards):
            row, col = divmod(i, columns)
            card.move(col * (CARD_WIDTH + CARD_GAP), row * (CARD_HEIGHT + CARD_GAP))
        rows = (len(self.cards) + columns - 1) // columns
        self.setMinimumHeight(max(0, rows * (CARD_HEIGHT + CARD_GAP) - CARD_GAP))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.reflow()


class LivePanel(QWidget):
    """The live view of the runs going: one card per caption in flight, updated as tokens
    arrive, and one chip per run with its own Stop.

    Fed by the window from the caption service's signals. A finished card stays until a new
    caption needs a place, then it is reused in place, so cards do not jump around while a
    batch streams; the cards of every run share the board. `text_of` gives what a card
    shows: the streamed text, which ends equal to the final caption.

    Signals:
        stop_requested(int): a run's Stop was pressed (its job id).
    """

    stop_requested = Signal(int)

    def __init__(self, thumbnail: Callable[[Path], QPixmap | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbnail = thumbnail
        self._entries: dict[tuple[Path, int], LiveEntry] = {}
        self._cards: dict[tuple[Path, int], LiveCard] = {}
        self._chips: dict[int, RunChip] = {}
        self._runs_seen: set[int] = set()  # the runs with a chip since the last clear()
        # The runs sit right of the header, in one row that scrolls sideways when they are many.
        self.runs_bar = QWidget()
        self.runs_bar.setObjectName("runsBar")
        self._runs_layout = QHBoxLayout(self.runs_bar)
        self._runs_layout.setContentsMargins(0, 0, 0, 0)
        self._runs_layout.setSpacing(6)
        self._runs_layout.addStretch(1)
        self.runs_scroll = QScrollArea(self)
        self.runs_scroll.setObjectName("runsScroll")
        self.runs_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.runs_scroll.setWidgetResizable(True)
        self.runs_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.runs_scroll.setWidget(self.runs_bar)
        self.runs_scroll.setFixedHeight(RunChip(0).sizeHint().height())
        self.board = _Board()
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.board)
        self.header = QLabel()
        self.header.setObjectName("muted")
        self.header.setFixedSize(520, QFontMetrics(self.header.font()).height() + 2)  # no relayouts
        self.empty_label = QLabel(self.tr("Captions appear here as they are written, several at a time."))
        self.empty_label.setObjectName("hint")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top = QHBoxLayout()
        top.setSpacing(10)
        top.addWidget(self.header, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.runs_scroll, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.scroll, 1)
        self._finished = 0
        self._header_text = ""
        self.clear()

    def clear(self) -> None:
        """Forget every card (a new run starts)."""
        self._entries.clear()
        self._cards.clear()
        self._runs_seen = set(self._chips)
        self.board.clear()
        self._finished = 0
        self._update_header()

    def text_of(self, path: Path, variant: int = 0) -> str | None:
        """What the card of a caption shows (None when it has no card)."""
        entry = self._entries.get((path, variant))
        return None if entry is None else entry.text

    def entries(self) -> list[LiveEntry]:
        """Every caption with a card, in card order."""
        return [card.entry for card in self.board.cards if card.entry is not None]

    def in_flight(self) -> int:
        """How many cards are generating."""
        return sum(1 for e in self._entries.values() if e.state == "generating")

    def _ensure(self, path: Path, variant: int, run: int = 0) -> tuple[LiveEntry, LiveCard]:
        key = (path, variant)
        card = self._cards.get(key)
        if card is not None:
            return self._entries[key], card
        entry = LiveEntry(path, variant, run=run)
        card = next((c for c in self.board.cards if c.entry is None or c.entry.state != "generating"), None)
        if card is None:
            card = LiveCard()
            self.board.add(card)
        elif card.entry is not None:
            old = (card.entry.path, card.entry.variant)
            self._entries.pop(old, None)
            self._cards.pop(old, None)
        self._entries[key], self._cards[key] = entry, card
        card.show_entry(entry, self._thumbnail(path))
        return entry, card

    def image_started(self, path: Path, run: int = 0) -> None:
        """The first text of an image of `run` arrived."""
        self._ensure(path, 0, run)
        self._update_header()

    def append(self, batch: list[tuple[Path, int, str, bool]], run: int = 0) -> None:
        """New text of several captions of `run` (one flush of the service)."""
        touched: dict[int, LiveCard] = {}
        for path, variant, text, reasoning in batch:
            entry, card = self._ensure(path, variant, run)
            if reasoning:
                entry.reasoning += text
            else:
                entry.text += text
            touched[id(card)] = card
        for card in touched.values():
            if not card.has_thumbnail and card.entry is not None:
                card.set_thumbnail(self._thumbnail(card.entry.path))
            card.refresh()
        self._update_header()

    def image_finished(self, path: Path, failed: str | None = None) -> None:
        """An image is done (or failed with `failed` as the reason)."""
        keys = [k for k in self._cards if k[0] == path]
        if not keys and failed is not None:
            self._ensure(path, 0)
            keys = [(path, 0)]
        for key in keys:
            entry = self._entries[key]
            entry.state = "failed" if failed is not None else "done"
            entry.detail = failed or ""
            self._cards[key].refresh()
        self._finished += 1
        self._update_header()

    # -- runs ---------------------------------------------------------------------------------
    def add_run(self, run: int, text: str, tooltip: str = "") -> None:
        """Show a run going (its job id), with its own Stop."""
        chip = RunChip(run)
        chip.set_text(text)
        chip.setToolTip(tooltip)
        chip.stop_clicked.connect(self.stop_requested)
        self._chips[run] = chip
        self._runs_seen.add(run)
        self._runs_layout.insertWidget(self._runs_layout.count() - 1, chip)  # before the stretch
        self._update_header()

    def update_run(self, run: int, text: str, stopping: bool | None = None) -> None:
        """A run's new count (or "stopping…")."""
        chip = self._chips.get(run)
        if chip is not None:
            chip.set_text(text)
            if stopping is not None:
                chip.set_stopping(stopping)

    def run_ended(self, run: int) -> None:
        """A run ended: its chip goes, its captions still in flight show as stopped."""
        chip = self._chips.pop(run, None)
        if chip is not None:
            self._runs_layout.removeWidget(chip)
            chip.deleteLater()
        for key, entry in self._entries.items():
            if entry.run == run and entry.state == "generating":
                entry.state = "stopped"
                self._cards[key].refresh()
        self._update_header()

    def runs(self) -> list[tuple[int, str]]:
        """(job id, text) of every run shown, oldest first."""
        return [(run, chip.label.text()) for run, chip in self._chips.items()]

    def stop_button(self, run: int) -> QToolButton | None:
        """The Stop of a run (tests, screenshots)."""
        chip = self._chips.get(run)
        return None if chip is None else chip.stop_button

    def _update_header(self) -> None:
        has_cards = bool(self.board.cards)
        if self.scroll.isHidden() == has_cards:
            self.scroll.setVisible(has_cards)
            self.empty_label.setVisible(not has_cards)
        if not has_cards:
            text = self.tr("Nothing is being captioned")
        elif len(self._runs_seen) > 1:
            flying = self.in_flight()
            text = plural(self.tr("%n caption(s) in flight  ·  %1 finished in these runs", "", flying),
                          flying).replace("%1", f"{self._finished:,}")
        else:
            flying = self.in_flight()
            text = plural(self.tr("%n caption(s) in flight  ·  %1 finished this run", "", flying), flying).replace("%1", f"{self._finished:,}")
        if text != self._header_text:
            self._header_text = text
            self.header.setText(text)


class LogPanel(QWidget):
    """Failures and warnings of the session: time, file and reason, newest last.

    Signals:
        path_activated(object): a row naming a file was double-clicked (its Path).
        count_changed(int): how many rows there are now.
    """

    path_activated = Signal(object)
    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels([self.tr("Time"), self.tr("File"), self.tr("Problem")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 220)
        self.table.cellDoubleClicked.connect(self._on_table_cell_double_clicked)
        self.summary = QLabel(self.tr("No problems so far."))
        self.summary.setObjectName("muted")
        clear = QPushButton(self.tr("Clear"))
        clear.clicked.connect(self.clear)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    def add(self, path: Path | None, message: str) -> None:
        """Add a row (path None: a general message, e.g. a failed model load)."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (time.strftime("%H:%M:%S"), path.name if path else "—", message)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column == 1 and path is not None:
                item.setData(Qt.ItemDataRole.UserRole, os.fspath(path))
                item.setToolTip(str(path))
            if column == 2:
                item.setToolTip(message)
            self.table.setItem(row, column, item)
        self.table.scrollToBottom()
        self.summary.setText(plural(self.tr("%n problem(s) · double-click a row to show its file", "", row + 1), row + 1))
        self.count_changed.emit(row + 1)

    def rows(self) -> list[tuple[str, str]]:
        """(file name, message) of every row."""
        return [(self.table.item(r, 1).text(), self.table.item(r, 2).text())
                for r in range(self.table.rowCount())]

    @Slot()
    def clear(self) -> None:
        """Remove every row."""
        self.table.setRowCount(0)
        self.summary.setText(self.tr("No problems so far."))
        self.count_changed.emit(0)

    @Slot(int, int)
    def _on_table_cell_double_clicked(self, row: int, column: int) -> None:
        item = self.table.item(row, 1)
        value = item.data(Qt.ItemDataRole.UserRole) if item else None
        if value:
            self.path_activated.emit(Path(value))
