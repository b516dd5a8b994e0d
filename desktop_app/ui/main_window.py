"""The main window: grid, caption panel, live and settings panels, and the run they drive.

The window's concerns live in mixins, one module each: building the chrome
(`window_chrome`), folders and drops (`folder_controller`), the grid and its filters
(`grid_controller`), caption runs (`run_controller`) and editing (`edit_controller`). This
module ties them together and keeps the window-wide parts: state, actions, dialogs, closing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QWidget

from ..library import Library
from . import style
from .compare_controller import CompareControllerMixin
from .edit_controller import EditControllerMixin
from .editing import BatchHistory, SerialExecutor
from .folder_controller import FolderControllerMixin
from .grid_controller import GridControllerMixin
from .media_model import MediaFilterProxy, MediaListModel
from .run_controller import RunControllerMixin
from .tag_controller import TagController
from .thumbnails import ThumbnailLoader
from .window_chrome import WindowChromeMixin
from .worker import CaptionService

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)


class MainWindow(WindowChromeMixin, FolderControllerMixin, GridControllerMixin, RunControllerMixin,
                 EditControllerMixin, CompareControllerMixin, QMainWindow):
    """Caption Studio's window: open a folder, caption it, review and edit, export.

    Library reads and writes happen on background executors (one serial writer, so the
    order of commits is the order of events); the caption engine runs in the service's
    worker thread. The GUI thread only moves plain values around and paints.

    Signals:
        folder_opened(object): a folder finished opening (its Path).
        folder_open_failed(str): opening a folder failed; the message.
        run_started(int): a caption run was queued (its job id); others may be going.
        run_finished(bool): a run ended; whether it was cancelled (or failed).
        run_ended(int, bool): the same, with the run's job id.
    """

    folder_opened = Signal(object)
    folder_open_failed = Signal(str)
    run_started = Signal(int)
    run_finished = Signal(bool)
    run_ended = Signal(int, bool)

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
        self._init_runs()
        self._last_action = "edit"
        self._model_description = ""
        self._runner: tuple[str, str] = ("", "")  # the loaded model's runner and why (fallback)
        self._runner_warned = ""
        self._closed = False
        self._dialogs: dict[str, QWidget] = {}
        self.setWindowTitle("Caption Studio")
        self.setWindowIcon(style.app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self._build_actions()
        self._build_central()
        self._build_compare_actions()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self.tags = TagController(self)
        self._connect()
        self._restore_state()
        self._update_actions()

    def _connect(self) -> None:
        s = self.service
        s.stage_changed.connect(self._on_service_stage_changed)
        s.model_loaded.connect(self._on_service_model_loaded)
        s.runner_chosen.connect(self._on_service_runner_chosen)
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
        self.live_panel.stop_requested.connect(self.stop_run)
        self.log_panel.count_changed.connect(self._on_log_count_changed)
        self.model.modelReset.connect(self._counts_timer.start)
        self.model.dataChanged.connect(self._on_model_data_changed)

    @property
    def running(self) -> bool:
        """Whether a caption run is going or being prepared."""
        return bool(self._runs) or self._starting > 0

    def _update_actions(self) -> None:
        has_library = self.library is not None
        # A run while others go is queued as its own job: captioning is never greyed out.
        self.caption_all_action.setEnabled(has_library)
        self.caption_selected_action.setEnabled(has_library and bool(self.grid.selected_paths()))
        stoppable = any(not r.stopping for r in self._runs.values())
        self.stop_action.setEnabled(stoppable)
        self.stop_all_action.setEnabled(stoppable)
        self.export_action.setEnabled(has_library)
        self.find_action.setEnabled(has_library)
        self.affix_action.setEnabled(has_library)
        self._update_compare_actions()
        batch = self._last_action == "batch"
        self.undo_action.setText(self.tr("Undo Batch Edit") if batch and self.batches.undo_target() else self.tr("Undo"))
        self.redo_action.setText(self.tr("Redo Batch Edit") if batch and self.batches.redo_target() else self.tr("Redo"))

    def show_banner(self, text: str, action: str | None = "Models…") -> None:
        """Show a message above the grid (errors that need the user), with an optional button."""
        self.banner_label.setText(text)
        self.banner_button.setVisible(action is not None)
        if action:
            self.banner_button.setText(self.tr("Models…") if action == "Models…" else action)
        self.banner.show()

    @Slot()
    def hide_banner(self) -> None:
        """Hide the message above the grid."""
        self.banner.hide()

    def banner_text(self) -> str:
        """The banner's message ('' when hidden)."""
        return self.banner_label.text() if not self.banner.isHidden() else ""

    @Slot()
    def show_export(self) -> QWidget | None:
        """Open the export dialog for the open folder (and the selection)."""
        if self.library is None:
            return None
        try:
            from .export_dialog import ExportDialog
        except ImportError as exc:
            self.show_banner(self.tr("Export is not available in this build (%1).").replace("%1", str(exc)), None)
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
            self.show_banner(self.tr("The model manager is not available in this build (%1).").replace("%1", str(exc)), None)
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
            self.statusBar().showMessage(self.tr("Stop the run before unloading the model"), 4000)
            return
        self.service.unload()

    @Slot(int)
    def _on_log_count_changed(self, count: int) -> None:
        self.log_dock.setWindowTitle(self.tr("Problems (%1)").replace("%1", str(count)) if count else self.tr("Problems"))

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
            parts.append(self.tr("RAM %1 GB").replace("%1", f"{info['ram_gb']:.1f}"))
        if "gpu_total_gb" in info:
            parts.append(self.tr("VRAM %1 / %2 GB").replace("%1", f"{info['gpu_reserved_gb']:.1f}").replace("%2", f"{info['gpu_total_gb']:.0f}"))
        self.memory_label.setText("  ·  ".join(parts))

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
        libraries = (self.library, *(run.library for run in self._runs.values()))
        for library in {id(lib): lib for lib in libraries if lib is not None}.values():
            library.close()
        self.loader.shutdown()
        self.caption_panel.shutdown()
        event.accept()
