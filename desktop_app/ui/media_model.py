"""The grid's item model: plain `MediaItem` records adapted to Qt, plus a filter proxy."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import (
    QAbstractItemModel, QAbstractListModel, QModelIndex, QPersistentModelIndex,
    QSortFilterProxyModel, Qt, QTimer, Slot,
)
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from desktop_app.library.scan import natural_key
from desktop_app.library.tags import DEFAULT_SEPARATOR
from desktop_app.ui.grid_query import grid_query_context

if TYPE_CHECKING:
    from desktop_app.ui.thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

#: Every status a tile can show: the library's four plus the run's transient two.
STATUSES: tuple[str, ...] = ("pending", "queued", "generating", "done", "edited", "failed")
_STATUS_SET = frozenset(STATUSES)

#: Named status filters of the proxy; "truncated" filters on the flag, and the review
#: filters on the user's mark (see `REVIEW_FILTERS`), not on a status.
STATUS_FILTERS: dict[str, frozenset[str] | None] = {
    "all": None,
    "uncaptioned": frozenset({"pending", "failed"}),
    "failed": frozenset({"failed"}),
    "edited": frozenset({"edited"}),
    "done": frozenset({"done"}),
    "truncated": None,
    "approved": None,
    "flagged": None,
}
#: The status filters that show one review mark (the library's `Review` values).
REVIEW_FILTERS = frozenset({"approved", "flagged"})

#: How long streamed text may wait before the views hear of it (STYLE: 30-50 ms flushes).
LIVE_TEXT_FLUSH_MS = 40


class Roles(IntEnum):
    """Custom item data roles of `MediaListModel` (all above `Qt.UserRole`)."""

    PathRole = int(Qt.ItemDataRole.UserRole) + 1
    StatusRole = int(Qt.ItemDataRole.UserRole) + 2
    CaptionRole = int(Qt.ItemDataRole.UserRole) + 3
    LiveTextRole = int(Qt.ItemDataRole.UserRole) + 4
    TruncatedRole = int(Qt.ItemDataRole.UserRole) + 5
    FailureRole = int(Qt.ItemDataRole.UserRole) + 6
    ItemRole = int(Qt.ItemDataRole.UserRole) + 7
    ReviewRole = int(Qt.ItemDataRole.UserRole) + 8
    DurationRole = int(Qt.ItemDataRole.UserRole) + 20  # a video's seconds (None: unknown or not a video)


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ITEM = int(Roles.ItemRole)
_PATH = int(Roles.PathRole)
_STATUS = int(Roles.StatusRole)
_CAPTION = int(Roles.CaptionRole)
_LIVE = int(Roles.LiveTextRole)
_TRUNCATED = int(Roles.TruncatedRole)
_FAILURE = int(Roles.FailureRole)
_REVIEW = int(Roles.ReviewRole)
_DURATION = int(Roles.DurationRole)

# Which roles change when a field changes (ItemRole is added to every change).
_FIELD_ROLES: dict[str, tuple[int, ...]] = {
    "rel": (),
    "status": (_STATUS, _TOOLTIP),
    "caption": (_CAPTION,),
    "live_text": (_LIVE,),
    "failure": (_FAILURE, _TOOLTIP),
    "truncated": (_TRUNCATED, _TOOLTIP),
    "problem": (_TOOLTIP,),
    "mtime": (_DECORATION,),
    "size": (_DECORATION,),
    "review": (_REVIEW, _TOOLTIP),
}


@dataclass(slots=True)
class MediaItem:
    """One media file as the grid shows it (plain data; `status` is one of `STATUSES`)."""

    path: Path
    rel: str
    status: str = "pending"
    caption: str = ""
    live_text: str = ""
    failure: str = ""
    truncated: bool = False
    mtime: float = 0.0
    size: int = 0
    review: str = ""  # the user's mark: "", "approved" or "flagged"
    problem: str = ""  # the last generation gave no text: "empty" or "reasoning_unfinished"

    @classmethod
    def from_record(cls, record: Any, root: Path) -> MediaItem:
        """Build an item from a library record (read by attribute name, tolerant of absences).

        Args:
            record: An `ItemRecord`-like object (`rel_path`, `status`, `caption`, ...).
            root: The absolute folder the record's `rel_path` is relative to.

        Returns:
            The item.
        """
        rel = str(record.rel_path)
        mtime_ns = getattr(record, "mtime_ns", None)
        review = getattr(record, "review", "") or ""  # the library's `Review` str-enum, or a str
        return cls(
            path=root / rel,
            rel=rel,
            status=status_text(getattr(record, "status", "pending")),
            caption=getattr(record, "caption", "") or "",
            failure=getattr(record, "failure_reason", "") or "",
            truncated=bool(getattr(record, "truncated", False)),
            mtime=mtime_ns / 1e9 if mtime_ns else 0.0,
            size=getattr(record, "size", 0) or 0,
            review=str(getattr(review, "value", review)),
            problem=getattr(record, "problem", "") or "",
        )


def status_text(status: Any) -> str:
    """The plain string of a status (accepts the library's `Status` str-enum too).

    Args:
        status: A status string or an enum whose `value` is one.

    Returns:
        The status string.

    Raises:
        ValueError: If it is not one of `STATUSES`.
    """
    text = status if type(status) is str else str(getattr(status, "value", status))
    if text not in _STATUS_SET:
        raise ValueError(f"Unknown status {status!r}; expected one of {STATUSES}")
    return text


def _path_key(rel: str) -> tuple[tuple[str | int, ...], ...]:
    """Natural order of a relative path, part by part (folders group together)."""
    if "/" not in rel and "\\" not in rel:
        return (natural_key(rel),)
    return tuple(natural_key(part) for part in rel.replace("\\", "/").split("/"))


class MediaListModel(QAbstractListModel):
    """A flat list model of `MediaItem`s, keyed by absolute path.

    `data()` never touches the disk: the decoration is the loader's cached pixmap or a
    placeholder, and a miss queues a (deduplicated) request on the loader.
    """

    def __init__(self, loader: ThumbnailLoader | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[MediaItem] = []
        self._rows: dict[str, int] = {}
        self._loader = loader
        # path -> row for items[:_indexed]; the rest is indexed a chunk per event-loop turn
        # (str() of 100k fresh Paths alone takes 0.1 s) or at once when a lookup needs it.
        self._indexed = 0
        self._index_timer = QTimer(self)
        self._index_timer.setInterval(0)
        self._index_timer.timeout.connect(self._index_chunk)
        self._live_dirty: set[str] = set()
        self._name_keys: dict[str, Any] = {}  # rel -> natural sort key, filled by sort_by
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_TEXT_FLUSH_MS)
        self._live_timer.timeout.connect(self.flush_live_text)
        if loader is not None:
            loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    # -- Qt interface ---------------------------------------------------------------------

    def rowCount(  # noqa: N802
            self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._items):
            return None
        item = self._items[row]
        role = int(role)
        if role == _ITEM:
            return item
        if role == _DECORATION:
            return self._decoration(os.fspath(item.path))  # str(Path) is cached by the Path
        if role == _DISPLAY:
            return item.path.name
        if role == _PATH:
            return item.path
        if role == _STATUS:
            return item.status
        if role == _CAPTION:
            return item.caption
        if role == _LIVE:
            return item.live_text
        if role == _TRUNCATED:
            return item.truncated
        if role == _FAILURE:
            return item.failure
        if role == _REVIEW:
            return item.review
        if role == _TOOLTIP:
            return _tooltip(item) + (self._loader.tooltip_note(item.path) if self._loader else "")
        if role == _DURATION:
            return self._loader.duration(item.path) if self._loader is not None else None
        return None

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802
        names = dict(super().roleNames())
        names.update({int(r): r.name[:-4].lower().encode() for r in Roles})
        return names

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's sort entry point: sorts by name (the only column)."""
        self.sort_by("name", descending=order == Qt.SortOrder.DescendingOrder)

    # -- public API -----------------------------------------------------------------------

    def set_items(self, items: Iterable[MediaItem]) -> None:
        """Replace every item at once: one model reset, no file access, no per-item Qt work.

        The path index behind `row_of` is built a chunk per event-loop turn (or at once when a
        lookup needs it), so even 100k items return in milliseconds. The thumbnail loader's
        queue and caches are cleared: a new list is a new folder.

        Args:
            items: The items, in display order; paths must be absolute and unique.
        """
        new_items = list(items)
        for item in new_items:
            if type(item.status) is not str:
                item.status = status_text(item.status)
        if self._loader is not None:
            self._loader.clear()
        self.beginResetModel()
        self._items, self._rows, self._indexed = new_items, {}, 0
        self._index_timer.start()
        self._live_dirty.clear()
        self._name_keys = {}
        self.endResetModel()

    def item(self, row: int) -> MediaItem:
        """The item at `row` (raises IndexError outside 0..rowCount-1)."""
        if row < 0:
            raise IndexError(row)
        return self._items[row]

    def items(self) -> list[MediaItem]:
        """A shallow copy of the item list, in display order."""
        return list(self._items)

    def row_of(self, path: str | os.PathLike[str]) -> int | None:
        """The row of `path` (O(1)), or None when the model does not hold it."""
        key = os.fspath(path)
        row = self._rows.get(key)
        if row is None and self._indexed < len(self._items):
            self._index_all()
            row = self._rows.get(key)
        return row

    def index_of(self, path: str | os.PathLike[str]) -> QModelIndex:
        """The model index of `path` (invalid when absent)."""
        row = self.row_of(path)
        return QModelIndex() if row is None else self.index(row, 0)

    def paths(self) -> list[Path]:
        """Every item's path, in display order."""
        return [item.path for item in self._items]

    def update_item(self, path: str | os.PathLike[str], **fields: Any) -> bool:
        """Change fields of one item and emit `dataChanged` for its row with the roles touched.

        Args:
            path: The item's absolute path.
            **fields: `MediaItem` fields except `path` (status accepts the `Status` enum).

        Returns:
            True if the item exists and something changed.

        Raises:
            TypeError: For an unknown field (or `path`).
            ValueError: For an unknown status.
        """
        unknown = set(fields) - _FIELD_ROLES.keys()
        if unknown:
            raise TypeError(f"update_item: cannot set {sorted(unknown)}")
        key = os.fspath(path)
        row = self.row_of(key)
        if row is None:
            return False
        if "status" in fields:
            fields["status"] = status_text(fields["status"])
        item = self._items[row]
        roles: set[int] = set()
        for name, value in fields.items():
            if getattr(item, name) != value:
                setattr(item, name, value)
                roles.update(_FIELD_ROLES[name])
        if not roles:
            return False
        if _DECORATION in roles and self._loader is not None:
            self._loader.invalidate(key)
        roles.add(_ITEM)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, sorted(roles))
        return True

    def set_live_text(self, path: str | os.PathLike[str], text: str) -> None:
        """Set the streamed text of one item; views hear of it at the next flush (<= 40 ms).

        Cheap enough to call for every token of several rows: it stores the text and marks
        the row; one timer coalesces the `dataChanged` signals.
        """
        key = os.fspath(path)
        row = self.row_of(key)
        if row is None:
            return
        item = self._items[row]
        if item.live_text == text:
            return
        item.live_text = text
        self._live_dirty.add(key)
        if not self._live_timer.isActive():
            self._live_timer.start()

    @Slot()
    def flush_live_text(self) -> None:
        """Emit the pending `dataChanged` signals of streamed text now."""
        self._live_timer.stop()
        dirty, self._live_dirty = self._live_dirty, set()
        for key in dirty:
            row = self.row_of(key)
            if row is not None:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, [_LIVE, _ITEM])

    def sort_by(self, key: str = "name", descending: bool = False) -> None:
        """Reorder the items (a layout change; persistent indexes such as the selection follow).

        Sorting lives here rather than in the proxy: Qt's proxy sort calls Python once per
        comparison (seconds for 100k rows); one Python `sorted` with precomputed keys does not.

        Args:
            key: "name" (natural order of the relative path, part by part) or "mtime"
                (ties by relative path).
            descending: Reverse order (stable).

        Raises:
            ValueError: For another key.
        """
        items = self._items
        keyfunc: Callable[[int], Any]
        if key == "name":
            names = self._name_keys
            for item in items:
                if item.rel not in names:
                    names[item.rel] = (_path_key(item.rel), item.rel)
            keyfunc = lambda i: names[items[i].rel]  # noqa: E731
        elif key == "mtime":
            keyfunc = lambda i: (items[i].mtime, items[i].rel)  # noqa: E731
        else:
            raise ValueError(f"Unknown sort key {key!r}; expected 'name' or 'mtime'")
        order = sorted(range(len(items)), key=keyfunc, reverse=descending)
        if order == list(range(len(items))):
            return
        self.layoutAboutToBeChanged.emit()
        new_row = [0] * len(order)
        for new, old in enumerate(order):
            new_row[old] = new
        self._items = [items[i] for i in order]
        self._rows, self._indexed = {}, 0
        self._index_all()
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent, [self.index(new_row[p.row()], 0) for p in persistent])
        self.layoutChanged.emit()

    # -- internals ------------------------------------------------------------------------

    def _decoration(self, key: str) -> Any:
        loader = self._loader
        if loader is None:
            return None
        pixmap = loader.pixmap(key)
        if pixmap is not None:
            return pixmap
        loader.request(key)
        return loader.placeholder_pixmap()

    @Slot()
    def _index_chunk(self, size: int = 2000) -> None:
        items, rows, start = self._items, self._rows, self._indexed
        end = min(len(items), start + size)
        for row in range(start, end):
            rows[os.fspath(items[row].path)] = row
        self._indexed = end
        if end >= len(items):
            self._index_timer.stop()
            if len(rows) != len(items):
                log.warning("%d duplicate paths; only the last of each is addressable",
                            len(items) - len(rows))

    def _index_all(self) -> None:
        self._index_chunk(len(self._items))

    @Slot(str)
    def _on_loader_thumbnail_ready(self, key: str) -> None:
        row = self.row_of(key)
        if row is not None:
            index = self.index(row, 0)
            loader = self._loader
            extra = loader is not None and (loader.duration(key) is not None or loader.error(key))
            self.dataChanged.emit(index, index, [_DECORATION, _DURATION, _TOOLTIP] if extra else [_DECORATION])


def _tooltip(item: MediaItem) -> str:
    lines = [str(item.path), QCoreApplication.translate("MediaListModel", "Status: %1").replace(
        "%1", QCoreApplication.translate("TileDelegate", item.status))]
    if item.truncated:
        lines.append(QCoreApplication.translate("MediaListModel", "Caption cut at the token limit"))
    if item.problem in PROBLEM_TEXT:
        lines.append(QCoreApplication.translate("MediaListModel", PROBLEM_TEXT[item.problem][1]))
    if item.failure:
        lines.append(QCoreApplication.translate("MediaListModel", "Failure: %1").replace("%1", item.failure))
    if item.review:
        lines.append(QCoreApplication.translate("MediaListModel", "Review: %1").replace("%1", item.review))
    return "\n".join(lines)


# Why a generation left no caption text: badge word (TileDelegate) and what to do (tooltip,
# MediaListModel), translated where shown. (Plain comments: lupdate files "#:" ones as notes.)
PROBLEM_TEXT: dict[str, tuple[str, str]] = {
    "reasoning_unfinished": (
        QT_TRANSLATE_NOOP("TileDelegate", "unfinished"),
        QT_TRANSLATE_NOOP("MediaListModel", "No caption: the reasoning did not finish within Max new tokens. "
                                            "Raise Max new tokens and caption it again.")),
    "empty": (
        QT_TRANSLATE_NOOP("TileDelegate", "no text"),
        QT_TRANSLATE_NOOP("MediaListModel", "No caption: the model answered with no text. "
                                            "Try another prompt, seed or temperature.")),
}

#: A filter change touching more separate row ranges than this resets the proxy instead.
RESET_ABOVE_RANGES = 256


@dataclass(frozen=True)
class _FilterState:
    name: str
    statuses: frozenset[str] | None
    truncated: bool
    needle: str
    review: str = ""  # show only items with this mark ("" : any)
    match: Callable[[MediaItem], bool] | None = None  # the compiled filter query of `needle`
    tag_separator: ClassVar[str] = DEFAULT_SEPARATOR  # the tag panel's setting (tag: queries)

    def accepts(self, item: MediaItem) -> bool:
        if self.truncated and not item.truncated:
            return False
        if self.review and item.review != self.review:
            return False
        if self.statuses is not None and item.status not in self.statuses:
            return False
        return self.match is None or self.match(item)


def _changed_runs(old: list[bool], new: list[bool]) -> int:
    """How many separate row ranges change visibility between two masks."""
    runs, inside = 0, False
    for a, b in zip(old, new):
        if a != b:
            if not inside:
                runs += 1
                inside = True
        else:
            inside = False
    return runs


class MediaFilterProxy(QSortFilterProxyModel):
    """Filters a `MediaListModel` by status and by text; sorting is delegated to the source.

    Text matches case-insensitively anywhere in the file name or the caption. A status filter
    is one of `STATUS_FILTERS`' names or a set of statuses.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._source: MediaListModel | None = None
        self._state = _FilterState("all", None, False, "")
        self._mask: list[bool] | None = None  # acceptance at the last filter change (a hint)
        self._queries = grid_query_context()
        self.setDynamicSortFilter(True)

    def setSourceModel(self, model: QAbstractItemModel) -> None:  # noqa: N802
        if not isinstance(model, MediaListModel):
            raise TypeError("MediaFilterProxy needs a MediaListModel")
        if self._source is not None:
            self._source.modelReset.disconnect(self._on_source_reset)
        self._source = model
        self._mask = None
        super().setSourceModel(model)
        model.modelReset.connect(self._on_source_reset)

    # -- filter ---------------------------------------------------------------------------

    def status_filter(self) -> str:
        """The current status filter's name ("custom" for an explicit set)."""
        return self._state.name

    def set_status_filter(self, value: str | Iterable[str] | None) -> None:
        """Show only some statuses.

        Args:
            value: A name from `STATUS_FILTERS`, a set of statuses, or None for all.

        Raises:
            ValueError: For an unknown filter name or status.
        """
        if value is None:
            value = "all"
        if isinstance(value, str):
            if value not in STATUS_FILTERS:
                raise ValueError(f"Unknown status filter {value!r}")
            name, statuses, truncated = value, STATUS_FILTERS[value], value == "truncated"
        else:
            name, statuses, truncated = "custom", frozenset(status_text(s) for s in value), False
        review = name if name in REVIEW_FILTERS else ""
        self._change_filter(_FilterState(name, statuses, truncated, self._state.needle, review,
                                         self._state.match))

    def text_filter(self) -> str:
        """The current filter query."""
        return self._state.needle

    def set_text_filter(self, text: str) -> None:
        """Show only items a filter query accepts (`desktop_app.library.query`; plain words
        match the file name or the caption, in any case).

        Raises:
            QueryError: For a bad query; the filter stays as it was.
        """
        state, text = self._state, text.strip()
        match = self._queries.compile(text) if text else None
        self._change_filter(_FilterState(state.name, state.statuses, state.truncated, text,
                                         state.review, match))

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        source = self._source
        if source is None or source_row >= len(source._items):
            return False
        return self._state.accepts(source._items[source_row])

    def _change_filter(self, state: _FilterState) -> None:
        """Apply a new filter: incrementally, or as one reset when the change is fragmented.

        An incremental change keeps the selection, but views handle each removed or inserted
        range separately: tens of thousands of ranges (a text filter over 100k items) take
        seconds, while a reset and a batched relayout take a fraction of one.
        """
        if state == self._state:
            return
        source = self._source
        if source is None:
            self._state = state
            return
        items = source._items
        old = self._mask if self._mask is not None and len(self._mask) == len(items) else \
            [self._state.accepts(item) for item in items]
        new = [state.accepts(item) for item in items]
        if _changed_runs(old, new) > RESET_ABOVE_RANGES:
            self.beginResetModel()
            self._state = state
            self.endResetModel()
        else:
            self._begin_filter_change()
            self._state = state
            self._end_filter_change()
        self._mask = new

    @Slot()
    def _on_source_reset(self) -> None:
        self._mask = None

    # -- sort -----------------------------------------------------------------------------

    def set_sort(self, key: str = "name", descending: bool = False) -> None:
        """Sort the source model by "name" (natural) or "mtime"; the filter is kept."""
        if self._source is not None:
            self._source.sort_by(key, descending)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Qt's sort entry point (e.g. a sorting-enabled view): sorts the source by name."""
        if column >= 0 and self._source is not None:
            self._source.sort(column, order)

    # -- helpers --------------------------------------------------------------------------

    def source_rows(self, proxy_rows: list[int]) -> list[int]:
        """The source rows of some proxy rows (fast for 100k: no per-row Qt call then).

        Qt's `mapSelectionToSource` maps a 100k-row selection index by index (half a second).
        This proxy never reorders rows, so the n-th proxy row is the n-th accepted source row.
        """
        if len(proxy_rows) < 2000 or self._source is None:
            return [self.mapToSource(self.index(row, 0)).row() for row in proxy_rows]
        state, items = self._state, self._source._items
        if state.name == "all" and not state.needle:
            accepted: list[int] | range = range(len(items))
        else:
            accepted = [row for row, item in enumerate(items) if state.accepts(item)]
        if len(accepted) != self.rowCount():  # an item changed without dataChanged
            return [self.mapToSource(self.index(row, 0)).row() for row in proxy_rows]
        return [accepted[row] for row in proxy_rows]

    def source_item(self, proxy_row: int) -> MediaItem:
        """The `MediaItem` shown at `proxy_row`."""
        assert self._source is not None
        return self._source.item(self.mapToSource(self.index(proxy_row, 0)).row())

    def _begin_filter_change(self) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter is deprecated
            self.beginFilterChange()

    def _end_filter_change(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - Qt < 6.9
            self.invalidateRowsFilter()
