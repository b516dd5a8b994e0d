"""The export dialog: captions of a library to sidecars or tables, written off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QRadioButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from ..library import Library, Status
from ..library.exporters import TABLE_NAMES, ExportOptions, ExportResult, export
from ..library.sidecars import normalize_sidecar_ext

log = logging.getLogger(__name__)

# (format, label, one-line explanation)
FORMAT_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("txt", QT_TRANSLATE_NOOP("ExportDialog", "Text sidecars"), QT_TRANSLATE_NOOP("ExportDialog", "One caption file beside each file (photo.jpg → photo.txt), as "
     "kohya, OneTrainer and taggui read them.")),
    ("jsonl", "JSON Lines", QT_TRANSLATE_NOOP("ExportDialog", "One captions.jsonl, a JSON object per line: path, caption, "
     "variants, status, model, prompt, seed.")),
    ("json", "JSON", QT_TRANSLATE_NOOP("ExportDialog", "One captions.json holding a list of the same objects as JSON Lines.")),
    ("csv", "CSV", QT_TRANSLATE_NOOP("ExportDialog", "One captions.csv for spreadsheets: a row per file, variants JSON-encoded "
     "in one column.")),
    ("hf", "Hugging Face metadata.jsonl", QT_TRANSLATE_NOOP("ExportDialog", "metadata.jsonl with file_name and text, for "
     "datasets' imagefolder; it belongs at the folder root (images only).")),
    ("xmp", QT_TRANSLATE_NOOP("ExportDialog", "XMP sidecars"), QT_TRANSLATE_NOOP("ExportDialog", "photo.jpg.xmp with the caption as dc:description, for Lightroom, "
     "digiKam, darktable; other fields of an existing file are kept.")),
    ("comparisons", QT_TRANSLATE_NOOP("ExportDialog", "Comparisons (JSON)"), QT_TRANSLATE_NOOP("ExportDialog", "One comparisons.json with every multi-image "
     "comparison: question, images (in order), answer, model, time.")),
)
VARIANT_CHOICES = (("first", QT_TRANSLATE_NOOP("ExportDialog", "First variant only")),
                   ("joined", QT_TRANSLATE_NOOP("ExportDialog", "All variants, a blank line between them")),
                   ("separate", QT_TRANSLATE_NOOP("ExportDialog", "One file per variant (photo.1.txt, photo.2.txt, …)")))


class _SelectionView:
    """A library seen through a selection: `items()` keeps only the selected files.

    The exporters take a whole library; everything but `items()` is the library's own.
    """

    def __init__(self, library: Library, rel_paths: Iterable[str]) -> None:
        self._library = library
        self._rels = frozenset(rel_paths)

    def items(self, present_only: bool = True) -> list[Any]:
        return [r for r in self._library.items(present_only) if r.rel_path in self._rels]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._library, name)


class _ExportSignals(QObject):
    """Signals of an export task; created in the GUI thread, emitted from the pool's thread."""

    finished = Signal(object)  # ExportResult
    failed = Signal(str)


class _ExportTask(QRunnable):
    """Runs one `export()` call on the dialog's pool."""

    def __init__(self, library: Any, options: ExportOptions, signals: _ExportSignals) -> None:
        super().__init__()
        self.library, self.options, self.signals = library, options, signals

    def run(self) -> None:
        try:
            result = export(self.library, self.options)
        except Exception as exc:  # noqa: BLE001 - a worker must report, never die silently
            log.exception("export failed")
            self.signals.failed.emit(QCoreApplication.translate("ExportDialog", "Export failed: %1").replace("%1", str(exc)))
        else:
            self.signals.finished.emit(result)


class ExportDialog(QDialog):
    """Export the captions of an open library to txt/XMP sidecars or a JSONL/JSON/CSV/HF table.

    The export runs on a private thread pool; the dialog cannot be closed until it ends
    (exports have no cancel point), then shows what was written, skipped and failed.

    Signals:
        exported(object): An export ended; its `ExportResult`.
    """

    exported = Signal(object)

    def __init__(self, library: Library, selected: Iterable[str | Path] | None = None,
                 parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            library: An open, synced library (used from the export thread too; its database
                is guarded by a lock).
            selected: The user's selected files (absolute or relative); offers exporting
                only those.
            parent: The owning window.
        """
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export captions"))
        self.resize(640, 500)
        self.library = library
        self._selected = sorted({library.rel(p) for p in selected or ()})
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _ExportSignals()
        self._signals.finished.connect(self._on_export_finished)
        self._signals.failed.connect(self._on_export_failed)
        self._running = False
        self._last_out: Path | None = None
        self.last_result: ExportResult | None = None
        self._build()
        self._on_format_changed()
        self._on_target_changed()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        options_box = QGroupBox(self.tr("What and where"), self)
        options_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        form = QFormLayout(options_box)
        form.addRow(self.tr("Files:"), self._build_scope())

        self.format_combo = QComboBox(self)
        for fmt, label, _ in FORMAT_CHOICES:
            self.format_combo.addItem(self.tr(label), fmt)
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.format_help = QLabel(self)
        self.format_help.setWordWrap(True)
        self.format_help.setStyleSheet("color: #555;")
        form.addRow(self.tr("Format:"), self.format_combo)
        form.addRow("", self.format_help)
        form.addRow(self.tr("Write to:"), self._build_target())

        self.variants_combo = QComboBox(self)
        for mode, label in VARIANT_CHOICES:
            self.variants_combo.addItem(self.tr(label), mode)
        self.ext_edit = QLineEdit(self.library.sidecar_ext, self)
        self.ext_edit.setMaximumWidth(120)
        self.only_missing_check = QCheckBox(self.tr("Skip files that already exist"), self)
        form.addRow(self.tr("Variants:"), self.variants_combo)
        form.addRow(self.tr("Sidecar extension:"), self.ext_edit)
        form.addRow(self.tr("Only missing:"), self.only_missing_check)

        self.result_box = QGroupBox(self.tr("Result"), self)
        self.busy_bar = QProgressBar(self.result_box)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setVisible(False)
        self.summary_label = QLabel(self.result_box)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failures_view = QPlainTextEdit(self.result_box)
        self.failures_view.setReadOnly(True)
        # Takes the room left (the dialog never grows for it); the user can enlarge the dialog.
        self.failures_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.failures_view.setMinimumHeight(60)
        self.failures_view.setVisible(False)
        result_layout = QVBoxLayout(self.result_box)
        result_layout.addWidget(self.busy_bar)
        result_layout.addWidget(self.summary_label)
        result_layout.addWidget(self.failures_view, 1)
        result_layout.addStretch(0)
        self.summary_label.setText(self.tr("Nothing exported yet."))

        self.export_button = QPushButton(self.tr("Export"), self)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(options_box)
        layout.addWidget(self.result_box, 1)
        layout.addLayout(buttons)

    def _build_scope(self) -> QWidget:
        statuses = self.library.store.statuses(present_only=True)
        captioned = sum(1 for s in statuses.values() if s in (Status.DONE, Status.EDITED))
        picked = sum(1 for r in self._selected if statuses.get(r) in (Status.DONE, Status.EDITED))
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.all_radio = QRadioButton(self.tr("All %1 captioned files").replace("%1", str(captioned)), box)
        self.selected_radio = QRadioButton(self.tr("The %1 captioned of %2 selected").replace("%1", str(picked)).replace(
            "%2", str(len(self._selected))), box)
        self.all_radio.setChecked(True)
        self.selected_radio.setVisible(bool(self._selected))
        group = QButtonGroup(box)
        group.addButton(self.all_radio)
        group.addButton(self.selected_radio)
        row.addWidget(self.all_radio)
        row.addWidget(self.selected_radio)
        row.addStretch(1)
        return box

    def _build_target(self) -> QWidget:
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.beside_radio = QRadioButton(box)
        self.folder_radio = QRadioButton(self.tr("This folder:"), box)
        self.beside_radio.setChecked(True)
        group = QButtonGroup(box)
        group.addButton(self.beside_radio)
        group.addButton(self.folder_radio)
        self.beside_radio.toggled.connect(self._on_target_changed)
        self.folder_edit = QLineEdit(box)
        self.folder_edit.setPlaceholderText(self.tr("Choose a folder…"))
        self.browse_button = QPushButton(self.tr("Browse…"), box)
        self.browse_button.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.folder_radio)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        column.addWidget(self.beside_radio)
        column.addLayout(row)
        return box

    # -- options ----------------------------------------------------------------------------
    @property
    def fmt(self) -> str:
        """The chosen format key ("txt", "jsonl", ...)."""
        return self.format_combo.currentData()

    def set_format(self, fmt: str) -> None:
        """Choose a format by its key."""
        self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))

    def set_target_folder(self, folder: str | Path | None) -> None:
        """Write into `folder`, or beside the images when None."""
        if folder is None:
            self.beside_radio.setChecked(True)
        else:
            self.folder_radio.setChecked(True)
            self.folder_edit.setText(str(folder))

    @Slot()
    def _on_format_changed(self) -> None:
        fmt = self.fmt
        self.format_help.setText(self.tr(next(help_ for key, _, help_ in FORMAT_CHOICES if key == fmt)))
        sidecars = fmt in ("txt", "xmp")
        self.beside_radio.setText(self.tr("Beside the files") if sidecars
                                  else self.tr("The media folder (%1 at its root)").replace("%1", TABLE_NAMES[fmt]))
        self.variants_combo.setEnabled(fmt == "txt")
        self.ext_edit.setEnabled(fmt == "txt")

    @Slot()
    def _on_target_changed(self) -> None:
        in_folder = self.folder_radio.isChecked()
        self.folder_edit.setEnabled(in_folder)
        self.browse_button.setEnabled(in_folder)

    @Slot()
    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export into folder"), self.folder_edit.text()
                                                  or str(self.library.root))
        if folder:
            self.set_target_folder(folder)

    def options(self) -> ExportOptions:
        """The options the controls describe.

        Raises:
            ValueError: With a message for a person when an option is unusable.
        """
        out = None
        if self.folder_radio.isChecked():
            text = self.folder_edit.text().strip()
            if not text:
                raise ValueError("Choose the folder to export into.")
            out = Path(text).expanduser().resolve()
            if out.exists() and not out.is_dir():
                raise ValueError(f"{out} is a file, not a folder.")
        try:
            ext = normalize_sidecar_ext(self.ext_edit.text().strip()) if self.fmt == "txt" else ".txt"
        except ValueError as exc:
            raise ValueError(f"Sidecar extension: {exc}") from exc
        return ExportOptions(fmt=self.fmt, out=out, only_missing=self.only_missing_check.isChecked(),
                             variants=self.variants_combo.currentData(), ext=ext)

    # -- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether an export is in progress."""
        return self._running

    @Slot()
    def start_export(self) -> None:
        """Validate the options and start the export off the GUI thread."""
        if self._running:
            return
        try:
            options = self.options()
        except ValueError as exc:
            self._show_summary(str(exc), error=True)
            return
        source: Any = self.library
        if self.selected_radio.isChecked() and self._selected:
            source = _SelectionView(self.library, self._selected)
        self._last_out = options.out
        self._set_running(True)
        self._show_summary(self.tr("Exporting…"))
        self.failures_view.setVisible(False)
        self._pool.start(_ExportTask(source, options, self._signals))

    def _set_running(self, running: bool) -> None:
        self._running = running
        self.busy_bar.setVisible(running)
        for widget in (self.export_button, self.close_button, self.format_combo, self.variants_combo,
                       self.ext_edit, self.only_missing_check, self.beside_radio, self.folder_radio):
            widget.setEnabled(not running)
        if not running:
            self._on_format_changed()
            self._on_target_changed()

    def _show_summary(self, text: str, error: bool = False) -> None:
        self.summary_label.setText(text)
        self.summary_label.setStyleSheet("color: #b00020;" if error else "")

    @Slot(object)
    def _on_export_finished(self, result: ExportResult) -> None:
        self._set_running(False)
        self.last_result = result
        summary = self.tr("%1 written, %2 skipped, %3 failed.").replace("%1", str(len(result.written))).replace(
            "%2", str(len(result.skipped))).replace("%3", str(len(result.failed)))
        if len(result.written) == 1:
            summary += "\n" + self.tr("Wrote %1").replace("%1", str(result.written[0]))
        elif result.written:
            out = self._last_out
            summary += "\n" + (self.tr("Into %1").replace("%1", str(out)) if out
                                else self.tr("Beside the files in %1").replace("%1", str(self.library.root)))
        self._show_summary(summary, error=bool(result.failed))
        if result.failed:
            lines = [f"{path}: {reason}" for path, reason in result.failed]
            self.failures_view.setPlainText("\n".join(lines))
        self.failures_view.setVisible(bool(result.failed))
        self.exported.emit(result)

    @Slot(str)
    def _on_export_failed(self, message: str) -> None:
        self._set_running(False)
        self._show_summary(message, error=True)

    def done(self, result: int) -> None:
        """Close the dialog, unless an export is running (it has no cancel point)."""
        if self._running:
            self._show_summary(self.tr("Exporting… the dialog closes once the export has ended."))
            return
        super().done(result)

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait for a running export to end (on application exit)."""
        return self._pool.waitForDone(timeout_ms)
