"""The library of one folder: its files, captions, history and sidecars, behind one object."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from desktop_app.library import comparisons as _comparisons
from desktop_app.library import database
from desktop_app.library.atomic import atomic_write_text
from desktop_app.library.comparisons import Comparison
from desktop_app.library.database import Database, database_path
from desktop_app.library.models import (
    GenerationMetadata,
    HistoryEntry,
    ItemRecord,
    Review,
    RunPolicy,
    Status,
    SyncReport,
)
from desktop_app.library.scan import MEDIA_EXTENSIONS, normalize_extensions
from desktop_app.library.sidecars import (
    DEFAULT_SIDECAR_EXTENSION,
    normalize_sidecar_ext,
    sidecar_bases,
    stamp_of,
    text_digest,
)
from desktop_app.library.store import CaptionStore
from desktop_app.library.sync import sync_folder

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


class SidecarChangedError(RuntimeError):
    """A sidecar was changed by another tool since we last read it; sync before writing."""


class Library:
    """Captions of one folder, stored in a database outside it (so read-only folders work).

    Open with `Library.open(root)`, which syncs the database with the folder. Every
    `record_*`, `undo` and `redo` call is committed before it returns. Methods taking a file
    accept a path relative to the folder or an absolute path inside it.
    """

    def __init__(self, root: Path, db: Database, recursive: bool,
                 extensions: frozenset[str], sidecar_ext: str) -> None:
        """Use `Library.open` instead; this wraps an already open database."""
        self.root = root
        self.db = db
        self.store = CaptionStore(db)
        self.recursive = recursive
        self.extensions = extensions
        self.sidecar_ext = sidecar_ext
        self.last_sync = SyncReport()
        self._bases: dict[str, str] = {}

    @classmethod
    def open(cls, root: PathLike, *, data_dir: PathLike | None = None, recursive: bool = False,
             extensions: Iterable[str] = MEDIA_EXTENSIONS,
             sidecar_ext: str = DEFAULT_SIDECAR_EXTENSION, sync: bool = True) -> Library:
        """Open (creating if needed) the library of a folder, and sync it with the disk.

        Args:
            root: The media folder.
            data_dir: Where databases live (default: $CAPTION_STUDIO_DATA_DIR, else the
                user data folder).
            recursive: Include subfolders.
            extensions: Media extensions to include.
            sidecar_ext: Extension of the caption sidecars (".txt" or ".caption", ...).
            sync: Scan the folder now (see `sync`); the report is in `last_sync`.

        Returns:
            The open library.

        Raises:
            NotADirectoryError: If `root` is not a folder.
        """
        folder = Path(root).resolve()
        if not folder.is_dir():
            raise NotADirectoryError(f"Not a folder: {folder}")
        db = Database(database_path(folder, database.data_dir(data_dir)))
        with db.transaction() as conn:
            # Written only when it changes: opening must not need a free byte on the disk.
            conn.execute("INSERT INTO meta (key, value) VALUES ('root', ?) ON CONFLICT (key)"
                         " DO UPDATE SET value = excluded.value WHERE value != excluded.value",
                         (str(folder),))
        library = cls(folder, db, recursive, normalize_extensions(extensions),
                      normalize_sidecar_ext(sidecar_ext))
        if sync:
            library.sync()
        return library

    def sync(self) -> SyncReport:
        """Re-scan the folder: new files pending, vanished ones hidden, sidecars imported.

        Returns:
            What changed, including conflicts between unsaved edits and changed sidecars.
        """
        self.last_sync, self._bases = sync_folder(
            self.db, self.root, self.recursive, self.extensions, self.sidecar_ext)
        return self.last_sync

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def holds_subfolders(self) -> bool:
        """Whether the library knows files in subfolders (it was opened with `recursive` once)."""
        return bool(self.db.query("SELECT 1 FROM items WHERE instr(rel_path, '/') > 0 LIMIT 1"))

    def rel(self, path: PathLike) -> str:
        """The POSIX path relative to the folder of `path` (relative or absolute inside it).

        Raises:
            ValueError: If an absolute path lies outside the folder.
        """
        p = Path(path)
        if p.is_absolute():
            try:
                p = Path(os.path.abspath(p)).relative_to(self.root)
            except ValueError:  # reached through a symlink to the folder
                p = p.resolve().relative_to(self.root)
        if ".." in p.parts:
            raise ValueError(f"{path} is outside {self.root}")
        return PurePosixPath(*p.parts).as_posix()

    def absolute(self, rel_path: str) -> Path:
        """The absolute path of a file of the library."""
        return self.root / rel_path

    def item(self, path: PathLike) -> ItemRecord | None:
        """The record of one file, or None when unknown."""
        return self.store.get(self.rel(path))

    def items(self, present_only: bool = True) -> list[ItemRecord]:
        """Every file's record in natural order (vanished ones only on request)."""
        return self.store.items(present_only)

    def pending(self, policy: RunPolicy = RunPolicy.SKIP_DONE_AND_EDITED,
                subset: Iterable[PathLike] | None = None) -> list[Path]:
        """The files a new run should caption under `policy`, in natural order.

        Args:
            policy: Which statuses to (re)caption.
            subset: Restrict to these files (e.g. the user's selection); None for all.

        Returns:
            Absolute paths of present files.
        """
        statuses = self.store.statuses(present_only=True)
        wanted = None if subset is None else {self.rel(p) for p in subset}
        order = [r for r in self._ordered(statuses) if wanted is None or r in wanted]
        return [self.root / r for r in order if policy.includes(statuses[r])]

    def _ordered(self, rels: Iterable[str]) -> list[str]:
        """Files in the last scan's (natural) order, others after them."""
        rank = {r: i for i, r in enumerate(self._bases)}
        return sorted(rels, key=lambda r: (rank.get(r, len(rank)), r))

    def record_result(self, path: PathLike, caption: str, variants: Sequence[str] = (),
                      metadata: GenerationMetadata | Mapping[str, Any] | None = None,
                      truncated: bool = False,
                      policy: RunPolicy = RunPolicy.SKIP_DONE_AND_EDITED) -> bool:
        """Store a generated caption (committed). False if it would replace a user's edit.

        See `CaptionStore.record_result`; only `RunPolicy.OVERWRITE_ALL` replaces an edit.
        """
        return self.store.record_result(self.rel(path), caption, variants, metadata, truncated, policy)

    def record_failure(self, path: PathLike, reason: str, problem: str = "") -> None:
        """Store why a file failed (committed); an existing caption is kept.

        `problem` names a generation that gave no caption text ("empty", "reasoning_unfinished").
        """
        self.store.record_failure(self.rel(path), reason, problem)

    def record_edit(self, path: PathLike, new_caption: str) -> bool:
        """Store a user's caption (committed). True if it changed anything."""
        return self.store.record_edit(self.rel(path), new_caption)

    def set_review(self, path: PathLike, review: Review | str) -> bool:
        """Mark a file approved, flagged or neither (committed). True if the mark changed.

        See `CaptionStore.set_review`: edits keep the mark, a new generated result clears it.
        """
        return self.store.set_review(self.rel(path), review)

    def history(self, path: PathLike) -> list[HistoryEntry]:
        """Every caption version of a file, oldest first."""
        return self.store.history(self.rel(path))

    def undo(self, path: PathLike) -> str | None:
        """Restore the previous caption (committed); None when there is nothing to undo."""
        return self.store.undo(self.rel(path))

    def redo(self, path: PathLike) -> str | None:
        """Restore the caption an undo left (committed); None when there is nothing to redo."""
        return self.store.redo(self.rel(path))

    def sidecar_path(self, path: PathLike, ext: str | None = None) -> Path:
        """The sidecar of a file, with the duplicate-base-name rule applied (see `sidecars`).

        Args:
            path: The media file.
            ext: Sidecar extension; the library's own when None.
        """
        rel = self.rel(path)
        base = self._bases.get(rel)
        if base is None:
            siblings = [r.rsplit("/", 1)[-1] for r in self._bases if self._same_dir(r, rel)]
            base = sidecar_bases([*siblings, rel.rsplit("/", 1)[-1]])[rel.rsplit("/", 1)[-1]]
        return (self.root / rel).with_name(base + normalize_sidecar_ext(ext or self.sidecar_ext))

    @staticmethod
    def _same_dir(a: str, b: str) -> bool:
        """Whether two relative POSIX paths are in the same folder."""
        return a.rpartition("/")[0] == b.rpartition("/")[0]

    def write_sidecar(self, path: PathLike, text: str | None = None, *, force: bool = False) -> Path:
        """Write a file's sidecar atomically and remember its stamp.

        Args:
            path: The media file.
            text: What to write; the current caption when None.
            force: Overwrite even if another tool changed the sidecar since we last read it.

        Returns:
            The sidecar written.

        Raises:
            KeyError: If the file is unknown.
            SidecarChangedError: If the sidecar changed on disk and `force` is False.
            PermissionError: If the folder is read-only (nothing is changed).
        """
        rel = self.rel(path)
        record = self.store.get(rel)
        if record is None:
            raise KeyError(rel)
        target = self.sidecar_path(rel)
        on_disk = stamp_of(target)
        if not force and on_disk is not None and on_disk != self.store.sidecar_stamp(rel):
            raise SidecarChangedError(f"{target} was changed by another program; reopen the folder first")
        content = record.caption if text is None else text
        atomic_write_text(target, content)
        self.store.mark_sidecar(rel, stamp_of(target), saved=content == record.caption,
                                digest=text_digest(content))
        return target

    def unsaved(self) -> list[ItemRecord]:
        """Present files whose caption is not yet in their sidecar."""
        return [r for r in self.items() if r.dirty and r.status in (Status.DONE, Status.EDITED)]

    # -- multi-image comparisons ----------------------------------------------------------------
    def record_comparison(self, question: str, paths: Sequence[PathLike], answer: str,
                          model: str = "", truncated: bool = False,
                          extra: Mapping[str, Any] | None = None) -> Comparison:
        """Store a comparison of 2-20 files of the folder, in the order they were sent (committed).

        Raises:
            ValueError: If a path lies outside the folder or the count is not 2-20.
        """
        rels = [self.rel(p) for p in paths]
        return _comparisons.insert(self.db, question, rels, answer, model, truncated, extra)

    def comparisons(self, limit: int | None = None) -> list[Comparison]:
        """Stored comparisons, newest first (paths relative to the folder)."""
        return _comparisons.select(self.db, limit)

    def delete_comparison(self, comparison_id: int) -> bool:
        """Remove a stored comparison (committed); False when it did not exist."""
        return _comparisons.delete(self.db, comparison_id)
