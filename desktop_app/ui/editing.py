"""Caption editing across many files: find/replace, prepend/append, batch undo, and background writes."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QRadioButton,
                               QVBoxLayout, QWidget)

from .i18n import plural

log = logging.getLogger(__name__)

PREVIEW_SAMPLES = 3


# -- plans (plain Python) -------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One caption changed by a batch operation."""

    path: Path
    old: str
    new: str


@dataclass
class BatchEdit:
    """A batch operation as one undo step: every (path, old caption, new caption)."""

    label: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class BatchOutcome:
    """What applying (or undoing) a batch did: the records now current, and what failed."""

    batch: BatchEdit
    records: dict[Path, Any] = field(default_factory=dict)  # path -> ItemRecord
    skipped: list[Path] = field(default_factory=list)  # changed since: left alone
    errors: list[tuple[Path, str]] = field(default_factory=list)


def compile_find(text: str, regex: bool = False, case_sensitive: bool = False,
                 whole_word: bool = False) -> re.Pattern[str]:
    """The pattern of a find field.

    Raises:
        ValueError: For an empty search or an invalid regular expression (message says why).
    """
    if not text:
        raise ValueError("Type something to find")
    source = text if regex else re.escape(text)
    if whole_word:
        source = rf"\b(?:{source})\b"
    try:
        return re.compile(source, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"Invalid regular expression: {exc}") from None


def count_matches(captions: Iterable[str], pattern: re.Pattern[str]) -> tuple[int, int]:
    """(matches, captions with a match) of `pattern` over `captions`."""
    total = hit = 0
    for caption in captions:
        if caption:
            n = sum(1 for _ in pattern.finditer(caption))
            total += n
            hit += n > 0
    return total, hit


def replace_plan(items: Iterable[tuple[Path, str]], pattern: re.Pattern[str], replacement: str,
                 regex: bool = False) -> list[Change]:
    """The changes replacing every match; `replacement` may use \\1 groups in regex mode.

    Raises:
        ValueError: For a replacement naming a group the pattern lacks.
    """
    repl: str | Callable[[re.Match[str]], str] = replacement if regex else (lambda _m: replacement)
    changes = []
    try:
        for path, caption in items:
            if caption:
                new = pattern.sub(repl, caption)
                if new != caption:
                    changes.append(Change(path, caption, new))
    except (re.error, IndexError) as exc:
        raise ValueError(f"Invalid replacement: {exc}") from None
    return changes


def affix_plan(items: Iterable[tuple[Path, str]], prefix: str, suffix: str,
               separator: str = " ") -> list[Change]:
    """The changes adding `prefix`/`suffix` to captions (empty captions and repeats skipped).

    A caption that already starts with the prefix (ends with the suffix) keeps it once, so
    adding a trigger word twice is harmless.
    """
    changes = []
    for path, caption in items:
        if not caption:
            continue
        new = caption
        if prefix and not new.startswith(prefix):
            new = prefix + separator + new.lstrip()
        if suffix and not new.endswith(suffix):
            new = new.rstrip() + separator + suffix
        if new != caption:
            changes.append(Change(path, caption, new))
    return changes


def apply_batch(library: Any, batch: BatchEdit) -> BatchOutcome:
    """Record every change as an edit and write its sidecar (worker thread)."""
    out = BatchOutcome(batch)
    for change in batch.changes:
        _step(library, change.path, out, lambda: library.record_edit(change.path, change.new))
    return out


def undo_batch(library: Any, batch: BatchEdit) -> BatchOutcome:
    """Take back a batch: each caption still as the batch left it goes one step back."""
    return _replay(library, batch, backwards=True)


def redo_batch(library: Any, batch: BatchEdit) -> BatchOutcome:
    """Apply an undone batch again: each caption still as the undo left it steps forward."""
    return _replay(library, batch, backwards=False)


def _replay(library: Any, batch: BatchEdit, backwards: bool) -> BatchOutcome:
    """Step every change of `batch` back or forward; captions changed since are skipped."""
    out = BatchOutcome(batch)
    for change in batch.changes:
        expected, target = (change.new, change.old) if backwards else (change.old, change.new)
        move = _restore if backwards else _forward
        record = library.item(change.path)
        if record is None or record.caption != expected:
            out.skipped.append(change.path)
            continue
        _step(library, change.path, out, lambda: move(library, change.path, target))
    return out


def _restore(library: Any, path: Path, old: str) -> None:
    """Undo in the store (status comes back too); a store without that step gets the text."""
    if library.undo(path) != old:
        library.record_edit(path, old)


def _forward(library: Any, path: Path, new: str) -> None:
    if library.redo(path) != new:
        library.record_edit(path, new)


def _step(library: Any, path: Path, out: BatchOutcome, action: Callable[[], Any]) -> None:
    try:
        action()
        library.write_sidecar(path)
    except Exception as exc:  # noqa: BLE001 - one file's problem must not stop the batch
        out.errors.append((path, f"{type(exc).__name__}: {exc}"))
    record = library.item(path)
    if record is not None:
        out.records[path] = record


class BatchHistory:
    """The session's batch operations as undo/redo steps (the store keeps per-file history)."""

    def __init__(self) -> None:
        self._done: list[BatchEdit] = []
        self._undone: list[BatchEdit] = []

    def push(self, batch: BatchEdit) -> None:
        """A batch was applied."""
        self._done.append(batch)
        self._undone.clear()

    def undo_target(self) -> BatchEdit | None:
        """The batch an undo would take back."""
        return self._done[-1] if self._done else None

    def redo_target(self) -> BatchEdit | None:
        """The batch a redo would apply again."""
        return self._undone[-1] if self._undone else None

    def mark_undone(self) -> None:
        """The last applied batch was taken back."""
        self._undone.append(self._done.pop())

    def mark_redone(self) -> None:
        """The last undone batch was applied again."""
        self._done.append(self._undone.pop())

    def clear(self) -> None:
        """Forget every batch (another folder was opened)."""
        self._done.clear()
        self._undone.clear()


# -- background work ------------------------------------------------------------------------
class _Relay(QObject):
    finished = Signal(int, object, object)  # task id, result, error message (None when ok)


class _Task(QRunnable):
    def __init__(self, task_id: int, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._id, self._fn, self._relay = task_id, fn, relay

    def run(self) -> None:
        try:
            result, error = self._fn(), None
        except Exception as exc:  # noqa: BLE001 - reported to the GUI thread instead
            log.exception("background task failed")
            result, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            self._relay.finished.emit(self._id, result, error)
        except RuntimeError:  # the executor was deleted meanwhile
            pass


class SerialExecutor(QObject):
    """Runs plain functions one after another on a private thread; results come back in order.

    Library writes (commits, sidecars with fsync) go through one of these so the GUI thread
    never waits on a disk, and their order is the order they were asked for. Callbacks run in
    the GUI thread: `callback(result)` or `on_error(message)`.
    """

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._pool.setObjectName(name)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_relay_finished)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}

    def submit(self, fn: Callable[[], Any], callback: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None) -> int:
        """Queue `fn`; returns its task id."""
        task_id = next(self._ids)
        self._callbacks[task_id] = (callback, on_error)
        self._pool.start(_Task(task_id, fn, self._relay))
        return task_id

    @property
    def busy(self) -> bool:
        """Whether a task is queued, running, or its callback is still to run."""
        return bool(self._callbacks)

    def wait(self, timeout_ms: int = -1, deliver: bool = True) -> bool:
        """Block until every queued task ran; with `deliver`, run their callbacks now too."""
        done = self._pool.waitForDone(timeout_ms)
        if deliver:
            from PySide6.QtCore import QCoreApplication, QEvent

            # Queued calls are posted to the receiver of the connection: this object.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        return done

    def active_threads(self) -> int:
        """Threads of the pool now running (0 once idle and expired)."""
        return self._pool.activeThreadCount()

    @Slot(int, object, object)
    def _on_relay_finished(self, task_id: int, result: Any, error: str | None) -> None:
        callback, on_error = self._callbacks.pop(task_id, (None, None))
        if error is not None:
            if on_error is not None:
                on_error(error)
            else:
                log.error("background task failed: %s", error)
        elif callback is not None:
            callback(result)


# -- dialogs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """Which captions a dialog works on: every caption of the folder or the selection."""

    all_items: Callable[[], list[tuple[Path, str]]]
    selected_items: Callable[[], list[tuple[Path, str]]]


class FindReplaceDialog(QDialog):
    """Find and replace across captions, with a live count before anything is changed.

    Signals:
        apply_requested(object): the user pressed Replace all; a `BatchEdit`.
    """

    apply_requested = Signal(object)

    def __init__(self, scope: Scope, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Find and replace"))
        self.setModal(False)
        self.resize(560, 360)
        self._scope = scope
        self._plan: list[Change] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.refresh)
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText(self.tr("Text or regular expression"))
        self.replace_edit = QLineEdit()
        self.replace_edit.setPlaceholderText(self.tr("Replacement (\\1 for groups in regex mode)"))
        self.regex_check = QCheckBox(self.tr("Regular expression"))
        self.case_check = QCheckBox(self.tr("Match case"))
        self.word_check = QCheckBox(self.tr("Whole words"))
        self.all_radio = QRadioButton(self.tr("All captions in the folder"))
        self.selected_radio = QRadioButton(self.tr("Selected files only"))
        self.all_radio.setChecked(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("heading")
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setPlaceholderText(self.tr("A preview of the first changes appears here."))
        self.apply_button = QPushButton(self.tr("Replace all"))
        self.apply_button.setObjectName("primary")
        self.apply_button.clicked.connect(self._on_apply_clicked)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.close)
        for widget in (self.find_edit, self.replace_edit):
            widget.textChanged.connect(self._timer.start)
        for check in (self.regex_check, self.case_check, self.word_check, self.selected_radio):
            check.toggled.connect(self._timer.start)
        form = QFormLayout()
        form.addRow(self.tr("Find"), self.find_edit)
        form.addRow(self.tr("Replace with"), self.replace_edit)
        options = QHBoxLayout()
        for check in (self.regex_check, self.case_check, self.word_check):
            options.addWidget(check)
        options.addStretch(1)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.all_radio)
        scope_row.addWidget(self.selected_radio)
        scope_row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.setSpacing(10)
        layout.addLayout(form)
        layout.addLayout(options)
        layout.addLayout(scope_row)
        layout.addWidget(self.count_label)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)
        self.refresh()

    def plan(self) -> list[Change]:
        """The changes Replace all would make now."""
        return list(self._plan)

    @Slot()
    def refresh(self) -> None:
        """Recount matches and rebuild the preview (debounced while typing)."""
        self._timer.stop()
        self._plan = []
        items = (self._scope.selected_items if self.selected_radio.isChecked() else self._scope.all_items)()
        try:
            pattern = compile_find(self.find_edit.text(), self.regex_check.isChecked(),
                                   self.case_check.isChecked(), self.word_check.isChecked())
            matches, hit = count_matches((c for _, c in items), pattern)
            self._plan = replace_plan(items, pattern, self.replace_edit.text(), self.regex_check.isChecked())
        except ValueError as exc:
            self.count_label.setText(str(exc))
            self.preview.clear()
            self.apply_button.setEnabled(False)
            return
        self.count_label.setText(plural(self.tr("%n match(es) in %1", "", matches), matches).replace("%1", plural(self.tr("%n caption(s)", "", hit), hit)))
        samples = [f"{c.path.name}\n  − {_clip(c.old)}\n  + {_clip(c.new)}" for c in self._plan[:PREVIEW_SAMPLES]]
        if len(self._plan) > PREVIEW_SAMPLES:
            samples.append(self.tr("… and %1 more").replace("%1", f"{len(self._plan) - PREVIEW_SAMPLES:,}"))
        self.preview.setPlainText("\n\n".join(samples))
        self.apply_button.setEnabled(bool(self._plan))

    @Slot()
    def _on_apply_clicked(self) -> None:
        self.refresh()
        if not self._plan:
            return
        label = plural(self.tr("Replace “%1” in %n caption(s)", "", len(self._plan)), len(self._plan)).replace("%1", _clip(self.find_edit.text(), 24))
        self.apply_requested.emit(BatchEdit(label, list(self._plan)))
        self._plan = []
        self.apply_button.setEnabled(False)


class AffixDialog(QDialog):
    """Prepend and/or append text (a trigger word, a style tag) to the selected captions.

    Signals:
        apply_requested(object): the user pressed Apply; a `BatchEdit`.
    """

    apply_requested = Signal(object)

    def __init__(self, items: list[tuple[Path, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add text to captions"))
        self.setModal(False)
        self._items = items
        self.prefix_edit = QLineEdit()
        self.prefix_edit.setPlaceholderText(self.tr("e.g. a trigger word"))
        self.suffix_edit = QLineEdit()
        self.separator_edit = QLineEdit(", ")
        self.separator_edit.setMaximumWidth(80)
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")
        self.count_label.setWordWrap(True)
        for widget in (self.prefix_edit, self.suffix_edit, self.separator_edit):
            widget.textChanged.connect(self.refresh)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply
                                   | QDialogButtonBox.StandardButton.Close)
        self.apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.setObjectName("primary")
        self.apply_button.clicked.connect(self._on_apply_clicked)
        buttons.rejected.connect(self.close)
        form = QFormLayout()
        form.addRow(self.tr("Prepend"), self.prefix_edit)
        form.addRow(self.tr("Append"), self.suffix_edit)
        form.addRow(self.tr("Separator"), self.separator_edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.addLayout(form)
        layout.addWidget(self.count_label)
        layout.addWidget(buttons)
        self.refresh()

    def plan(self) -> list[Change]:
        """The changes Apply would make now."""
        return affix_plan(self._items, self.prefix_edit.text(), self.suffix_edit.text(),
                          self.separator_edit.text())

    @Slot()
    def refresh(self) -> None:
        """Say how many captions change."""
        n = len(self.plan())
        empty = sum(1 for _, c in self._items if not c)
        note = self.tr(" (%1 without a caption are left alone)").replace("%1", f"{empty:,}") if empty else ""
        self.count_label.setText(self.tr("%1 of %2 selected captions will change%3.").replace("%3", note).replace(
            "%2", f"{len(self._items):,}").replace("%1", f"{n:,}"))
        self.apply_button.setEnabled(n > 0)

    @Slot()
    def _on_apply_clicked(self) -> None:
        plan = self.plan()
        if plan:
            self.apply_requested.emit(BatchEdit(plural(self.tr("Add text to %n caption(s)", "", len(plan)), len(plan)), plan))
        self.accept()


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
