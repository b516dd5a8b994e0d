"""The main window's folders: opening (in the background), recent folders, window state, drag and drop."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import QByteArray, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from ..library import MEDIA_EXTENSIONS, Library
from .media_model import MediaItem
from .store_ops import freeze_heap, open_library
from .i18n import plural

MAX_RECENT = 10


class FolderControllerMixin:
    """MainWindow's folder opening, recent list, saved state and drops (a mixin of the QMainWindow)."""

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
            self.recent_menu.addAction(self.tr("No recent folders")).setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self.tr("Clear Recent Folders"), self._clear_recent)
        self.drop_hint.set_recent(folders)

    @Slot()
    def _clear_recent(self) -> None:
        self.qsettings.setValue("recent/folders", "[]")
        self._rebuild_recent_menu()

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder and open it."""
        start = self.last_folder() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open a folder of images and videos"), start)
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
            self.show_banner(self.tr("“%1” is not a folder (or no longer exists).").replace("%1", str(path)), None)
            return
        path = path.resolve()
        if self._runs:
            self.stop_all()  # the runs' library stays open until their jobs have ended
        self.caption_panel.flush()
        self._open_token += 1
        self._opening = path
        self._select_after_open = [Path(p) for p in select]
        self.loading_label.setText(self.tr("Opening %1…").replace("%1", path.name))
        self._show_page(1)
        self.stage_label.setText(self.tr("Scanning %1").replace("%1", str(path)))
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
        if old is not None and not self._uses_library(old):
            self.writer.submit(old.close)
        self.library = library
        self._opening = None
        self.batches.clear()
        self._last_action = "edit"
        self.model.set_items(items)
        freeze_heap()  # the folder's items live as long as it is open: keep GC passes short
        self._update_counts()
        self._show_page(2)
        self.setWindowTitle(f"{library.root.name} — Caption Studio")
        self.stage_label.setText(self.tr("Ready"))
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
        self.stage_label.setText(self.tr("Ready"))
        self.show_banner(self.tr("Could not open %1: %2").replace("%2", message).replace("%1", str(folder)), None)
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
                    plural(self.tr("Opened %1; the other %2 folder(s) are in File › Open Recent"), len(folders) - 1).replace(
                        "%2", str(len(folders) - 1)).replace("%1", folders[0].name), 8000)
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
