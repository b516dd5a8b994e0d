"""The model manager: known and cached Qwen3-VL checkpoints, downloads with progress, local folders."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView,
                               QLabel, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ..engine import hub
from ..engine.models import KNOWN_MODELS, ModelSpec

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # the worker reports download progress at most this often
COLUMNS = (QT_TRANSLATE_NOOP("ModelManagerDialog", "Model"), QT_TRANSLATE_NOOP("ModelManagerDialog", "Parameters"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "bf16 weights"), QT_TRANSLATE_NOOP("ModelManagerDialog", "Type"),
           QT_TRANSLATE_NOOP("ModelManagerDialog", "In cache"), QT_TRANSLATE_NOOP("ModelManagerDialog", "VRAM (rough)"))
SOURCE_ROLE = Qt.ItemDataRole.UserRole


def vram_estimate_gb(params_b: float) -> tuple[float, float]:
    """Rough GPU memory to run a model: (bf16, 4-bit), weights plus ~15 % and 1-1.5 GB of work space."""
    return params_b * 2.0 * 1.15 + 1.0, params_b * 0.55 + 1.5


def format_bytes(size: int) -> str:
    """1234567890 -> "1.23 GB" (decimal units, as the hub shows them)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} B"


class _DownloadSignals(QObject):
    """Signals of a download task; created in the GUI thread, emitted from the pool's thread."""

    progress = Signal(object, object, str)  # done bytes, total bytes, file (Python ints: > 2 GB)
    finished = Signal(str, str)  # repo id, snapshot folder
    failed = Signal(str, str)  # repo id, message
    cancelled = Signal(str)  # repo id


class _DownloadTask(QRunnable):
    """Runs `hub.download_model` on the dialog's pool, throttling its progress reports."""

    def __init__(self, repo_id: str, cancel: threading.Event, signals: _DownloadSignals) -> None:
        super().__init__()
        self.repo_id, self.cancel, self.signals = repo_id, cancel, signals
        self._last_emit, self._last_file = 0.0, ""

    def _on_progress(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if name != self._last_file or done >= total or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit, self._last_file = now, name
            self.signals.progress.emit(done, total, name)

    def run(self) -> None:
        try:
            path = hub.download_model(self.repo_id, self.cancel, self._on_progress)
        except hub.DownloadCancelled:
            self.signals.cancelled.emit(self.repo_id)
        except hub.DownloadError as exc:
            self.signals.failed.emit(self.repo_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            log.exception("download of %s failed", self.repo_id)
            self.signals.failed.emit(self.repo_id, QCoreApplication.translate("ModelManagerDialog", "Download of %1 failed: %2").replace(
                "%2", str(exc)).replace("%1", self.repo_id))
        else:
            self.signals.finished.emit(self.repo_id, str(path))


class ModelManagerDialog(QDialog):
    """Pick, download or unload a Qwen3-VL model, or point the app at a local checkpoint folder.

    Lists the known models and any other Qwen3-VL repo found in the Hugging Face cache, with
    what is cached. Downloads run on a private thread pool; Cancel sets the download's
    `threading.Event` directly. Closing the dialog cancels a running download (finished files
    stay in the cache and are not fetched again).

    Signals:
        model_chosen(str): "Use selected" was pressed; a repo id or a local folder path.
        unload_requested(): "Unload model" was pressed; the owner frees the model and then
            calls `set_current_model(None)`.
        model_downloaded(str): A download finished; the repo id.
    """

    model_chosen = Signal(str)
    unload_requested = Signal()
    model_downloaded = Signal(str)

    def __init__(self, parent: QWidget | None = None, current_model: str | None = None,
                 offline: bool = False) -> None:
        """Build the dialog and scan the cache.

        Args:
            parent: The owning window.
            current_model: The loaded model (repo id, short name or folder), if any.
            offline: No network: downloads are refused up front with a clear message.
        """
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models"))
        self.resize(860, 460)
        self._offline = offline
        self._current = current_model
        self._cached: dict[str, hub.CachedModel] = {}
        self._local: list[str] = []
        self._cancel: threading.Event | None = None
        self._downloading: str | None = None
        self._showing_offline_hint = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _DownloadSignals()
        self._signals.progress.connect(self._on_download_progress)
        self._signals.finished.connect(self._on_download_finished)
        self._signals.failed.connect(self._on_download_failed)
        self._signals.cancelled.connect(self._on_download_cancelled)
        self._build()
        self._remember_local_current()
        self.refresh()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(self._on_item_double_clicked)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_label = QLabel(self)
        self.progress_label.setWordWrap(True)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.download_button = QPushButton(self.tr("Download"), self)
        self.cancel_button = QPushButton(self.tr("Cancel download"), self)
        self.folder_button = QPushButton(self.tr("Choose local folder…"), self)
        self.unload_button = QPushButton(self.tr("Unload model"), self)
        self.use_button = QPushButton(self.tr("Use selected"), self)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.use_button.setDefault(True)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.folder_button.clicked.connect(self._on_folder_clicked)
        self.unload_button.clicked.connect(self._on_unload_clicked)
        self.use_button.clicked.connect(self._on_use_clicked)
        self.close_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.unload_button, self.use_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self._show_progress(False)

    # -- table ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-scan the Hugging Face cache and rebuild the table, keeping the selection."""
        selected = self.selected_source()
        self._cached = hub.cached_models()
        self.table.setRowCount(0)
        for spec in KNOWN_MODELS.values():
            self._add_row(spec.source, spec)
        known = {spec.source for spec in KNOWN_MODELS.values()}
        for repo_id in sorted(set(self._cached) - known):
            self._add_row(repo_id, None)
        for folder in self._local:
            self._add_row(folder, None, local=True)
        self._select(selected or self._current_source())
        self._update_buttons()
        if not self.status_label.text():
            self._set_status(self._idle_status())

    def _add_row(self, source: str, spec: ModelSpec | None, local: bool = False) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        cached = self._cached.get(source)
        name = spec.name if spec else (self.tr("Local: %1").replace("%1", Path(source).name) if local else source)
        if spec:
            bf16, q4 = vram_estimate_gb(spec.params_b)
            kind = (self.tr("Thinking") if spec.thinking else self.tr("Instruct")) + (" · MoE" if spec.moe else "")
            cells = [name, f"{spec.params_b:g} B", f"{spec.bf16_gb:.1f} GB", kind,
                     self._cache_text(cached), f"≈ {bf16:.0f} GB"]
            tips = {5: self.tr("bf16 ≈ %1 GB, 4-bit ≈ %2 GB, plus images and batch").replace("%1", f"{bf16:.0f}").replace("%2", f"{q4:.0f}")}
        else:
            kind = self.tr("Thinking") if "thinking" in source.lower() else self.tr("Instruct")
            cells = [name, "?", "?", kind, self.tr("local folder") if local else self._cache_text(cached), "?"]
            tips = {0: source}
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(tips.get(column, source if column == 0 else ""))
            if column == 0:
                item.setData(SOURCE_ROLE, source)
            if self._is_current(source):
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, column, item)
        if self._is_current(source):
            self.table.item(row, 0).setText(self.tr("%1  (loaded)").replace("%1", name))

    @staticmethod
    def _cache_text(cached: hub.CachedModel | None) -> str:
        if cached is None:
            return QCoreApplication.translate("ModelManagerDialog", "no")
        size = format_bytes(cached.size_bytes)
        return (QCoreApplication.translate("ModelManagerDialog", "yes, %1") if cached.complete
                else QCoreApplication.translate("ModelManagerDialog", "partial, %1")).replace("%1", size)

    def _is_current(self, source: str) -> bool:
        return bool(self._current) and self._current_source() == source

    def _current_source(self) -> str | None:
        """The table source of the current model (a short name maps to its repo id)."""
        if not self._current:
            return None
        path = Path(self._current).expanduser()
        if path.is_dir():
            return str(path.resolve())
        key = self._current.lower().removeprefix("qwen/")
        for spec in KNOWN_MODELS.values():
            if spec.name.lower() == key:
                return spec.source
        return self._current

    def _select(self, source: str | None) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(SOURCE_ROLE) == source:
                self.table.selectRow(row)
                return

    def select_model(self, source: str) -> None:
        """Select the row of a repo id or local folder (no signal is emitted)."""
        self._select(source)

    def selected_source(self) -> str | None:
        """The repo id or folder of the selected row, or None."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), 0).data(SOURCE_ROLE) if rows else None

    def _is_usable(self, source: str) -> bool:
        """Whether the model can load now: local, complete in the cache, or online."""
        cached = self._cached.get(source)
        return source in self._local or (cached is not None and cached.complete) or not self._offline

    # -- state ------------------------------------------------------------------------------
    @property
    def downloading(self) -> bool:
        """Whether a download is running."""
        return self._downloading is not None

    @Slot(object)
    def set_current_model(self, model: str | None) -> None:
        """Tell the dialog which model is loaded (None after an unload)."""
        self._current = model
        self._remember_local_current()
        self.refresh()

    def _remember_local_current(self) -> None:
        source = self._current_source()
        if source and Path(source).is_dir() and source not in self._local:
            self._local.append(source)

    def _update_buttons(self) -> None:
        source = self.selected_source()
        is_repo = source is not None and source not in self._local
        cached = self._cached.get(source) if source else None
        busy = self.downloading
        self.download_button.setEnabled(
            is_repo and not busy and not self._offline and not (cached and cached.complete))
        self.cancel_button.setEnabled(busy and self._cancel is not None and not self._cancel.is_set())
        self.folder_button.setEnabled(not busy)
        self.use_button.setEnabled(source is not None and not busy and self._is_usable(source))
        self.unload_button.setEnabled(bool(self._current))
        if busy or source is None:
            return
        if not self._is_usable(source):
            self._set_status(self._offline_message(source), error=True)
            self._showing_offline_hint = True
        elif self._showing_offline_hint:
            self._set_status(self._idle_status())  # the hint was about another row

    def _idle_status(self) -> str:
        complete = sorted(r for r, c in self._cached.items() if c.complete)
        if self._offline and not complete:
            return self.tr("No network: no Qwen3-VL model is in the Hugging Face cache "
                           "(%1). Choose a local checkpoint folder, or download "
                           "a model on a connected machine.").replace("%1", str(hub.default_cache_dir()))
        cache = self.tr("%1 ready in the cache").replace("%1", str(len(complete))) if complete else self.tr("none in the cache yet")
        prefix = self.tr("Offline: downloads are off. ") if self._offline else ""
        return prefix + self.tr("Qwen3-VL models: %1 (%2).").replace("%2", str(hub.default_cache_dir())).replace("%1", cache)

    @staticmethod
    def _offline_message(source: str) -> str:
        return QCoreApplication.translate("ModelManagerDialog", "No network: %1 is not in the cache and cannot be downloaded "
                                          "now; %2.").replace("%2", hub.OFFLINE_HINT).replace("%1", source.split('/')[-1])

    def _set_status(self, text: str, error: bool = False) -> None:
        self._showing_offline_hint = False
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #b00020;" if error else "")

    def _show_progress(self, visible: bool) -> None:
        self.progress_bar.setVisible(visible)
        self.progress_label.setVisible(visible)

    # -- actions ----------------------------------------------------------------------------
    @Slot()
    def _on_use_clicked(self) -> None:
        source = self.selected_source()
        if source is None or not self.use_button.isEnabled():
            return
        self._set_status(self.tr("Chosen: %1").replace("%1", source))
        self.model_chosen.emit(source)

    @Slot(QTableWidgetItem)
    def _on_item_double_clicked(self, item: QTableWidgetItem) -> None:
        self.table.selectRow(item.row())
        self._on_use_clicked()

    @Slot()
    def _on_unload_clicked(self) -> None:
        self._set_status(self.tr("Unloading the model…"))
        self.unload_requested.emit()

    @Slot()
    def _on_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a Qwen3-VL checkpoint folder"))
        if folder:
            self.add_local_folder(folder)

    def add_local_folder(self, folder: str) -> bool:
        """Validate a checkpoint folder; add and select it, or say what is wrong.

        Returns:
            Whether the folder holds config.json and safetensors weights.
        """
        problem = hub.check_local_checkpoint(folder)
        if problem:
            self._set_status(self.tr("Not a usable checkpoint: %1").replace("%1", str(problem)), error=True)
            return False
        path = str(Path(folder).resolve())
        if path not in self._local:
            self._local.append(path)
        self.refresh()
        self._select(path)
        self._set_status(self.tr("Local checkpoint %1 is ready: press Use selected.").replace("%1", Path(path).name))
        return True

    @Slot()
    def _on_download_clicked(self) -> None:
        source = self.selected_source()
        if source is None or self.downloading or source in self._local:
            return
        if self._offline:
            self._set_status(self._offline_message(source), error=True)
            return
        self._cancel = threading.Event()
        self._downloading = source
        self.progress_bar.setValue(0)
        self.progress_label.setText(self.tr("Downloading %1: listing files…").replace("%1", source))
        self._show_progress(True)
        self._set_status(self.tr("Cancel stops within a chunk; files already finished stay in the cache."))
        self._update_buttons()
        self._pool.start(_DownloadTask(source, self._cancel, self._signals))

    @Slot()
    def cancel_download(self) -> None:
        """Stop the running download between chunks (the GUI does not wait for it)."""
        if self._cancel is not None and self.downloading:
            self._cancel.set()
            self._set_status(self.tr("Cancelling the download…"))
            self._update_buttons()

    @Slot(object, object, str)
    def _on_download_progress(self, done: int, total: int, name: str) -> None:
        if not self.downloading:
            return
        self.progress_bar.setValue(int(1000 * done / total) if total else 0)
        self.progress_label.setText(
            self.tr("Downloading %1: %2 of %3 — %4").replace("%4", name).replace("%3", format_bytes(total)).replace(
                "%2", format_bytes(done)).replace("%1", str(self._downloading)))

    def _end_download(self, status: str, error: bool = False) -> None:
        self._downloading, self._cancel = None, None
        self._show_progress(False)
        self._set_status(status, error)
        self.refresh()

    @Slot(str, str)
    def _on_download_finished(self, repo_id: str, snapshot: str) -> None:
        self._end_download(self.tr("Downloaded %1 to %2.").replace("%2", snapshot).replace("%1", repo_id))
        self.model_downloaded.emit(repo_id)

    @Slot(str, str)
    def _on_download_failed(self, repo_id: str, message: str) -> None:
        self._end_download(message, error=True)

    @Slot(str)
    def _on_download_cancelled(self, repo_id: str) -> None:
        self._end_download(self.tr("Download of %1 cancelled; the files it finished stay in the "
                                   "cache and are not fetched again.").replace("%1", repo_id))

    # -- lifetime ---------------------------------------------------------------------------
    def done(self, result: int) -> None:
        """Close the dialog; a running download is cancelled."""
        self.cancel_download()
        super().done(result)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel a running download and wait for its thread (on application exit).

        Returns:
            Whether the download thread ended within `timeout_ms`.
        """
        self.cancel_download()
        return self._pool.waitForDone(timeout_ms)
