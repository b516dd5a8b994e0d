"""The caption store: results, failures and edits of one folder, each committed on its own."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any

from desktop_app.library import history
from desktop_app.library.database import Database
from desktop_app.library.models import (
    GenerationMetadata,
    HistoryEntry,
    ItemRecord,
    Review,
    RunPolicy,
    Source,
    Status,
)
from desktop_app.library.scan import path_sort_key
from desktop_app.library.sidecars import FileStamp

log = logging.getLogger(__name__)

_ITEM_QUERY = (
    "SELECT i.*, g.variants, g.model, g.prompt, g.params, g.seed, g.truncated, g.extra,"
    " g.created_at AS generated_at FROM items i LEFT JOIN generations g ON g.id = i.generation_id"
)


def _record(row: sqlite3.Row) -> ItemRecord:
    """Turn a joined items/generations row into an `ItemRecord`."""
    metadata = None
    if row["generated_at"] is not None:
        metadata = GenerationMetadata(
            model=row["model"], prompt=row["prompt"], params=json.loads(row["params"]),
            seed=row["seed"], generated_at=row["generated_at"], extra=json.loads(row["extra"]),
        )
    return ItemRecord(
        rel_path=row["rel_path"], status=Status(row["status"]), caption=row["caption"],
        variants=tuple(json.loads(row["variants"] or "[]")), present=bool(row["present"]),
        size=row["size"], mtime_ns=row["mtime_ns"],
        source=Source(row["source"]) if row["source"] else None,
        failure_reason=row["failure_reason"],
        # The flag belongs to the generated text: an edit or an imported sidecar replaced it.
        truncated=bool(row["truncated"]) and row["source"] == Source.GENERATED.value,
        metadata=metadata, dirty=bool(row["dirty"]), updated_at=row["updated_at"],
        review=Review(row["review"]),
        problem=(row["problem"] or "") if row["failure_reason"] else "",
    )


def _ensure_item(conn: sqlite3.Connection, rel_path: str) -> sqlite3.Row:
    """The item's row, inserting a pending one for a file the folder scan has not seen yet."""
    conn.execute(
        "INSERT OR IGNORE INTO items (rel_path, updated_at) VALUES (?, ?)", (rel_path, time.time())
    )
    row: sqlite3.Row = conn.execute("SELECT * FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
    return row


class CaptionStore:
    """Per-folder captions in SQLite; every `record_*` call is one committed transaction.

    Paths are POSIX paths relative to the folder (`"sub/img1.jpg"`).
    """

    def __init__(self, db: Database) -> None:
        """Wrap an open database.

        Args:
            db: The folder's database.
        """
        self.db = db

    def get(self, rel_path: str) -> ItemRecord | None:
        """The record of one file, or None if unknown."""
        rows = self.db.query(f"{_ITEM_QUERY} WHERE i.rel_path = ?", (rel_path,))
        return _record(rows[0]) if rows else None

    def items(self, present_only: bool = True) -> list[ItemRecord]:
        """Every file's record in natural order; vanished files only when asked for.

        Args:
            present_only: Leave out files that are no longer in the folder.

        Returns:
            The records.
        """
        where = " WHERE i.present = 1" if present_only else ""
        records = [_record(r) for r in self.db.query(_ITEM_QUERY + where)]
        records.sort(key=lambda r: path_sort_key(r.rel_path))
        return records

    def statuses(self, present_only: bool = True) -> dict[str, Status]:
        """`{rel_path: status}` for every file (cheap: no captions loaded)."""
        where = " WHERE present = 1" if present_only else ""
        return {r[0]: Status(r[1]) for r in self.db.query(f"SELECT rel_path, status FROM items{where}")}

    def record_result(self, rel_path: str, caption: str, variants: Sequence[str],
                      metadata: GenerationMetadata | Mapping[str, Any] | None,
                      truncated: bool = False,
                      policy: RunPolicy = RunPolicy.SKIP_DONE_AND_EDITED) -> bool:
        """Store a generated caption and its variants, committed before returning.

        Args:
            rel_path: The file.
            caption: The caption (usually the first variant).
            variants: Every generated variant (the caption alone when empty).
            metadata: Model, prompt, parameters, seed, time.
            truncated: Whether generation stopped at the token limit.
            policy: The run's policy; only `OVERWRITE_ALL` may replace a user's edit.

        A stored result clears the file's review mark: the text it judged is gone.

        Returns:
            True if stored; False if refused because the file holds a user's edit.
        """
        meta = GenerationMetadata.coerce(metadata)
        texts = list(variants) or [caption]
        with self.db.transaction() as conn:
            item = _ensure_item(conn, rel_path)
            if item["status"] == Status.EDITED.value and policy is not RunPolicy.OVERWRITE_ALL:
                log.info("Kept the user's edit of %s (policy %s)", rel_path, policy.value)
                return False
            cur = conn.execute(
                "INSERT INTO generations (rel_path, caption, variants, model, prompt, params, seed,"
                " truncated, extra, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rel_path, caption, json.dumps(texts, ensure_ascii=False), meta.model, meta.prompt,
                 json.dumps(meta.params, default=str), meta.seed, int(truncated),
                 json.dumps(meta.extra, default=str), meta.generated_at),
            )
            conn.execute(
                "UPDATE items SET caption = ?, status = 'done', source = ?, failure_reason = NULL,"
                " problem = '', generation_id = ?, dirty = 1, review = '', updated_at = ?"
                " WHERE rel_path = ?",
                (caption, Source.GENERATED.value, cur.lastrowid, time.time(), rel_path),
            )
            history.append_version(conn, rel_path, caption, Status.DONE, Source.GENERATED)
        return True

    def record_failure(self, rel_path: str, reason: str, problem: str = "") -> None:
        """Store why a file could not be captioned, committed before returning.

        A file that already has a caption keeps it and its status; only the reason is
        recorded, so a failed retry never hides a good caption (nor does a generation that
        gave no text: that is recorded here too, with its `problem`).

        Args:
            rel_path: The file.
            reason: Why, in words a person understands.
            problem: For a generation that gave no caption text, which kind ("empty",
                "reasoning_unfinished"); "" for any other failure.
        """
        with self.db.transaction() as conn:
            _ensure_item(conn, rel_path)
            conn.execute(
                "UPDATE items SET failure_reason = ?, problem = ?, updated_at = ?,"
                " status = CASE WHEN status IN ('done', 'edited') THEN status ELSE 'failed' END"
                " WHERE rel_path = ?",
                (reason, problem, time.time(), rel_path),
            )

    def record_edit(self, rel_path: str, new_caption: str) -> bool:
        """Store a user's caption, committed before returning.

        Args:
            rel_path: The file.
            new_caption: The caption as the user wrote it.

        Returns:
            True if the caption changed, False if it was already that text.

        Raises:
            KeyError: If the file is unknown.
        """
        with self.db.transaction() as conn:
            item = conn.execute("SELECT caption, status FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
            if item is None:
                raise KeyError(rel_path)
            if item["caption"] == new_caption and item["status"] == Status.EDITED.value:
                return False
            conn.execute(
                "UPDATE items SET caption = ?, status = 'edited', source = ?, failure_reason = NULL,"
                " problem = '', dirty = 1, updated_at = ? WHERE rel_path = ?",
                (new_caption, Source.EDIT.value, time.time(), rel_path),
            )
            history.append_version(conn, rel_path, new_caption, Status.EDITED, Source.EDIT)
        return True

    def set_review(self, rel_path: str, review: Review | str) -> bool:
        """Mark a file approved, flagged or neither, committed before returning.

        Only this changes a mark: an edit keeps it (the user wrote that text), a new
        generated result clears it.

        Args:
            rel_path: The file.
            review: The mark (`Review` or its value: "", "approved", "flagged").

        Returns:
            True if the mark changed.

        Raises:
            KeyError: If the file is unknown.
            ValueError: For an unknown mark.
        """
        mark = Review(review)
        with self.db.transaction() as conn:
            item = conn.execute("SELECT review FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
            if item is None:
                raise KeyError(rel_path)
            if item["review"] == mark.value:
                return False
            conn.execute("UPDATE items SET review = ?, updated_at = ? WHERE rel_path = ?",
                         (mark.value, time.time(), rel_path))
        return True

    def undo(self, rel_path: str) -> str | None:
        """Restore the previous caption version (persisted); None if there is none."""
        with self.db.transaction() as conn:
            return history.undo(conn, rel_path)

    def redo(self, rel_path: str) -> str | None:
        """Restore the version the last undo left (persisted); None if there is none."""
        with self.db.transaction() as conn:
            return history.redo(conn, rel_path)

    def history(self, rel_path: str) -> list[HistoryEntry]:
        """Every caption version of a file, oldest first, conflicts included."""
        with self.db.lock:
            return history.entries(self.db.conn, rel_path)

    def mark_sidecar(self, rel_path: str, stamp: FileStamp | None, saved: bool,
                     digest: str | None = None) -> None:
        """Remember the sidecar's stamp after we wrote it (so a later change is noticed).

        Args:
            rel_path: The file.
            stamp: The sidecar's size and mtime now, None if it does not exist.
            saved: Whether the sidecar now holds the current caption (clears `dirty`).
            digest: `text_digest` of what we wrote (tells a touched sidecar from an edited one).
        """
        size, mtime = (stamp.size, stamp.mtime_ns) if stamp else (None, None)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE items SET sidecar_size = ?, sidecar_mtime_ns = ?, sidecar_sha1 = ?,"
                " dirty = CASE WHEN ? THEN 0 ELSE dirty END WHERE rel_path = ?",
                (size, mtime, digest, int(saved), rel_path),
            )

    def sidecar_stamp(self, rel_path: str) -> FileStamp | None:
        """The sidecar stamp recorded when we last read or wrote it."""
        rows = self.db.query("SELECT sidecar_size, sidecar_mtime_ns FROM items WHERE rel_path = ?", (rel_path,))
        if not rows or rows[0][0] is None:
            return None
        return FileStamp(rows[0][0], rows[0][1])
