"""Folder sync: bring a folder's database in line with its files and their sidecar captions."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop_app.library import history
from desktop_app.library.database import Database
from desktop_app.library.models import Conflict, Source, Status, SyncReport
from desktop_app.library.scan import scan_relative
from desktop_app.library.sidecars import (
    FileStamp,
    read_sidecar,
    sidecar_bases,
    stamp_of,
    text_digest,
)

log = logging.getLogger(__name__)

# (rel_path, size, mtime_ns, present, sidecar_size) as stored before this sync.
_OldRow = tuple[str, int | None, int | None, int, int | None]


@dataclass(frozen=True)
class _Seen:
    """One media file found on disk, with what the sidecar check found."""

    rel_path: str
    stamp: FileStamp
    sidecar: str
    sidecar_stamp: FileStamp | None
    sidecar_text: str | None  # read only when the sidecar changed since we last saw it


def _directory_names(directory: str) -> set[str]:
    """Names of the entries of a folder (empty when it cannot be read)."""
    try:
        return set(os.listdir(directory))
    except OSError:
        return set()


def _sidecar_state(sidecar: str, known: tuple[int, int] | None) -> tuple[FileStamp | None, str | None]:
    """Stamp of an existing sidecar, and its text when it differs from the recorded stamp."""
    stamp = stamp_of(sidecar)
    if stamp is None or (known is not None and (stamp.size, stamp.mtime_ns) == known):
        return stamp, None
    try:
        return stamp, read_sidecar(sidecar)
    except OSError as exc:
        log.warning("Cannot read sidecar %s: %s", sidecar, exc)
        return None, None


def _look(root: Path, rels: list[str], ext: str,
          known: dict[str, tuple[int, int] | None]) -> tuple[list[_Seen], dict[str, str]]:
    """Stat every media file and check its sidecar; no database access (no lock held).

    Plain strings and `os` calls, not pathlib: this runs once per file of 100,000.
    """
    by_dir: dict[str, list[str]] = defaultdict(list)
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        by_dir[folder].append(name)
    dir_bases = {d: sidecar_bases(names) for d, names in by_dir.items()}
    prefix = os.path.join(str(root), "")  # "/folder/": forward slashes work on every OS
    listings = {d: _directory_names(prefix + d if d else prefix) for d in by_dir}
    seen: list[_Seen] = []
    bases: dict[str, str] = {}
    for rel in rels:
        folder, _, name = rel.rpartition("/")
        base = bases[rel] = dir_bases[folder][name]
        stamp = stamp_of(prefix + rel)
        if stamp is None:  # vanished between the scan and now
            continue
        sidecar_name = base + ext
        sidecar = f"{prefix}{folder}/{sidecar_name}" if folder else prefix + sidecar_name
        side_stamp, text = (_sidecar_state(sidecar, known.get(rel))
                            if sidecar_name in listings[folder] else (None, None))
        seen.append(_Seen(rel, stamp, sidecar, side_stamp, text))
    return seen, bases


def _apply_sidecar(conn: sqlite3.Connection, seen: _Seen) -> Conflict | bool:
    """Import a changed sidecar into one item; a Conflict when it meets an unsaved edit.

    A sidecar holding other text than the caption and than what the app last wrote there
    was written outside the app (by a person or another tool, or before the folder was first
    opened): it is an edit, and becomes the caption with status "edited", so a run that
    skips edited captions leaves it alone.
    """
    stamp = seen.sidecar_stamp
    assert stamp is not None and seen.sidecar_text is not None
    conn.execute("UPDATE items SET sidecar_size = ?, sidecar_mtime_ns = ? WHERE rel_path = ?",
                 (stamp.size, stamp.mtime_ns, seen.rel_path))
    row = conn.execute("SELECT caption, status, dirty, sidecar_sha1 FROM items WHERE rel_path = ?",
                       (seen.rel_path,)).fetchone()
    text = seen.sidecar_text
    if not text.strip():
        return False
    if text == row["caption"]:
        conn.execute("UPDATE items SET dirty = 0 WHERE rel_path = ?", (seen.rel_path,))
        return False
    if row["sidecar_sha1"] is not None and text_digest(text) == row["sidecar_sha1"]:
        return False  # what we wrote (joined variants, or a caption not yet rewritten): only touched
    if row["status"] == Status.EDITED.value and row["dirty"]:
        history.set_aside(conn, seen.rel_path, text, Source.CONFLICT)
        return Conflict(seen.rel_path, row["caption"], text, str(Path(seen.sidecar)))
    conn.execute(
        "UPDATE items SET caption = ?, status = ?, source = ?, failure_reason = NULL, dirty = 0,"
        " sidecar_sha1 = NULL, updated_at = ? WHERE rel_path = ?",
        (text, Status.EDITED.value, Source.SIDECAR.value, time.time(), seen.rel_path),
    )
    history.append_version(conn, seen.rel_path, text, Status.EDITED, Source.SIDECAR)
    return True


def _update_item(conn: sqlite3.Connection, seen: _Seen, old: _OldRow | None,
                 report: SyncReport) -> None:
    """Insert a new file or refresh a known one's presence, size and mtime."""
    stamp = seen.stamp
    if old is None:
        conn.execute("INSERT INTO items (rel_path, size, mtime_ns, updated_at) VALUES (?, ?, ?, ?)",
                     (seen.rel_path, stamp.size, stamp.mtime_ns, time.time()))
        report.added.append(seen.rel_path)
        return
    _, size, mtime_ns, present, _ = old
    if not present:
        report.returned.append(seen.rel_path)
    elif (size, mtime_ns) != (stamp.size, stamp.mtime_ns):
        report.changed.append(seen.rel_path)
    else:
        return
    conn.execute("UPDATE items SET present = 1, size = ?, mtime_ns = ? WHERE rel_path = ?",
                 (stamp.size, stamp.mtime_ns, seen.rel_path))


def _forget_sidecar(conn: sqlite3.Connection, seen: _Seen, old: _OldRow | None) -> None:
    """A sidecar we knew was deleted: forget its stamp; the caption is now unsaved."""
    if old is not None and old[4] is not None and seen.sidecar_stamp is None:
        conn.execute(
            "UPDATE items SET sidecar_size = NULL, sidecar_mtime_ns = NULL,"
            " dirty = CASE WHEN caption != '' THEN 1 ELSE dirty END WHERE rel_path = ?",
            (seen.rel_path,),
        )


def _write(db: Database, seen: Iterable[_Seen], report: SyncReport) -> None:
    """Apply everything found to the database in one transaction."""
    with db.transaction() as conn:
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: Row objects cost a second per 100,000
        old_rows = {r[0]: r for r in cursor.execute(
            "SELECT rel_path, size, mtime_ns, present, sidecar_size FROM items")}
        found: set[str] = set()
        for item in seen:
            found.add(item.rel_path)
            old = old_rows.get(item.rel_path)
            _update_item(conn, item, old, report)
            _forget_sidecar(conn, item, old)
            if item.sidecar_text is not None:
                outcome = _apply_sidecar(conn, item)
                if isinstance(outcome, Conflict):
                    report.conflicts.append(outcome)
                elif outcome:
                    report.imported.append(item.rel_path)
        report.missing = [rel for rel, row in old_rows.items() if row[3] and rel not in found]
        conn.executemany("UPDATE items SET present = 0 WHERE rel_path = ?", ((r,) for r in report.missing))
        report.total = len(found)


def sync_folder(db: Database, root: Path, recursive: bool, extensions: Iterable[str],
                sidecar_ext: str) -> tuple[SyncReport, dict[str, str]]:
    """Scan `root` and update its database: new files, vanished files, changed sidecars.

    New files become pending; vanished ones are marked not present (captions kept); a
    sidecar that is new or changed since we last read or wrote it, and holds other text than
    we wrote, is imported as an edit (status "edited", source "sidecar"), unless the file
    holds an unsaved edit: then the edit stays, the sidecar text goes to the history and a
    `Conflict` is reported.

    Args:
        db: The folder's database.
        root: The resolved folder.
        recursive: Whether to include subfolders.
        extensions: Media extensions to include.
        sidecar_ext: Extension of the caption sidecars (".txt").

    Returns:
        The report, and `{rel_path: sidecar base name}` for every file found.
    """
    started = time.perf_counter()
    rels = scan_relative(root, recursive, extensions)
    known = {r[0]: (r[1], r[2]) if r[1] is not None else None
             for r in db.query("SELECT rel_path, sidecar_size, sidecar_mtime_ns FROM items")}
    seen, bases = _look(root, rels, sidecar_ext, known)
    report = SyncReport()
    _write(db, seen, report)
    report.seconds = time.perf_counter() - started
    log.info("Synced %s: %d files, %d new, %d missing, %d sidecars imported, %d conflicts in %.2fs",
             root, report.total, len(report.added), len(report.missing), len(report.imported),
             len(report.conflicts), report.seconds)
    return report, bases
