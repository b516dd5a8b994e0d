"""Building the main window's chrome: actions, central area, banner, docks, menus, toolbar, status bar."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSizePolicy, QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from . import style
from .caption_panel import CaptionPanel
from .grid import ThumbnailGrid
from .live_panel import LivePanel, LogPanel
from .settings_panel import SettingsPanel
from .widgets import DropHint, DropOverlay, ProgressLine, _fixed_label

MEMORY_INTERVAL_MS = 3000
#: Streamed text reaches the grid's tiles this often (the live panel and editor get every
#: 40 ms flush; a tile shows two lines, and repainting it less leaves the GIL to the worker).
GRID_LIVE_MS = 160


class WindowChromeMixin:
    """MainWindow's widget construction (a mixin: it builds onto the QMainWindow it is part of)."""

    def _action(self, text: str, slot: Any, shortcuts: Iterable[Any] = (), icon: str | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(style.icon(icon))
        keys = [QKeySequence(k) for k in shortcuts]
        if keys:
            action.setShortcuts(keys)
        action.setToolTip(self.tr("%1 (%2)").replace("%2", keys[0].toString(QKeySequence.SequenceFormat.NativeText)).replace("%1", tip or text)
                          if keys else tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(self.tr("Open Folder…"), self.choose_folder,
                                        [QKeySequence.StandardKey.Open], "folder")
        self.caption_all_action = self._action(self.tr("Caption All"), self.caption_all,
                                               ["Ctrl+Shift+Return", "Ctrl+Shift+Enter"], "sparkles",
                                               self.tr("Caption every file the run policy allows"))
        self.caption_selected_action = self._action(self.tr("Caption Selected"), self.caption_selected,
                                                    ["Ctrl+Return", "Ctrl+Enter"], "selection",
                                                    self.tr("Caption the selected files"))
        self.stop_action = self._action(self.tr("Stop"), self.stop, [], "stop",
                                        self.tr("Stop the newest run; finished captions are kept, other runs go on (Esc)"))
        self.stop_all_action = self._action(self.tr("Stop All Runs"), self.stop_all, [], None,
                                            self.tr("Stop every caption run; finished captions are kept"))
        # Esc stops a run, else takes the keyboard back to the grid: always enabled.
        self.escape_action = self._action(self.tr("Stop or Back to Grid"), self.stop, ["Esc"])
        self.export_action = self._action(self.tr("Export…"), self.show_export, ["Ctrl+E"], "export",
                                          self.tr("Export captions to files"))
        self.models_action = self._action(self.tr("Models"), self.show_models, ["Ctrl+M"], "cube",
                                          self.tr("Choose, download or unload a model"))
        self.undo_action = self._action(self.tr("Undo"), self.undo, [QKeySequence.StandardKey.Undo], "undo")
        self.redo_action = self._action(self.tr("Redo"), self.redo, ["Ctrl+Y", "Ctrl+Shift+Z"], "redo")
        self.find_action = self._action(self.tr("Find and Replace…"), self.show_find_replace, ["Ctrl+H"], "replace")
        self.affix_action = self._action(self.tr("Add Text to Selected…"), self.show_affix, ["Ctrl+Shift+A"],
                                         "text-plus", self.tr("Prepend or append text to the selected captions"))
        self.filter_action = self._action(self.tr("Filter"), self.focus_filter, [QKeySequence.StandardKey.Find], "search")
        self.edit_caption_action = self._action(self.tr("Edit Caption"), self.focus_editor, ["F2"])
        self.previous_action = self._action(self.tr("Previous File"), partial(self.move_current, -1), ["Alt+Up"])
        self.next_action = self._action(self.tr("Next File"), partial(self.move_current, 1), ["Alt+Down"])
        self.quit_action = self._action(self.tr("Quit"), self.close, [QKeySequence.StandardKey.Quit])
        self.zoom_in_action = self._action(self.tr("Larger Tiles"), partial(self.zoom, 1.15), [QKeySequence.StandardKey.ZoomIn])
        self.zoom_out_action = self._action(self.tr("Smaller Tiles"), partial(self.zoom, 1 / 1.15),
                                            [QKeySequence.StandardKey.ZoomOut])

    def _build_central(self) -> None:
        self.grid = ThumbnailGrid(self)
        self.grid.setModel(self.proxy)
        self.drop_hint = DropHint(self)
        self.loading_label = QLabel(self.tr("Opening…"))
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

    def _build_banner(self) -> QFrame:
        banner = QFrame()
        banner.setObjectName("banner")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_button = QPushButton(self.tr("Models…"))
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
        self.settings_panel = SettingsPanel(self.qsettings, self, data_dir=self.data_dir)
        # wider where a language's labels need it (the panel never scrolls sideways)
        self.settings_panel.setMinimumWidth(max(316, self.settings_panel.widget().minimumSizeHint().width() + 12))
        self.settings_dock = self._dock(self.tr("Settings"), "settingsDock", self.settings_panel,
                                        Qt.DockWidgetArea.LeftDockWidgetArea)
        self.live_panel = LivePanel(self.loader.pixmap, self)
        self.live_panel.setMinimumHeight(150)
        self.live_dock = self._dock(self.tr("Live captions"), "liveDock", self.live_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.log_panel = LogPanel(self)
        self.log_dock = self._dock(self.tr("Problems"), "logDock", self.log_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.live_dock, self.log_dock)
        self.live_dock.raise_()
        self.resizeDocks([self.settings_dock], [320], Qt.Orientation.Horizontal)
        self.resizeDocks([self.live_dock], [272], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu(self.tr("Open &Recent"))
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = bar.addMenu(self.tr("&Edit"))
        for action in (self.undo_action, self.redo_action, None, self.edit_caption_action,
                       self.find_action, self.affix_action, None, self.filter_action,
                       self.previous_action, self.next_action):
            edit.addSeparator() if action is None else edit.addAction(action)
        run = bar.addMenu(self.tr("&Caption"))
        for action in (self.caption_all_action, self.caption_selected_action, self.stop_action,
                       self.stop_all_action, None,
                       self.compare_action, self.comparisons_action, None, self.models_action):
            run.addSeparator() if action is None else run.addAction(action)
        view = bar.addMenu(self.tr("&View"))
        for dock in (self.settings_dock, self.live_dock, self.log_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.zoom_in_action)
        view.addAction(self.zoom_out_action)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar(self.tr("Main"))
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
        self.stage_label = QLabel(self.tr("Ready"))
        self.progress_bar = ProgressLine()
        self.progress_bar.hide()
        # Fixed sizes: a label whose text changes several times a second must not re-lay the
        # whole window out each time (Qt stops size-hint propagation at fixed-size widgets).
        self.progress_label = _fixed_label(100)
        self.rate_label = _fixed_label(190)
        self.counts_label = _fixed_label(190, Qt.AlignmentFlag.AlignRight)
        self.memory_label = _fixed_label(160, Qt.AlignmentFlag.AlignRight)
        self.model_label = _fixed_label(210, Qt.AlignmentFlag.AlignRight)  # name · device · runner
        self.model_label.setText(self.tr("No model loaded"))
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
