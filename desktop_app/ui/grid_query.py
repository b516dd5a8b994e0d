"""The grid's filter box speaks the filter language (`desktop_app.library.query`).

`grid_query_context` compiles queries over `MediaItem`s; `FilterBox` applies the box's text
to the proxy: a bad query keeps the last good filter and shows what is wrong, and `tokens:`
(`tag:`) queries over many captions not counted (split) yet do that in a worker thread first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPoint, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from ..library.clip_tokens import TokenCountCache
from ..library.query import Access, Number, QueryContext, QueryError, Tag, parse, uses
from ..library.tags import DEFAULT_MATCH, DEFAULT_SEPARATOR, split_tags
from . import style

if TYPE_CHECKING:
    from .media_model import MediaFilterProxy

log = logging.getLogger(__name__)

#: Access to the grid's `MediaItem`s.
MEDIA_ACCESS = Access(
    name=lambda item: item.path.name,
    path=lambda item: item.rel.replace("\\", "/"),
    caption=attrgetter("caption"),
    status=attrgetter("status"),
    review=attrgetter("review"),
    truncated=attrgetter("truncated"),
)

#: Token counts per caption text, shared by every grid in the process.
TOKEN_COUNTS = TokenCountCache()

#: A `tokens:` query over more uncounted captions than this counts them off the GUI thread
#: (and a `tag:` query over more than 4x this many unsplit captions splits them there).
BACKGROUND_ABOVE = 2000


def _tr(text: str) -> str:
    return QCoreApplication.translate("FilterBox", text)


def help_text() -> str:
    """The filter syntax, for the box's tooltip."""
    return _tr(
        "Filter the grid:\n"
        "  cat dog          name or caption contains both words (any case)\n"
        "  \"red car\"        ... contains the phrase\n"
        "  tag:1girl   tag:\"long hair\"   tag:*hair\n"
        "  caption:beach   name:*.png   path:sub/*\n"
        "  status:edited   (pending, uncaptioned, queued, generating, done, edited, failed,\n"
        "                   captioned, truncated)   review:flagged (approved, flagged, none)\n"
        "  tokens:>77   chars:<40   words:10..20   (> >= < <= = or a range)\n"
        "     tokens: CLIP ViT-L/14 tokens with start and end, as the \"n / 77\" under the editor\n"
        "  a OR b   a AND b   NOT a   -a   ( ... )   (AND binds first; a space is AND)\n"
        "Quote values with spaces; \\\" and \\\\ escape inside quotes.") + "\n" + _tr(
        "  status:unfinished (a Thinking model's reasoning ran out of tokens: no caption)\n"
        "  status:empty (the model answered with no text)   status:cut (= truncated)")


def _separator() -> str:
    """The tag panel's separator (the tag controller keeps it on the proxy's filter state)."""
    from .media_model import _FilterState  # noqa: PLC0415 - media_model imports this module

    return _FilterState.tag_separator


class TagSets:
    """Tag keys per caption text for one separator, shared by the grid's queries and filled
    by the filter box's worker (plain dict operations: safe under the GIL)."""

    def __init__(self) -> None:
        self.separator = DEFAULT_SEPARATOR  # synced with the panel's by `missing`
        self._sets: dict[str, frozenset[str]] = {}

    def get(self, caption: str) -> frozenset[str]:
        """The tag keys of a caption (split now when not cached)."""
        found = self._sets.get(caption)
        if found is None:
            if len(self._sets) > 1_000_000:
                self._sets = {}
            key = DEFAULT_MATCH.key
            found = self._sets[caption] = frozenset(key(t) for t in split_tags(caption, self.separator))
        return found

    def missing(self, captions: list[str]) -> list[str]:
        """The distinct captions not split yet (after dropping everything if the separator changed)."""
        if _separator() != self.separator:
            self.separator, self._sets = _separator(), {}
        sets = self._sets
        return list({c: None for c in captions if c not in sets})

    def fill(self, captions: list[str]) -> None:
        """Split these captions (a worker thread may do it)."""
        for caption in captions:
            self.get(caption)


#: Tag sets per caption text, shared by every grid in the process.
TAG_SETS = TagSets()


class GridQueryContext(QueryContext):
    """Queries over grid items: tags from `TAG_SETS` (the tag module's split with the tag
    panel's separator), tokens from `TOKEN_COUNTS`."""

    def __init__(self) -> None:
        super().__init__(MEDIA_ACCESS, tags_of=split_tags, tag_key=DEFAULT_MATCH.key,
                         count_tokens=lambda text: TOKEN_COUNTS.get(text))

    def tags(self, caption: str) -> frozenset[str]:
        return TAG_SETS.get(caption)

    def compile(self, query: Any) -> Callable[[Any], bool]:
        TAG_SETS.missing([])  # drops the sets if the separator changed
        return super().compile(query)


def grid_query_context() -> QueryContext:
    """A query context over grid items (see `GridQueryContext`)."""
    return GridQueryContext()


class _CountRelay(QObject):
    counted = Signal(int)  # generation


class _CountJob(QRunnable):
    """Counts tokens and splits tags of captions into the shared caches (a worker thread)."""

    def __init__(self, generation: int, tokens: list[str], tags: list[str], relay: _CountRelay) -> None:
        super().__init__()
        self._generation, self._tokens, self._tags, self._relay = generation, tokens, tags, relay

    def run(self) -> None:
        try:
            TAG_SETS.fill(self._tags)
            TOKEN_COUNTS.fill(self._tokens)
        except Exception:  # noqa: BLE001 - e.g. a missing vocabulary: the filter says so when applied
            log.exception("Preparing the filter failed")
        try:
            self._relay.counted.emit(self._generation)
        except RuntimeError:  # the box is gone
            pass


class FilterBox(QObject):
    """Applies the filter box's query to the proxy, or shows why it cannot.

    A bad query: the box gets a red border, `message` (a bubble floating under the box) and
    the box's tooltip say what is wrong and where, and the grid keeps its last good filter.

    Signals:
        applied(str): a query was applied to the grid.
        failed(str): a query was refused; the argument is the message shown.
    """

    applied = Signal(str)
    failed = Signal(str)

    def __init__(self, edit: QLineEdit, proxy: MediaFilterProxy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = edit
        self.proxy = proxy
        # A bubble floating just under the box, over the window (the box sits in a toolbar).
        self.message = QLabel(parent)
        self.message.setObjectName("filterMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        edit.installEventFilter(self)
        self._error = ""
        self._generation = 0
        self._pending: str | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _CountRelay(self)
        self._relay.counted.connect(self._on_counted)
        edit.setToolTip(help_text())

    @property
    def error(self) -> str:
        """The message of the query refused last ("" when the box's query is applied)."""
        return self._error

    @property
    def counting(self) -> bool:
        """Whether captions are being counted before a `tokens:` query applies."""
        return self._pending is not None

    def apply(self, text: str) -> bool:
        """Filter the grid by `text`; False when it is refused (or waits for token counts)."""
        try:
            node = parse(text)
        except QueryError as exc:
            self._show_error(exc)
            return False
        self._generation += 1
        self._pending = None
        tokens, tags = uses(node, Number, "tokens"), uses(node, Tag)
        if tokens or tags:
            source = self.proxy.sourceModel()
            captions = [item.caption for item in source.items()] if source is not None else []
            to_count = TOKEN_COUNTS.missing(captions) if tokens else []
            to_split = TAG_SETS.missing(captions) if tags else []
            if len(to_count) > BACKGROUND_ABOVE or len(to_split) > 4 * BACKGROUND_ABOVE:
                self._pending = text
                note = (_tr("Counting CLIP tokens of {n} captions…") if to_count
                        else _tr("Reading the tags of {n} captions…"))
                self._show_note(note.format(n=f"{max(len(to_count), len(to_split)):,}"))
                self._pool.start(_CountJob(self._generation, to_count, to_split, self._relay))
                return False
            TOKEN_COUNTS.fill(to_count)  # a few: batched here
        try:
            self.proxy.set_text_filter(text)
        except QueryError as exc:
            self._show_error(exc)
            return False
        self._clear()
        self.applied.emit(text)
        return True

    @Slot(int)
    def _on_counted(self, generation: int) -> None:
        if generation == self._generation and self._pending is not None:
            self.apply(self._pending)

    def wait(self) -> None:
        """Wait for a token count in progress (tests, shutdown)."""
        self._pool.waitForDone()

    def shutdown(self) -> None:
        """Drop counts not started and wait for the one running (at exit)."""
        self._generation += 1
        self._pool.clear()
        self._pool.waitForDone()

    def _show_error(self, exc: QueryError) -> None:
        self._error = exc.message
        self.edit.setStyleSheet(f"QLineEdit {{ border: 1px solid {style.DANGER}; }}")
        self.edit.setToolTip(exc.message + "\n\n" + help_text())
        self._show_message(exc.message, style.DANGER)
        self.failed.emit(exc.message)

    def _show_note(self, text: str) -> None:
        self._error = ""
        self.edit.setStyleSheet("")
        self._show_message(text, style.BORDER, style.MUTED)

    def _show_message(self, text: str, border: str, color: str | None = None) -> None:
        self.message.setStyleSheet(
            f"QLabel#filterMessage {{ background: {style.PANEL}; color: {color or style.TEXT}; "
            f"border: 1px solid {border}; border-radius: 6px; padding: 6px 9px; }}")
        self.message.setText(text)
        self._place()
        self.message.show()
        self.message.raise_()

    def _place(self) -> None:
        """Put the message under the box, as wide as the box (or wider, inside the window)."""
        window = self.edit.window()
        if self.message.parentWidget() is not window:
            self.message.setParent(window)
        width = min(max(self.edit.width(), 360), window.width() - 16)
        self.message.setFixedWidth(width)
        self.message.adjustSize()
        below = self.edit.mapTo(window, QPoint(self.edit.width(), self.edit.height() + 4))
        self.message.move(max(8, min(below.x() - width, window.width() - width - 8)), below.y())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move) and self.message.isVisible():
            self._place()
        elif event.type() == QEvent.Type.Hide:
            self.message.hide()
        elif event.type() == QEvent.Type.Show and (self._error or self._pending is not None):
            self._place()
            self.message.show()
        return False

    def _clear(self) -> None:
        self._error = ""
        self.edit.setStyleSheet("")
        self.edit.setToolTip(help_text())
        self.message.clear()
        self.message.hide()
