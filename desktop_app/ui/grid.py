"""The thumbnail grid: a QListView in icon mode and the delegate painting each tile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel, QItemSelection, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt,
    QTimer, Signal, Slot,
)
from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemDelegate, QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QWidget,
)

from desktop_app.ui.media_model import PROBLEM_TEXT, MediaFilterProxy, MediaItem, MediaListModel, Roles
from desktop_app.ui.video_thumbs import VideoBadge, is_video

#: Badge colour and label of each status (the label is painted too: never colour alone).
STATUS_STYLE: dict[str, tuple[str, str]] = {
    "pending": ("#7d838c", QT_TRANSLATE_NOOP("TileDelegate", "pending")),
    "queued": ("#5f7a8f", QT_TRANSLATE_NOOP("TileDelegate", "queued")),
    "generating": ("#1e88e5", QT_TRANSLATE_NOOP("TileDelegate", "generating")),
    "done": ("#2e7d32", QT_TRANSLATE_NOOP("TileDelegate", "done")),
    "edited": ("#7b1fa2", QT_TRANSLATE_NOOP("TileDelegate", "edited")),
    "failed": ("#c62828", QT_TRANSLATE_NOOP("TileDelegate", "failed")),
}
#: Mark colour and glyph of each review mark, painted in the thumbnail's bottom-right corner.
REVIEW_STYLE: dict[str, tuple[str, str]] = {
    "approved": ("#2e7d32", "✓"),
    "flagged": ("#ef6c00", "⚑"),
}
MIN_TILE, MAX_TILE, DEFAULT_TILE = 80, 480, 168
_PAD = 4
_CAPTION_LINES = 2
_CAPTION_CHARS = 400  # longer captions cannot show in two lines; eliding them costs more


class TileDelegate(QStyledItemDelegate):
    """Paints a tile: thumbnail (aspect-fit), status badge, review mark, name and caption snippet.

    Per paint it reads two roles (ItemRole, DecorationRole) and elides at most three strings;
    fonts, metrics, colours and brushes are prepared once per font or size change.
    """

    def __init__(self, parent: QWidget | None = None, tile_size: int = DEFAULT_TILE) -> None:
        super().__init__(parent)
        self._tile = tile_size
        font = parent.font() if parent is not None else QFont()
        self.set_font(font)
        self._badge_brushes = {s: QBrush(QColor(c)) for s, (c, _) in STATUS_STYLE.items()}
        self._stripes = QBrush(QColor(255, 255, 255, 70), Qt.BrushStyle.BDiagPattern)
        self._truncated_brush = QBrush(QColor("#ef6c00"))
        self._problem_brush = QBrush(QColor("#c62828"))  # no caption text at all
        self._review_brushes = {r: QBrush(QColor(c)) for r, (c, _) in REVIEW_STYLE.items()}
        self._failure_pen = QPen(QColor("#c62828"))

    def set_font(self, font: QFont) -> None:
        """Recompute fonts and metrics from the view's font."""
        self._name_font = QFont(font)
        self._caption_font = QFont(font)
        if font.pointSizeF() > 0:
            self._caption_font.setPointSizeF(max(6.0, font.pointSizeF() - 1))
        self._live_font = QFont(self._caption_font)
        self._live_font.setItalic(True)
        self._badge_font = QFont(self._caption_font)
        self._badge_font.setBold(True)
        self._name_fm = QFontMetrics(self._name_font)
        self._caption_fm = QFontMetrics(self._caption_font)
        self._live_fm = QFontMetrics(self._live_font)
        self._badge_fm = QFontMetrics(self._badge_font)
        self._video_badge = VideoBadge(self._caption_font)

    def tile_size(self) -> int:
        """The tile width in pixels."""
        return self._tile

    def set_tile_size(self, width: int) -> None:
        """Set the tile width (the height follows)."""
        self._tile = int(width)

    def tile_height(self) -> int:
        """The tile height for the current width and fonts."""
        return (_PAD + self._thumb_height() + 2 + self._name_fm.height()
                + _CAPTION_LINES * self._caption_fm.height() + _PAD)

    def _thumb_height(self) -> int:
        return round((self._tile - 2 * _PAD) * 0.75)

    def sizeHint(  # noqa: N802
            self, option: Any, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self._tile, self.tile_height())

    def paint(self, painter: QPainter, option: Any,
              index: QModelIndex | QPersistentModelIndex) -> None:
        item = index.data(Roles.ItemRole)
        if not isinstance(item, MediaItem):
            return
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        rect: QRect = option.rect
        state = option.state
        palette: QPalette = option.palette
        painter.save()
        if state & QStyle.StateFlag.State_Selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(90)
            painter.fillRect(rect, highlight)
        elif state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Highlight))
            hover.setAlpha(30)
            painter.fillRect(rect, hover)
        thumb = QRect(rect.x() + _PAD, rect.y() + _PAD, rect.width() - 2 * _PAD,
                      self._thumb_height())
        picture = thumb
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            picture = self._paint_pixmap(painter, thumb, pixmap)
        if is_video(item.path):  # a play mark and the clip's length on the poster
            self._video_badge.paint(painter, picture, index.data(Roles.DurationRole), thumb)
        self._paint_badges(painter, thumb, item)
        text_w = rect.width() - 2 * _PAD
        y = thumb.bottom() + 3
        painter.setFont(self._name_font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        name = self._name_fm.elidedText(item.path.name, Qt.TextElideMode.ElideMiddle, text_w)
        painter.drawText(QRect(thumb.x(), y, text_w, self._name_fm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        y += self._name_fm.height()
        self._paint_caption(painter, QRect(thumb.x(), y, text_w, _CAPTION_LINES
                                           * self._caption_fm.height()), item, palette)
        if state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.restore()

    def _paint_pixmap(self, painter: QPainter, box: QRect, pixmap: QPixmap) -> QRect:
        pw, ph = pixmap.width(), pixmap.height()
        scale = min(box.width() / pw, box.height() / ph)
        w, h = max(1, round(pw * scale)), max(1, round(ph * scale))
        target = QRect(box.x() + (box.width() - w) // 2, box.y() + (box.height() - h) // 2, w, h)
        if w != pw or h != ph:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawPixmap(target, pixmap)
        return target

    def _paint_badges(self, painter: QPainter, thumb: QRect, item: MediaItem) -> None:
        status = item.status if item.status in STATUS_STYLE else "pending"
        label = self.tr(STATUS_STYLE[status][1])
        fm = self._badge_fm
        h = fm.height() + 2
        badge = QRect(thumb.x() + 3, thumb.y() + 3, fm.horizontalAdvance(label) + 10, h)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._badge_brushes[status])
        painter.drawRoundedRect(badge, h / 2, h / 2)
        if status == "generating":  # stripes read as "in progress" without a timer
            painter.setBrush(self._stripes)
            painter.drawRoundedRect(badge, h / 2, h / 2)
        painter.setFont(self._badge_font)
        painter.setPen(Qt.GlobalColor.white)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        corner = None  # why the caption is not whole: no text at all, else cut at the limit
        if item.problem in PROBLEM_TEXT and status != "generating":
            corner = (self.tr(PROBLEM_TEXT[item.problem][0]), self._problem_brush)
        elif item.truncated:
            corner = (self.tr("cut"), self._truncated_brush)
        if corner is not None:
            word, brush = corner
            w = fm.horizontalAdvance(word) + 10
            box = QRect(thumb.right() - 3 - w, thumb.y() + 3, w, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(brush)
            painter.drawRoundedRect(box, h / 2, h / 2)
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, word)
        if item.review in REVIEW_STYLE:
            glyph = REVIEW_STYLE[item.review][1]
            box = QRect(thumb.right() - 3 - h, thumb.bottom() - 3 - h, h, h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self._review_brushes[item.review])
            painter.drawEllipse(box)
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, glyph)

    def _paint_caption(self, painter: QPainter, box: QRect, item: MediaItem,
                       palette: QPalette) -> None:
        fm, font = self._caption_fm, self._caption_font
        pen = QPen(palette.color(QPalette.ColorRole.Text))
        if item.status == "generating":
            text, fm, font = item.live_text or self.tr("generating…"), self._live_fm, self._live_font
            pen = QPen(palette.color(QPalette.ColorRole.PlaceholderText))
        elif item.status == "failed" and item.failure:
            text, pen = item.failure, self._failure_pen
        else:
            text = item.caption
            if not text:
                return
        painter.setFont(font)
        painter.setPen(pen)
        line_h = fm.height()
        for i, line in enumerate(_wrap(fm, text, box.width(), _CAPTION_LINES)):
            painter.drawText(QRect(box.x(), box.y() + i * line_h, box.width(), line_h),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)


def _wrap(fm: QFontMetrics, text: str, width: int, lines: int) -> list[str]:
    """Break `text` into at most `lines` lines, the last one elided, using only elidedText."""
    text = " ".join(text[:_CAPTION_CHARS].split())
    out: list[str] = []
    while text and len(out) < lines - 1:
        elided = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
        if elided == text:
            out.append(text)
            return out
        head = elided[:-1] if elided.endswith("…") else elided.removesuffix("...")
        cut = head.rfind(" ")
        if cut <= 0:
            cut = max(1, len(head))
        out.append(text[:cut])
        text = text[cut:].lstrip()
    if text:
        out.append(fm.elidedText(text, Qt.TextElideMode.ElideRight, width))
    return out


class ThumbnailGrid(QListView):
    """A grid of tiles over a `MediaListModel` (or a proxy of one).

    Icon mode, uniform tile sizes and batched layout keep 100k items responsive; extended
    selection and the default arrow-key navigation; Ctrl+wheel zooms.

    Signals:
        activated_path(Path): a tile was activated (double click or Enter).
        selection_changed(list): the selected paths (in view order), once per event-loop turn.
        current_path_changed(object): the current tile's Path, or None.
        tile_size_changed(int): the zoom changed.
    """

    activated_path = Signal(object)
    selection_changed = Signal(list)
    current_path_changed = Signal(object)
    tile_size_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None, tile_size: int = DEFAULT_TILE) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragDropMode(QAbstractItemView.DragDropMode.NoDragDrop)
        self.setAcceptDrops(False)  # folders dropped on the grid go to the main window
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._delegate = TileDelegate(self, tile_size)
        self.setItemDelegate(self._delegate)
        self.verticalScrollBar().setSingleStep(24)
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._emit_selection)
        self.activated.connect(self._on_view_activated)

    # -- public API -----------------------------------------------------------------------

    def delegate(self) -> TileDelegate:
        """The tile delegate."""
        return self._delegate

    def tile_size(self) -> int:
        """The tile width in pixels."""
        return self._delegate.tile_size()

    def set_tile_size(self, width: int) -> None:
        """Zoom: set the tile width (clamped to 80..480) and lay the tiles out again."""
        width = max(MIN_TILE, min(MAX_TILE, int(width)))
        if width == self._delegate.tile_size():
            return
        self._delegate.set_tile_size(width)
        self.doItemsLayout()  # drops the cached uniform item size
        self.tile_size_changed.emit(width)

    def selected_paths(self) -> list[Path]:
        """The selected items' paths, in view order (fast even for 100k selected)."""
        selection_model = self.selectionModel()
        model = self.model()
        if selection_model is None or model is None:
            return []
        ranges = [(rng.top(), rng.bottom()) for rng in selection_model.selection()]
        rows = sorted(row for top, bottom in ranges for row in range(top, bottom + 1))
        if isinstance(model, MediaFilterProxy):
            source = model.sourceModel()
            return [source.item(row).path for row in model.source_rows(rows)]
        if isinstance(model, MediaListModel):
            return [model.item(row).path for row in rows]
        role = int(Roles.PathRole)
        return [model.index(row, 0).data(role) for row in rows]

    def current_path(self) -> Path | None:
        """The current (focused) item's path, or None."""
        index = self.currentIndex()
        return index.data(Roles.PathRole) if index.isValid() else None

    def path_at(self, row: int) -> Path | None:
        """The path shown at view row `row`."""
        model = self.model()
        if model is None or not 0 <= row < model.rowCount():
            return None
        return model.index(row, 0).data(Roles.PathRole)

    # -- Qt overrides ---------------------------------------------------------------------

    def setItemDelegate(self, delegate: QAbstractItemDelegate) -> None:  # noqa: N802
        """Use another delegate; a `TileDelegate` (or subclass) takes over the zoom."""
        super().setItemDelegate(delegate)
        if isinstance(delegate, TileDelegate):
            self._delegate = delegate

    def setModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802
        old = self.selectionModel()
        if old is not None:
            try:
                old.selectionChanged.disconnect(self._on_selection_changed)
                old.currentChanged.disconnect(self._on_current_changed)
            except (RuntimeError, TypeError):  # already deleted with its model
                pass
        super().setModel(model)
        selection = self.selectionModel()
        if selection is not None:
            selection.selectionChanged.connect(self._on_selection_changed)
            selection.currentChanged.connect(self._on_current_changed)

    def wheelEvent(self, event: Any) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_tile_size(round(self.tile_size() * (1.1 ** steps)))
            event.accept()
            return
        super().wheelEvent(event)

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._delegate.set_font(self.font())
            self.doItemsLayout()

    # -- slots ----------------------------------------------------------------------------

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        self._selection_timer.start()  # a rubber band changes it per mouse move: coalesce

    @Slot()
    def _emit_selection(self) -> None:
        self.selection_changed.emit(self.selected_paths())

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.current_path_changed.emit(current.data(Roles.PathRole) if current.isValid() else None)

    @Slot(QModelIndex)
    def _on_view_activated(self, index: QModelIndex) -> None:
        path = index.data(Roles.PathRole)
        if path is not None:
            self.activated_path.emit(path)
