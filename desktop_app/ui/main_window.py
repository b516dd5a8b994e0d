"""The main window: grid, caption panel, live and settings panels, and the run they drive."""

from __future__ import annotations

import gc
import json
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import (QByteArray, QCoreApplication, QEvent, QItemSelection,
                            QItemSelectionModel, QRectF, QSettings, QSize, Qt, QTimer, Signal,
                            Slot)
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QColor, QDragEnterEvent, QDropEvent, QKeySequence,
                           QPainter, QPen)
from PySide6.QtWidgets import (QButtonGroup, QDockWidget, QFileDialog, QFrame,
                               QHBoxLayout, QLabel, QLineEdit, QMainWindow, QMenu, QProgressBar,
                               QPushButton, QSizePolicy, QSlider, QSplitter, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from ..engine import CaptionRequest, ImageCaptioned
from ..library import MEDIA_EXTENSIONS, Library
from . import style
from .caption_panel import CaptionPanel
from .editing import (AffixDialog, BatchEdit, BatchHistory, BatchOutcome, FindReplaceDialog, Scope,
                      SerialExecutor, apply_batch, redo_batch, undo_batch)
from .grid import ThumbnailGrid
from .live_panel import LivePanel, LogPanel
from .media_model import STATUS_FILTERS, MediaFilterProxy, MediaItem, MediaListModel, Roles
from .settings_panel import RunSettings, SettingsPanel
from .thumbnails import ThumbnailLoader
from .worker import CaptionJob, CaptionService

log = logging.getLogger(__name__)

MAX_RECENT = 10
MEMORY_INTERVAL_MS = 3000
#: Streamed text reaches the grid's tiles this often (the live panel and editor get every
#: 40 ms flush; a tile shows two lines, and repainting it less leaves the GIL to the worker).
GRID_LIVE_MS = 160
_STATUS_ROLES = [int(Roles.StatusRole), int(Qt.ItemDataRole.ToolTipRole), int(Roles.ItemRole)]
_FILTER_PILLS = (("all", "All"), ("uncaptioned", "To do"), ("done", "Done"), ("edited", "Edited"),
                 ("failed", "Failed"), ("truncated", "Cut"), ("approved", "Approved"), ("flagged", "Flagged"))
_REVIEW_ROLES = [int(Roles.ReviewRole), int(Qt.ItemDataRole.ToolTipRole), int(Roles.ItemRole)]
_STAGE_WORDS = {"loading": "Loading model", "loaded": "Model ready", "warmup": "Warming up",
                "ready": "Model ready", "captioning": "Captioning", "download": "Downloading",
                "idle": "Ready"}


def open_library(folder: Path, data_dir: Path | None, settings: RunSettings) -> tuple[Library, list[MediaItem]]:
    """Open and sync a folder's library and build its grid items (runs off the GUI thread).

    The garbage collector pauses meanwhile: a 100k-file folder allocates a million objects,
    and the collections they set off hold the GIL for 100-250 ms each, freezing the window
    although the work runs in another thread. (Nothing here makes reference cycles.)
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        library = Library.open(folder, data_dir=data_dir, recursive=settings.recursive,
                               sidecar_ext=settings.sidecar_ext)
        return library, [MediaItem.from_record(r, library.root) for r in library.items()]
    finally:
        if paused:
            gc.enable()


def commit_result(library: Library, result: ImageCaptioned, policy: Any, variants: int) -> tuple[Any, str | None]:
    """Store one generated caption and write its sidecar (writer thread); (record, problem)."""
    caption = result.caption.strip()
    text = "\n\n".join(v.strip() for v in result.variants) if variants > 1 else caption
    metadata = dict(result.metadata, truncated=result.truncated, reasoning=result.reasoning)
    problem = None
    if library.record_result(result.path, caption, [v.strip() for v in result.variants],
                             metadata=metadata, truncated=result.truncated, policy=policy):
        try:
            library.write_sidecar(result.path, text)
        except Exception as exc:  # noqa: BLE001 - the caption is safe in the store; say why the file is not
            problem = f"caption saved, but its caption file could not be written: {exc}"
    return library.item(result.path), problem


def _plan_run(library: Library, settings: RunSettings, subset: list[Path] | None
              ) -> tuple[list[Path], CaptionRequest | None]:
    """The files a run captions and its request (writer thread)."""
    paths = library.pending(settings.run_policy, subset)
    return paths, settings.request(paths) if paths else None


def commit_edit(library: Library, path: Path, text: str) -> Any:
    """Store a user's caption and write its sidecar (writer thread); returns the record."""
    library.record_edit(path, text)
    library.write_sidecar(path)
    return library.item(path)


def commit_review(library: Library, paths: list[Path], review: str) -> list[tuple[Path, str]]:
    """Store a review mark on each file (writer thread); returns the files that failed, and why."""
    errors = []
    for path in paths:
        try:
            library.set_review(path, review)
        except Exception as exc:  # noqa: BLE001 - one bad file does not stop the others
            errors.append((path, str(exc)))
    return errors


def step_history(library: Library, path: Path, forward: bool) -> tuple[bool, Any]:
    """Undo (or redo) one caption in the store and rewrite its sidecar; (moved, record)."""
    moved = (library.redo(path) if forward else library.undo(path)) is not None
    if moved:
        library.write_sidecar(path, force=True)
    return moved, library.item(path)


class DropHint(QWidget):
    """The empty window: a big friendly target saying what to drop, and recent folders.

    Signals:
        open_requested(): the Open Folder button was pressed.
        recent_requested(str): a recent folder was picked.
    """

    open_requested = Signal()
    recent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._icon = style.icon("drop", style.ACCENT_HOVER)
        title = QLabel("Drop a folder of images here")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet("font-size: 20pt; font-weight: 600;")
        sub = QLabel("Caption Studio shows every image at once, writes a caption for each with "
                     "Qwen3-VL,\nand saves it beside the image as a .txt file you can edit.")
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setObjectName("muted")
        button = QPushButton(style.icon("folder", "#ffffff"), "  Open Folder…")
        button.setObjectName("primary")
        button.setIconSize(QSize(18, 18))
        button.clicked.connect(self.open_requested)
        keys = QLabel("or press Ctrl+O  ·  JPG, PNG, WebP, GIF, BMP, TIFF and videos")
        keys.setObjectName("hint")
        keys.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._recent = QVBoxLayout()
        self._recent.setSpacing(0)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addSpacing(120)
        layout.addWidget(title)
        layout.addSpacing(6)
        layout.addWidget(sub)
        layout.addSpacing(18)
        layout.addLayout(row)
        layout.addSpacing(8)
        layout.addWidget(keys)
        layout.addSpacing(20)
        layout.addLayout(self._recent)
        layout.addStretch(4)

    def set_recent(self, folders: list[str]) -> None:
        """Offer up to four recent folders below the button."""
        while self._recent.count():
            widget = self._recent.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        if folders:
            label = QLabel("RECENT")
            label.setObjectName("sectionTitle")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._recent.addWidget(label)
        for folder in folders[:4]:
            link = QPushButton(folder)
            link.setObjectName("link")
            link.setCursor(Qt.CursorShape.PointingHandCursor)
            link.clicked.connect(partial(self.recent_requested.emit, folder))
            self._recent.addWidget(link, 0, Qt.AlignmentFlag.AlignHCenter)

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(28, 28, -28, -28)
        pen = QPen(QColor(style.BORDER), 2, Qt.PenStyle.DashLine)
        pen.setDashPattern([6, 5])
        p.setPen(pen)
        p.setBrush(QColor(style.PANEL))
        p.drawRoundedRect(box, 18, 18)
        size = 96
        top = self.layout().itemAt(1).geometry().top() if self.layout() else box.center().y()
        self._icon.paint(p, int(box.center().x() - size / 2), int(top), size, size)


class ProgressLine(QWidget):
    """A thin progress bar that repaints asynchronously.

    QProgressBar.setValue() repaints at once, and in a window that has dirty regions that
    means painting the grid and the live panel inside the progress slot: a 100 ms stall
    while a run streams. This one only schedules an update.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._done, self._total = 0, 0
        self.setFixedSize(180, 8)

    def set_progress(self, done: int, total: int) -> None:
        """Show `done` of `total` (total 0: empty)."""
        if (done, total) != (self._done, self._total):
            self._done, self._total = done, total
            self.update()

    def value(self) -> tuple[int, int]:
        """(done, total) shown."""
        return self._done, self._total

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        p.setBrush(QColor(style.SURFACE))
        p.drawRoundedRect(rect, 4, 4)
        if self._total > 0 and self._done > 0:
            p.setBrush(QColor(style.ACCENT))
            p.drawRoundedRect(QRectF(0, 0, max(8.0, rect.width() * min(1.0, self._done / self._total)),
                                     rect.height()), 4, 4)


class DropOverlay(QWidget):
    """Drawn over the window while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(style.ACCENT)
        fill.setAlpha(40)
        p.setBrush(fill)
        p.setPen(QPen(QColor(style.ACCENT), 3))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(8, 8, -8, -8), 16, 16)
        p.setPen(QColor("#ffffff"))
        font = p.font()
        font.setPointSize(18)
        font.setBold(True)
        p.setFont(font)
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Drop to open")


class MainWindow(QMainWindow):
    """Caption Studio's window: open a folder, caption it, review and edit, export.

    Library reads and writes happen on background executors (one serial writer, so the
    order of commits is the order of events); the caption engine runs in the service's
    worker thread. The GUI thread only moves plain values around and paints.

    Signals:
        folder_opened(object): a folder finished opening (its Path).
        folder_open_failed(str): opening a folder failed; the message.
        run_started(int): a caption job was queued (its id).
        run_finished(bool): the job ended; whether it was cancelled (or failed).
    """

    folder_opened = Signal(object)
    folder_open_failed = Signal(str)
    run_started = Signal(int)
    run_finished = Signal(bool)

    def __init__(self, settings: QSettings | None = None, *, data_dir: str | os.PathLike[str] | None = None,
                 service: CaptionService | None = None, loader: ThumbnailLoader | None = None,
                 runner: str = "auto", parent: QWidget | None = None) -> None:
        """Build the window.

        Args:
            settings: Where settings persist (tests pass an ini file in tmp_path).
            data_dir: Where libraries and thumbnails are stored (default: the user data dir).
            service: The caption service (default: a new one, shut down with the window).
            loader: The thumbnail loader (default: a new one caching beside the libraries).
            runner: The engine's runner when the window makes its own service.
            parent: Qt parent.
        """
        super().__init__(parent)
        self.qsettings = settings if settings is not None else QSettings()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.service = service if service is not None else CaptionService(runner=runner)
        thumbs = self.data_dir / "thumbnails" if self.data_dir is not None else None
        self.loader = loader if loader is not None else ThumbnailLoader(self, cache_dir=thumbs)
        self.model = MediaListModel(self.loader, self)
        self.proxy = MediaFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.writer = SerialExecutor("library-writer", self)
        self.opener = SerialExecutor("folder-opener", self)
        self.batches = BatchHistory()
        self.library: Library | None = None
        self._open_token = 0
        self._opening: Path | None = None
        self._select_after_open: list[Path] = []
        self._job: CaptionJob | None = None
        self._job_library: Library | None = None
        self._job_settings: RunSettings | None = None
        self._starting = False
        self._before_run: dict[Path, str] = {}
        self._finished_in_run: set[Path] = set()
        self._last_action = "edit"
        self._model_description = ""
        self._closed = False
        self._dialogs: dict[str, QWidget] = {}
        self.setWindowTitle("Caption Studio")
        self.setWindowIcon(style.app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore_state()
        self._update_actions()

    # == building ===============================================================================
    def _action(self, text: str, slot: Any, shortcuts: Iterable[Any] = (), icon: str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(style.icon(icon))
        keys = [QKeySequence(k) for k in shortcuts]
        if keys:
            action.setShortcuts(keys)
        action.setToolTip(f"{tip or text} ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
                          if keys else tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("Open Folder…", self.choose_folder,
                                        [QKeySequence.StandardKey.Open], "folder")
        self.caption_all_action = self._action("Caption All", self.caption_all,
                                               ["Ctrl+Shift+Return", "Ctrl+Shift+Enter"], "sparkles",
                                               "Caption every image the run policy allows")
        self.caption_selected_action = self._action("Caption Selected", self.caption_selected,
                                                    ["Ctrl+Return", "Ctrl+Enter"], "selection",
                                                    "Caption the selected images")
        self.stop_action = self._action("Stop", self.stop, [], "stop",
                                        "Stop captioning; finished captions are kept (Esc)")
        # Esc stops a run, else takes the keyboard back to the grid: always enabled.
        self.escape_action = self._action("Stop or Back to Grid", self.stop, ["Esc"])
        self.export_action = self._action("Export…", self.show_export, ["Ctrl+E"], "export",
                                          "Export captions to files")
        self.models_action = self._action("Models", self.show_models, ["Ctrl+M"], "cube",
                                          "Choose, download or unload a model")
        self.undo_action = self._action("Undo", self.undo, [QKeySequence.StandardKey.Undo], "undo")
        self.redo_action = self._action("Redo", self.redo, ["Ctrl+Y", "Ctrl+Shift+Z"], "redo")
        self.find_action = self._action("Find and Replace…", self.show_find_replace, ["Ctrl+H"], "replace")
        self.affix_action = self._action("Add Text to Selected…", self.show_affix, ["Ctrl+Shift+A"],
                                         "text-plus", "Prepend or append text to the selected captions")
        self.filter_action = self._action("Filter", self.focus_filter, [QKeySequence.StandardKey.Find], "search")
        self.edit_caption_action = self._action("Edit Caption", self.focus_editor, ["F2"])
        self.previous_action = self._action("Previous Image", partial(self.move_current, -1), ["Alt+Up"])
        self.next_action = self._action("Next Image", partial(self.move_current, 1), ["Alt+Down"])
        self.quit_action = self._action("Quit", self.close, [QKeySequence.StandardKey.Quit])
        self.zoom_in_action = self._action("Larger Tiles", partial(self.zoom, 1.15), [QKeySequence.StandardKey.ZoomIn])
        self.zoom_out_action = self._action("Smaller Tiles", partial(self.zoom, 1 / 1.15),
                                            [QKeySequence.StandardKey.ZoomOut])

    def _build_central(self) -> None:
        self.grid = ThumbnailGrid(self)
        self.grid.setModel(self.proxy)
        self.drop_hint = DropHint(self)
        self.loading_label = QLabel("Opening…")
        self.loading_label.setObjectName("heading")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)
        self.loading_bar.setFixedWidth(260)
        loading = QWidget()
        box = QVBoxLayout(loading)
        box.addStretch(1)
        box.addWidget(self.loading_label)
        box.addWidget(self.loading_bar, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(1)
        self.stack = QStackedWidget()
        for page in (self.drop_hint, loading, self.grid):
            self.stack.addWidget(page)
        self.caption_panel = CaptionPanel(self)
        self.caption_panel.setMinimumWidth(300)
        self.caption_panel.set_actions(self.undo_action, self.redo_action)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.filter_bar = self._build_filter_bar()
        column.addWidget(self.filter_bar)
        column.addWidget(self.stack, 1)
        left.setMinimumWidth(480)  # long pill counts squeeze the filter field, not the window
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.caption_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.banner = self._build_banner()
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.banner)
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.overlay = DropOverlay(self)
        self._show_page(0)

    def _show_page(self, page: int) -> None:
        """0: the drop hint (nothing open), 1: opening, 2: the grid; the side panel shows with it."""
        self.stack.setCurrentIndex(page)
        has_folder = page == 2 or (page == 1 and self.library is not None)
        self.filter_bar.setVisible(has_folder)
        self.caption_panel.setVisible(has_folder)
        if hasattr(self, "zoom_box"):
            self.zoom_box.setVisible(has_folder)

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
            button.setText(label)
            button.clicked.connect(partial(self.set_status_filter, key))
            group.addButton(button)
            row.addWidget(button)
            self.filter_buttons[key] = button
        self.filter_buttons["all"].setChecked(True)
        row.addStretch(1)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name or caption  (Ctrl+F)")
        self.filter_edit.addAction(style.icon("search", style.MUTED), QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setFixedWidth(280)
        self.filter_edit.textChanged.connect(self._on_filter_text_changed)
        self.sort_button = QToolButton()
        self.sort_button.setObjectName("flat")
        self.sort_button.setIcon(style.icon("sliders", style.MUTED))
        self.sort_button.setToolTip("Sort order")
        self.sort_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        sort_menu = QMenu(self.sort_button)
        sort_group = QActionGroup(self)
        for label, key, descending in (("Sort by name", "name", False), ("Newest first", "mtime", True),
                                       ("Oldest first", "mtime", False)):
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
        self.zoom_slider.setToolTip("Tile size (Ctrl+wheel)")
        self.zoom_slider.valueChanged.connect(self.grid.set_tile_size)
        self.grid.tile_size_changed.connect(self.zoom_slider.setValue)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(self._apply_text_filter)
        return bar

    def _build_banner(self) -> QFrame:
        banner = QFrame()
        banner.setObjectName("banner")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_button = QPushButton("Models…")
        self.banner_button.clicked.connect(self.show_models)
        close = QToolButton()
        close.setObjectName("flat")
        close.setIcon(style.icon("close", style.MUTED))
        close.clicked.connect(self.hide_banner)
        row = QHBoxLayout(banner)
        row.setContentsMargins(14, 10, 10, 10)
        row.addWidget(self.banner_label, 1)
        row.addWidget(self.banner_button)
        row.addWidget(close)
        wrapper = QFrame()
        outer = QVBoxLayout(wrapper)
        outer.setContentsMargins(10, 8, 10, 0)
        outer.addWidget(banner)
        wrapper.hide()
        return wrapper

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.settings_panel = SettingsPanel(self.qsettings, self)
        self.settings_panel.setMinimumWidth(316)
        self.settings_dock = self._dock("Settings", "settingsDock", self.settings_panel,
                                        Qt.DockWidgetArea.LeftDockWidgetArea)
        self.live_panel = LivePanel(self.loader.pixmap, self)
        self.live_panel.setMinimumHeight(150)
        self.live_dock = self._dock("Live captions", "liveDock", self.live_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.log_panel = LogPanel(self)
        self.log_dock = self._dock("Problems", "logDock", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.live_dock, self.log_dock)
        self.live_dock.raise_()
        self.resizeDocks([self.settings_dock], [320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.live_dock], [272], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = bar.addMenu("&Edit")
        for action in (self.undo_action, self.redo_action, None, self.edit_caption_action,
                       self.find_action, self.affix_action, None, self.filter_action,
                       self.previous_action, self.next_action):
            edit.addSeparator() if action is None else edit.addAction(action)
        run = bar.addMenu("&Caption")
        for action in (self.caption_all_action, self.caption_selected_action, self.stop_action, None,
                       self.models_action):
            run.addSeparator() if action is None else run.addAction(action)
        view = bar.addMenu("&View")
        for dock in (self.settings_dock, self.live_dock, self.log_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.zoom_in_action)
        view.addAction(self.zoom_out_action)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(style.icon_size())
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.open_action)
        bar.addSeparator()
        for action in (self.caption_all_action, self.caption_selected_action, self.stop_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.export_action)
        bar.addAction(self.models_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addWidget(self.filter_edit)
        self.caption_all_action.setIcon(style.icon("sparkles", "#ffffff"))
        bar.widgetForAction(self.caption_all_action).setObjectName("primaryAction")
        bar.widgetForAction(self.stop_action).setObjectName("stopAction")
        self.stop_action.setIcon(style.icon("stop", style.DANGER))
        self.toolbar = bar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.stage_label = QLabel("Ready")
        self.progress_bar = ProgressLine()
        self.progress_bar.hide()
        # Fixed sizes: a label whose text changes several times a second must not re-lay the
        # whole window out each time (Qt stops size-hint propagation at fixed-size widgets).
        self.progress_label = _fixed_label(100)
        self.rate_label = _fixed_label(190)
        self.counts_label = _fixed_label(190, Qt.AlignmentFlag.AlignRight)
        self.memory_label = _fixed_label(160, Qt.AlignmentFlag.AlignRight)
        self.model_label = _fixed_label(210, Qt.AlignmentFlag.AlignRight)
        self.model_label.setText("No model loaded")
        zoom = self.zoom_box = QWidget()
        zoom_row = QHBoxLayout(zoom)
        zoom_row.setContentsMargins(4, 0, 12, 0)
        zoom_row.addWidget(self.zoom_slider)
        status.addWidget(self.stage_label)
        status.addWidget(self.progress_bar)
        status.addWidget(self.progress_label)
        status.addWidget(self.rate_label)
        status.addPermanentWidget(self.counts_label)
        status.addPermanentWidget(self.model_label)
        status.addPermanentWidget(self.memory_label)
        status.addPermanentWidget(zoom)
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(MEMORY_INTERVAL_MS)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start()
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(700)  # pill counts re-lay the filter bar out: not too often
        self._counts_timer.timeout.connect(self._update_counts)
        self._grid_live: dict[Path, str] = {}
        self._grid_live_timer = QTimer(self)
        self._grid_live_timer.setSingleShot(True)
        self._grid_live_timer.setInterval(GRID_LIVE_MS)
        self._grid_live_timer.timeout.connect(self._flush_grid_live)
        QTimer.singleShot(0, self._update_memory)
        self.zoom_box.setVisible(self.library is not None)

    def _connect(self) -> None:
        s = self.service
        s.stage_changed.connect(self._on_service_stage_changed)
        s.model_loaded.connect(self._on_service_model_loaded)
        s.model_load_failed.connect(self._on_service_model_load_failed)
        s.model_unloaded.connect(self._on_service_model_unloaded)
        s.image_started.connect(self._on_service_image_started)
        s.tokens_streamed.connect(self._on_service_tokens_streamed)
        s.image_captioned.connect(self._on_service_image_captioned)
        s.image_failed.connect(self._on_service_image_failed)
        s.progress.connect(self._on_service_progress)
        s.job_finished.connect(self._on_service_job_finished)
        s.job_failed.connect(self._on_service_job_failed)
        self.grid.current_path_changed.connect(self._on_grid_current_path_changed)
        self.grid.selection_changed.connect(self._on_grid_selection_changed)
        self.grid.activated_path.connect(self._on_grid_activated_path)
        self.caption_panel.caption_edited.connect(self._on_caption_panel_caption_edited)
        self.caption_panel.review_changed.connect(self._on_caption_panel_review_changed)
        self.caption_panel.undo_requested.connect(self.undo)
        self.caption_panel.redo_requested.connect(self.redo)
        self.drop_hint.open_requested.connect(self.choose_folder)
        self.drop_hint.recent_requested.connect(self._on_recent_requested)
        self.settings_panel.manage_models_requested.connect(self.show_models)
        self.log_panel.path_activated.connect(self.select_paths)
        self.log_panel.count_changed.connect(self._on_log_count_changed)
        self.model.modelReset.connect(self._counts_timer.start)
        self.model.dataChanged.connect(self._on_model_data_changed)

    # == state ==================================================================================
    def _restore_state(self) -> None:
        geometry = self.qsettings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.qsettings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        splitter = self.qsettings.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([640, 460])
        tile = self.qsettings.value("window/tile_size")
        if tile is not None:
            try:
                self.grid.set_tile_size(int(tile))
            except (TypeError, ValueError):
                pass
        self._rebuild_recent_menu()

    def save_state(self) -> None:
        """Persist geometry, docks, splitter, tile size and settings."""
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState())
        self.qsettings.setValue("window/splitter", self.splitter.saveState())
        self.qsettings.setValue("window/tile_size", self.grid.tile_size())
        self.settings_panel.save()
        self.qsettings.sync()

    def recent_folders(self) -> list[str]:
        """Recently opened folders, newest first."""
        value = self.qsettings.value("recent/folders")
        try:
            folders = json.loads(value) if isinstance(value, str) else []
        except ValueError:
            folders = []
        return [f for f in folders if isinstance(f, str)]

    def _remember_folder(self, folder: Path) -> None:
        folders = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.qsettings.setValue("recent/folders", json.dumps(folders[:MAX_RECENT]))
        self.qsettings.setValue("recent/last_folder", str(folder))
        self._rebuild_recent_menu()

    def last_folder(self) -> str | None:
        """The folder open when the app last closed (or last opened)."""
        value = self.qsettings.value("recent/last_folder")
        return value if isinstance(value, str) and value else None

    def _rebuild_recent_menu(self) -> None:
        folders = self.recent_folders()
        self.recent_menu.clear()
        for folder in folders:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(partial(self._on_recent_requested, folder))
        if not folders:
            self.recent_menu.addAction("No recent folders").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Folders", self._clear_recent)
        self.drop_hint.set_recent(folders)

    @Slot()
    def _clear_recent(self) -> None:
        self.qsettings.setValue("recent/folders", "[]")
        self._rebuild_recent_menu()

    @property
    def running(self) -> bool:
        """Whether a caption job is queued or running."""
        return self._job is not None or self._starting

    def _update_actions(self) -> None:
        has_library = self.library is not None
        running = self.running
        self.caption_all_action.setEnabled(has_library and not running)
        self.caption_selected_action.setEnabled(has_library and not running and bool(self.grid.selected_paths()))
        self.stop_action.setEnabled(running)
        self.export_action.setEnabled(has_library)
        self.find_action.setEnabled(has_library)
        self.affix_action.setEnabled(has_library)
        batch = self._last_action == "batch"
        self.undo_action.setText("Undo Batch Edit" if batch and self.batches.undo_target() else "Undo")
        self.redo_action.setText("Redo Batch Edit" if batch and self.batches.redo_target() else "Redo")

    def show_banner(self, text: str, action: str | None = "Models…") -> None:
        """Show a message above the grid (errors that need the user), with an optional button."""
        self.banner_label.setText(text)
        self.banner_button.setVisible(action is not None)
        if action:
            self.banner_button.setText(action)
        self.banner.show()

    @Slot()
    def hide_banner(self) -> None:
        """Hide the message above the grid."""
        self.banner.hide()

    def banner_text(self) -> str:
        """The banner's message ('' when hidden)."""
        return self.banner_label.text() if not self.banner.isHidden() else ""

    # == folders ================================================================================
    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder and open it."""
        start = self.last_folder() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | os.PathLike[str], select: Iterable[Path] = ()) -> None:
        """Open a folder in the background; the grid shows it when it is ready.

        Args:
            folder: The folder.
            select: Files to select once it is open.
        """
        path = Path(folder).expanduser()
        if not path.is_dir():
            self.show_banner(f"“{path}” is not a folder (or no longer exists).", None)
            return
        path = path.resolve()
        if self._job is not None:
            self.stop()  # the run's library stays open until the job has ended
        self.caption_panel.flush()
        self._open_token += 1
        self._opening = path
        self._select_after_open = [Path(p) for p in select]
        self.loading_label.setText(f"Opening {path.name}…")
        self._show_page(1)
        self.stage_label.setText(f"Scanning {path}")
        settings = self.settings_panel.settings()
        self.opener.submit(partial(open_library, path, self.data_dir, settings),
                           partial(self._on_library_opened, self._open_token),
                           partial(self._on_library_open_failed, self._open_token, path))

    def _on_library_opened(self, token: int, result: tuple[Library, list[MediaItem]]) -> None:
        library, items = result
        if token != self._open_token or self._closed:
            self.writer.submit(library.close)  # a newer open won
            return
        old = self.library
        if old is not None and old is not self._job_library:
            self.writer.submit(old.close)
        self.library = library
        self._opening = None
        self.batches.clear()
        self._last_action = "edit"
        self.model.set_items(items)
        self._update_counts()
        self._show_page(2)
        self.setWindowTitle(f"{library.root.name} — Caption Studio")
        self.stage_label.setText("Ready")
        self._remember_folder(library.root)
        self.hide_banner()
        report = library.last_sync
        for conflict in report.conflicts:
            self.log_panel.add(library.absolute(conflict.rel_path),
                               "its caption file was changed by another program while you had an "
                               "unsaved edit; your edit is kept, the file's text is in the history")
        select, self._select_after_open = self._select_after_open, []
        if select:
            self.select_paths(select)
        elif self.proxy.rowCount():
            self.grid.setCurrentIndex(self.proxy.index(0, 0))
        self.grid.setFocus()
        self._update_actions()
        self.folder_opened.emit(library.root)

    def _on_library_open_failed(self, token: int, folder: Path, message: str) -> None:
        if token != self._open_token:
            return
        self._opening = None
        self._show_page(2 if self.library is not None else 0)
        self.stage_label.setText("Ready")
        self.show_banner(f"Could not open {folder}: {message}", None)
        self.log_panel.add(folder, f"could not open the folder: {message}")
        self.folder_open_failed.emit(message)

    @Slot(str)
    def _on_recent_requested(self, folder: str) -> None:
        self.open_folder(folder)

    def handle_drop(self, paths: Iterable[str | os.PathLike[str]]) -> bool:
        """Open what was dropped: a folder, or the folder of dropped files (then select them).

        Several folders: the first opens and the others join the recent list.

        Returns:
            Whether anything could be opened.
        """
        items = [Path(p) for p in paths]
        folders = [p for p in items if p.is_dir()]
        files = [p for p in items if p.is_file()]
        if folders:
            for extra in reversed(folders[1:]):
                self._remember_folder(extra.resolve())
            self.open_folder(folders[0])
            if len(folders) > 1:
                self.statusBar().showMessage(
                    f"Opened {folders[0].name}; the other {len(folders) - 1} folder(s) are in File › Open Recent", 8000)
            return True
        if not files:
            return False
        media = [f.resolve() for f in files if f.suffix.lower() in MEDIA_EXTENSIONS] or [files[0].resolve()]
        folder = media[0].parent
        chosen = [f for f in media if f.parent == folder]
        if self.library is not None and all(self.model.row_of(f) is not None for f in chosen):
            self.select_paths(chosen)  # already open: just select them
        else:
            self.open_folder(folder, select=chosen)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
            self.overlay.setGeometry(self.centralWidget().geometry())
            self.overlay.raise_()
            self.overlay.show()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: Any) -> None:  # noqa: N802
        self.overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.overlay.hide()
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if self.handle_drop(paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    # == grid and selection =====================================================================
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
            self.statusBar().showMessage(f"{len(paths):,} selected", 3000)

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
        self.proxy.set_text_filter(self.filter_edit.text())

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
            self.filter_buttons[key].setText(f"{label}  {numbers[key]:,}" if total else label)
        for key in ("truncated", "approved", "flagged"):  # shown once there is something to show
            self.filter_buttons[key].setVisible(numbers[key] > 0 or self.proxy.status_filter() == key)
        if total:
            self.counts_label.setText(f"{total:,} images · {numbers['done'] + numbers['edited']:,} captioned")
        else:
            self.counts_label.clear()

    # == running ================================================================================
    @Slot()
    def caption_all(self) -> None:
        """Caption every file the run policy allows."""
        self._begin_run(None)

    @Slot()
    def caption_selected(self) -> None:
        """Caption the selected files the run policy allows (Ctrl+Enter)."""
        selected = self.grid.selected_paths()
        if not selected and self.grid.current_path() is not None:
            selected = [self.grid.current_path()]
        if not selected:
            self.statusBar().showMessage("Select images first (Ctrl+A selects all)", 5000)
            return
        self._begin_run(selected)

    def _begin_run(self, subset: list[Path] | None) -> None:
        library = self.library
        if library is None or self.running or self._closed:
            return
        self.caption_panel.flush()
        settings = self.settings_panel.settings()
        try:
            settings.params().validate()
        except ValueError as exc:
            self.show_banner(f"Cannot caption: {exc}", None)
            return
        self._starting = True
        self._update_actions()
        self.stage_label.setText("Preparing…")
        # pending() reads the store: on the writer, after the edits queued before it; the
        # request (one item per file, 100k of them) is built there too.
        self.writer.submit(partial(_plan_run, library, settings, subset),
                           partial(self._start_job, library, settings, subset is not None),
                           self._on_start_failed)

    def _start_job(self, library: Library, settings: RunSettings, selection: bool,
                   plan: tuple[list[Path], CaptionRequest | None]) -> None:
        paths, request = plan
        self._starting = False
        if library is not self.library or self._closed:
            self._update_actions()
            return
        if not paths:
            where = "selected " if selection else ""
            self.stage_label.setText("Ready")
            self.statusBar().showMessage(
                f"Nothing to caption: every {where}image is already captioned or edited. "
                "Choose “Overwrite” under Run settings to caption them again.", 8000)
            self._update_actions()
            return
        self.hide_banner()
        job = self.service.new_job(request, library.root)
        self._job, self._job_library, self._job_settings = job, library, settings
        self._finished_in_run = set()
        self._before_run = {}
        queued = {}
        for path in paths:
            item = self._item(path)
            if item is not None:
                self._before_run[path] = item.status
                queued[path] = "queued"
        self._set_statuses(queued)
        self.live_panel.clear()
        self.live_dock.raise_()
        self.progress_bar.set_progress(0, len(paths))
        self.progress_bar.show()
        self.progress_label.setText(f"0 / {len(paths):,}")
        self.rate_label.clear()
        self.service.load_model(settings.model, settings.load_options())
        self.service.start(job)
        self._update_actions()
        self.run_started.emit(job.job_id)

    def _on_start_failed(self, message: str) -> None:
        self._starting = False
        self.stage_label.setText("Ready")
        self.show_banner(f"Cannot start: {message}", None)
        self._update_actions()

    @Slot()
    def stop(self) -> None:
        """Stop the run within one decoding step (Esc); finished captions are kept.

        With nothing running, Esc takes the keyboard back to the grid.
        """
        if self._job is None:
            if self.caption_panel.editor.hasFocus() or self.filter_edit.hasFocus():
                self.grid.setFocus()
            return
        self.service.cancel()
        self.stage_label.setText("Stopping…")

    def _set_statuses(self, statuses: dict[Path, str]) -> None:
        """Set many tiles' status with one dataChanged (per-row signals cost seconds at 100k)."""
        rows = []
        for path, status in statuses.items():
            row = self.model.row_of(path)
            if row is not None:
                self.model.item(row).status = status
                rows.append(row)
        if rows:
            self.model.dataChanged.emit(self.model.index(min(rows), 0), self.model.index(max(rows), 0),
                                        _STATUS_ROLES)
        current = self.caption_panel.path
        if current is not None and current in statuses:
            item = self._item(current)
            if item is not None:
                self.caption_panel.refresh(item)

    def _apply_record(self, path: Path, record: Any) -> None:
        """Show a library record on its tile and, if it is on screen, in the caption panel."""
        self._grid_live.pop(path, None)
        if record is None or self.model.row_of(path) is None:
            return
        self.model.update_item(path, status=record.status, caption=record.caption,
                               truncated=bool(record.truncated), failure=record.failure_reason or "",
                               live_text="", review=getattr(record.review, "value", record.review))
        item = self._item(path)
        if item is not None:
            self.caption_panel.refresh(item)

    @Slot(str, str)
    def _on_service_stage_changed(self, stage: str, detail: str) -> None:
        if stage == "idle" and self._job is not None:
            return  # the job's own end says how it went
        words = _STAGE_WORDS.get(stage, stage.title())
        self.stage_label.setText(f"{words}: {detail}" if detail and stage in ("loading", "captioning") else words)

    @Slot(str)
    def _on_service_model_loaded(self, description: str) -> None:
        self._model_description = description
        name, _, rest = description.partition(" on ")
        text = f"{Path(name).name or name} · {rest.split(' (')[0]}"
        self.model_label.setText(self.model_label.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideMiddle, self.model_label.width() - 12))
        self.model_label.setToolTip(description)
        self._update_memory()

    @Slot(str)
    def _on_service_model_load_failed(self, message: str) -> None:
        self._model_description = ""
        self.model_label.setText("No model loaded")
        self.show_banner(f"The model could not be loaded. {message}")
        self.log_panel.add(None, f"model load failed: {message}")

    @Slot()
    def _on_service_model_unloaded(self) -> None:
        self._model_description = ""
        self.model_label.setText("No model loaded")
        dialog = self._dialogs.get("models")
        if dialog is not None and hasattr(dialog, "set_current_model"):
            dialog.set_current_model(None)

    @Slot(object)
    def _on_service_image_started(self, path: Path) -> None:
        if self._job is None:
            return
        self.live_panel.image_started(path)
        if self.model.update_item(path, status="generating", live_text=""):
            item = self._item(path)
            if item is not None:
                self.caption_panel.refresh(item)

    @Slot(object)
    def _on_service_tokens_streamed(self, batch: list[tuple[Path, int, str, bool]]) -> None:
        self.live_panel.append(batch)
        for path, variant, text, reasoning in batch:
            if variant or reasoning:
                continue
            item = self._item(path)
            if item is not None:
                self._grid_live[path] = self._grid_live.get(path, item.live_text) + text
                self.caption_panel.append_stream(path, text)
        if self._grid_live and not self._grid_live_timer.isActive():
            self._grid_live_timer.start()

    @Slot()
    def _flush_grid_live(self) -> None:
        """Hand the streamed text gathered since the last flush to the grid's tiles."""
        self._grid_live_timer.stop()
        pending, self._grid_live = self._grid_live, {}
        for path, text in pending.items():
            item = self._item(path)
            if item is not None and item.status == "generating":
                self.model.set_live_text(path, text)

    @Slot(object)
    def _on_service_image_captioned(self, result: ImageCaptioned) -> None:
        library, settings = self._job_library, self._job_settings
        self.live_panel.image_finished(result.path)
        self._finished_in_run.add(result.path)
        if library is None or settings is None:
            return
        self.writer.submit(partial(commit_result, library, result, settings.run_policy, settings.variants),
                           partial(self._on_result_committed, result.path),
                           partial(self._on_write_failed, result.path))

    def _on_result_committed(self, path: Path, outcome: tuple[Any, str | None]) -> None:
        record, problem = outcome
        self._apply_record(path, record)
        if problem:
            self.log_panel.add(path, problem)

    @Slot(object, str)
    def _on_service_image_failed(self, path: Path, reason: str) -> None:
        library = self._job_library
        self.live_panel.image_finished(path, reason)
        self._finished_in_run.add(path)
        self.log_panel.add(path, reason)
        if library is None:
            return

        def record() -> Any:
            library.record_failure(path, reason)
            return library.item(path)

        self.writer.submit(record, partial(self._apply_record, path), partial(self._on_write_failed, path))

    def _on_write_failed(self, path: Path, message: str) -> None:
        self.log_panel.add(path, f"could not save: {message}")
        if path == self.caption_panel.path:
            self.caption_panel.set_save_state("Not saved")

    @Slot(int, int, int, float, float)
    def _on_service_progress(self, done: int, failed: int, total: int, per_s: float, eta: float) -> None:
        self.progress_bar.set_progress(done + failed, total)
        failed_text = f" · {failed:,} failed" if failed else ""
        self.progress_label.setText(f"{done + failed:,} / {total:,}{failed_text}")
        rate = f"{per_s:.2f} images/s" if per_s < 10 else f"{per_s:.0f} images/s"
        self.rate_label.setText(f"{rate} · {_eta(eta)} left" if eta >= 0 else rate)

    @Slot(int, bool)
    def _on_service_job_finished(self, job_id: int, cancelled: bool) -> None:
        if self._job is not None and job_id == self._job.job_id:
            self._end_run(cancelled, "Stopped" if cancelled else "Finished")

    @Slot(int, str)
    def _on_service_job_failed(self, job_id: int, message: str) -> None:
        if self._job is None or job_id != self._job.job_id:
            return
        if not message.startswith("no model is loaded"):  # the load failure is already shown
            self.show_banner(f"Captioning stopped: {message}", None)
            self.log_panel.add(None, f"captioning stopped: {message}")
        self._end_run(True, "Failed")

    def _end_run(self, cancelled: bool, word: str) -> None:
        """Put tiles that got no result back to what they were, and re-enable the controls."""
        self._grid_live.clear()
        left = {p: s for p, s in self._before_run.items() if p not in self._finished_in_run}
        if self._job_library is self.library:
            self._set_statuses(left)
            for path in left:
                self.model.set_live_text(path, "")
        elif self._job_library is not None:
            self.writer.submit(self._job_library.close)
        self._job = None
        self._job_library = None
        self._before_run = {}
        done = len(self._finished_in_run)
        self.stage_label.setText(f"{word}: {done:,} image{'s' if done != 1 else ''}")
        self.progress_bar.hide()
        self.rate_label.setText(self.rate_label.text().split(" · ")[0])
        self._update_actions()
        self.run_finished.emit(cancelled)

    # == editing ================================================================================
    @Slot(object, str)
    def _on_caption_panel_caption_edited(self, path: Path, text: str) -> None:
        library = self.library
        item = self._item(path)
        if library is None or item is None:
            return
        status = item.status if item.status in ("queued", "generating") else "edited"
        self.model.update_item(path, caption=text, status=status, failure="", truncated=False)
        self.caption_panel.refresh(item)
        self._last_action = "edit"
        self._update_actions()
        self.writer.submit(partial(commit_edit, library, path, text), partial(self._on_edit_saved, path),
                           partial(self._on_write_failed, path))

    def _on_edit_saved(self, path: Path, record: Any) -> None:
        if path == self.caption_panel.path and not self.caption_panel.has_pending_edit:
            self.caption_panel.set_save_state("Saved")

    @Slot(str)
    def _on_caption_panel_review_changed(self, review: str) -> None:
        """Mark every selected image (the shown one when it is not selected) with `review`."""
        library, current = self.library, self.caption_panel.path
        if library is None or current is None:
            return
        paths = self.grid.selected_paths()
        if current not in paths:
            paths = [current]
        self._set_reviews(paths, review)
        self.writer.submit(partial(commit_review, library, paths, review), self._on_reviews_saved,
                           partial(self._on_write_failed, current))
        if len(paths) > 1:
            word = {"approved": "Approved", "flagged": "Flagged"}.get(review, "Cleared the mark of")
            self.statusBar().showMessage(f"{word} {len(paths):,} images", 3000)

    def _set_reviews(self, paths: list[Path], review: str) -> None:
        """Set many tiles' review mark with one dataChanged (like `_set_statuses`)."""
        rows = []
        for path in paths:
            row = self.model.row_of(path)
            if row is not None:
                self.model.item(row).review = review
                rows.append(row)
        if rows:
            self.model.dataChanged.emit(self.model.index(min(rows), 0), self.model.index(max(rows), 0),
                                        _REVIEW_ROLES)
        current = self.caption_panel.path
        item = self._item(current) if current is not None else None
        if item is not None:
            self.caption_panel.refresh(item)

    def _on_reviews_saved(self, errors: list[tuple[Path, str]]) -> None:
        for path, message in errors:
            self.log_panel.add(path, f"could not save the review mark: {message}")

    @Slot()
    def undo(self) -> None:
        """Undo: the last batch edit if that was the last thing done, else the current caption."""
        self._history_step(forward=False)

    @Slot()
    def redo(self) -> None:
        """Redo: the batch edit just undone, else the current caption's next version."""
        self._history_step(forward=True)

    def _history_step(self, forward: bool) -> None:
        library = self.library
        if library is None:
            return
        self.caption_panel.flush()
        batch = self.batches.redo_target() if forward else self.batches.undo_target()
        if self._last_action == "batch" and batch is not None:
            fn = redo_batch if forward else undo_batch
            self.writer.submit(partial(fn, library, batch), partial(self._on_batch_stepped, forward))
            return
        path = self.caption_panel.path
        if path is None or self.caption_panel.is_streaming:
            return
        self._last_action = "edit"
        self.writer.submit(partial(step_history, library, path, forward),
                           partial(self._on_history_stepped, path, forward),
                           partial(self._on_write_failed, path))

    def _on_history_stepped(self, path: Path, forward: bool, outcome: tuple[bool, Any]) -> None:
        moved, record = outcome
        if not moved:
            self.statusBar().showMessage("Nothing to redo" if forward else "Nothing to undo", 2500)
            return
        self._apply_record(path, record)
        if path == self.caption_panel.path:
            self.caption_panel.set_save_state("Saved")
        self._update_actions()

    def _on_batch_stepped(self, forward: bool, outcome: BatchOutcome) -> None:
        if forward:
            self.batches.mark_redone()
        else:
            self.batches.mark_undone()
        self._show_batch_outcome(outcome, "Redone" if forward else "Undone")

    def apply_batch(self, batch: BatchEdit) -> None:
        """Apply a batch edit (find/replace, prepend/append) in the background; one undo step."""
        library = self.library
        if library is None or not batch.changes:
            return
        self.caption_panel.flush()
        self.writer.submit(partial(apply_batch, library, batch), self._on_batch_applied)

    def _on_batch_applied(self, outcome: BatchOutcome) -> None:
        self.batches.push(outcome.batch)
        self._show_batch_outcome(outcome, "Done")

    def _show_batch_outcome(self, outcome: BatchOutcome, word: str) -> None:
        for path, record in outcome.records.items():
            self._apply_record(path, record)
        for path, message in outcome.errors:
            self.log_panel.add(path, message)
        self._last_action = "batch"
        skipped = f"; {len(outcome.skipped):,} changed since and left alone" if outcome.skipped else ""
        self.statusBar().showMessage(f"{word}: {outcome.batch.label}{skipped}. Ctrl+Z / Ctrl+Y to undo or redo.", 8000)
        self._update_actions()

    def _scope(self) -> Scope:
        return Scope(all_items=lambda: [(i.path, i.caption) for i in self.model.items()],
                     selected_items=self._selected_captions)

    def _selected_captions(self) -> list[tuple[Path, str]]:
        out = []
        for path in self.grid.selected_paths():
            item = self._item(path)
            if item is not None:
                out.append((path, item.caption))
        return out

    @Slot()
    def show_find_replace(self) -> FindReplaceDialog | None:
        """Open the find-and-replace dialog (non-modal)."""
        if self.library is None:
            return None
        self.caption_panel.flush()
        dialog = self._dialogs.get("find")
        if not isinstance(dialog, FindReplaceDialog):
            dialog = FindReplaceDialog(self._scope(), self)
            dialog.apply_requested.connect(self.apply_batch)
            self._dialogs["find"] = dialog
        dialog.selected_radio.setEnabled(bool(self.grid.selected_paths()))
        dialog.refresh()
        if dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
        dialog.show()
        dialog.find_edit.setFocus()
        return dialog

    @Slot()
    def show_affix(self) -> AffixDialog | None:
        """Open the prepend/append dialog for the selected captions."""
        self.caption_panel.flush()
        items = self._selected_captions()
        if not items:
            self.statusBar().showMessage("Select the images to change first (Ctrl+A selects all)", 5000)
            return None
        dialog = AffixDialog(items, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.apply_requested.connect(self.apply_batch)
        dialog.show()
        return dialog

    # == dialogs ================================================================================
    @Slot()
    def show_export(self) -> QWidget | None:
        """Open the export dialog for the open folder (and the selection)."""
        if self.library is None:
            return None
        try:
            from .export_dialog import ExportDialog
        except ImportError as exc:
            self.show_banner(f"Export is not available in this build ({exc}).", None)
            return None
        self.caption_panel.flush()
        self.writer.wait(5000)  # the export reads the store: let queued edits land first
        dialog = ExportDialog(self.library, self.grid.selected_paths(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialogs["export"] = dialog
        dialog.open()
        return dialog

    @Slot()
    def show_models(self, offline: bool = False) -> QWidget | None:
        """Open the model manager (`offline`: no network, downloads are refused up front)."""
        try:
            from .model_manager import ModelManagerDialog
        except ImportError as exc:
            self.show_banner(f"The model manager is not available in this build ({exc}).", None)
            return None
        dialog = self._dialogs.get("models")
        if dialog is None:
            current = self.settings_panel.settings().model if self._model_description else None
            dialog = ModelManagerDialog(self, current_model=current, offline=offline)
            dialog.model_chosen.connect(self._on_model_manager_model_chosen)
            dialog.unload_requested.connect(self._on_model_manager_unload_requested)
            self._dialogs["models"] = dialog
        dialog.open()
        return dialog

    @Slot(str)
    def _on_model_manager_model_chosen(self, model: str) -> None:
        self.settings_panel.set_model(model)
        self.hide_banner()
        if not self.running:
            self.service.load_model(model, self.settings_panel.settings().load_options())

    @Slot()
    def _on_model_manager_unload_requested(self) -> None:
        if self.running:
            self.statusBar().showMessage("Stop the run before unloading the model", 4000)
            return
        self.service.unload()

    @Slot(int)
    def _on_log_count_changed(self, count: int) -> None:
        self.log_dock.setWindowTitle(f"Problems ({count})" if count else "Problems")

    @Slot()
    def _update_memory(self) -> None:
        try:
            import torch

            from ..engine.memory import memory_summary

            on_gpu = " on cuda" in self._model_description
            info = memory_summary(None if on_gpu else torch.device("cpu"))
        except Exception:  # noqa: BLE001 - a readout must never disturb the app
            return
        parts = []
        if "ram_gb" in info:
            parts.append(f"RAM {info['ram_gb']:.1f} GB")
        if "gpu_total_gb" in info:
            parts.append(f"VRAM {info['gpu_reserved_gb']:.1f} / {info['gpu_total_gb']:.0f} GB")
        self.memory_label.setText("  ·  ".join(parts))

    # == closing ================================================================================
    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.overlay.isVisible():
            self.overlay.setGeometry(self.centralWidget().geometry())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop the run cleanly: finished captions and pending edits are saved, threads end."""
        if self._closed:
            event.accept()
            return
        self._closed = True
        self.caption_panel.flush()
        self.save_state()
        self._memory_timer.stop()
        for dialog in list(self._dialogs.values()):
            for name in ("shutdown", "wait"):
                if hasattr(dialog, name):
                    try:
                        getattr(dialog, name)()
                    except RuntimeError:  # already deleted
                        pass
                    break
        self.service.shutdown()
        # Results the worker sent before it stopped are still queued for the service: deliver
        # them now, so every finished caption is committed before the libraries close.
        QCoreApplication.sendPostedEvents(self.service, QEvent.Type.MetaCall)
        self.opener.wait()
        self.writer.wait()
        for library in {id(lib): lib for lib in (self.library, self._job_library) if lib is not None}.values():
            library.close()
        self.loader.shutdown()
        self.caption_panel.shutdown()
        event.accept()


def _fixed_label(width: int, align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> QLabel:
    label = QLabel()
    label.setFixedSize(width, label.fontMetrics().height() + 4)
    label.setAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    return label


def _eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"
