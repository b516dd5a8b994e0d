"""Caption history: every version of a file's caption, and undo/redo along it, in the database.

Each change of a caption appends a row; `items.history_pos` points at the row equal to the
current caption. Undo and redo move that pointer along the rows of the undo chain. A new
change after an undo marks the redo rows `discarded` (kept, never deleted). Rows kept aside
(a sidecar that conflicted with an unsaved edit) are off the chain: visible in the history,
skipped by undo.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from desktop_app.library.models import HistoryEntry, Source, Status

log = logging.getLogger(__name__)


def append_version(conn: sqlite3.Connection, rel_path: str, caption: str,
                   status: Status, source: Source) -> int:
    """Record a new current caption version, dropping the redo steps after the current one.

    Must run inside a transaction; the caller updates the item's caption and status.

    Args:
        conn: The connection, in a transaction.
        rel_path: The file.
        caption: The new caption.
        status: The status the file has with this caption.
        source: Where the caption came from.

    Returns:
        The id of the new row (already stored as the item's `history_pos`).
    """
    pos = conn.execute("SELECT history_pos FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
    if pos is not None and pos[0] is not None:
        conn.execute(
            "UPDATE history SET discarded = 1 WHERE rel_path = ? AND id > ? AND on_chain = 1",
            (rel_path, pos[0]),
        )
    cur = conn.execute(
        "INSERT INTO history (rel_path, caption, status, source, on_chain, created_at)"
        " VALUES (?, ?, ?, ?, 1, ?)",
        (rel_path, caption, status.value, source.value, time.time()),
    )
    conn.execute("UPDATE items SET history_pos = ? WHERE rel_path = ?", (cur.lastrowid, rel_path))
    return int(cur.lastrowid or 0)


def set_aside(conn: sqlite3.Connection, rel_path: str, caption: str, source: Source) -> int:
    """Keep a caption in the history without making it current or an undo step.

    Args:
        conn: The connection, in a transaction.
        rel_path: The file.
        caption: The text to keep (e.g. a conflicting sidecar's).
        source: Why it is kept.

    Returns:
        The id of the new row.
    """
    cur = conn.execute(
        "INSERT INTO history (rel_path, caption, status, source, on_chain, created_at)"
        " VALUES (?, ?, ?, ?, 0, ?)",
        (rel_path, caption, Status.DONE.value, source.value, time.time()),
    )
    return int(cur.lastrowid or 0)


def _step(conn: sqlite3.Connection, rel_path: str, backwards: bool) -> str | None:
    """Move the current caption one step along the undo chain; None when there is none."""
    row = conn.execute("SELECT history_pos FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
    if row is None:
        raise KeyError(rel_path)
    if row[0] is None:
        return None
    order = "id < ? ORDER BY id DESC" if backwards else "id > ? ORDER BY id ASC"
    target = conn.execute(
        "SELECT id, caption, status, source FROM history WHERE rel_path = ? AND on_chain = 1"
        f" AND discarded = 0 AND {order} LIMIT 1",
        (rel_path, row[0]),
    ).fetchone()
    if target is None:
        return None
    conn.execute(
        "UPDATE items SET caption = ?, status = ?, source = ?, history_pos = ?, dirty = 1,"
        " updated_at = ? WHERE rel_path = ?",
        (target["caption"], target["status"], target["source"], target["id"], time.time(), rel_path),
    )
    return str(target["caption"])


def undo(conn: sqlite3.Connection, rel_path: str) -> str | None:
    """Go back to the previous caption version.

    Args:
        conn: The connection, in a transaction.
        rel_path: The file.

    Returns:
        The caption now current, or None if there was nothing to undo.

    Raises:
        KeyError: If the file is unknown.
    """
    return _step(conn, rel_path, backwards=True)


def redo(conn: sqlite3.Connection, rel_path: str) -> str | None:
    """Go forward to the caption version an undo left.

    Args:
        conn: The connection, in a transaction.
        rel_path: The file.

    Returns:
        The caption now current, or None if there was nothing to redo.

    Raises:
        KeyError: If the file is unknown.
    """
    return _step(conn, rel_path, backwards=False)


def entries(conn: sqlite3.Connection, rel_path: str) -> list[HistoryEntry]:
    """Every history row of a file, oldest first.

    Args:
        conn: The connection.
        rel_path: The file.

    Returns:
        The entries; `current` marks the one equal to the caption shown.
    """
    pos_row = conn.execute("SELECT history_pos FROM items WHERE rel_path = ?", (rel_path,)).fetchone()
    pos = pos_row[0] if pos_row is not None else None
    rows = conn.execute(
        "SELECT id, caption, status, source, created_at, on_chain, discarded FROM history"
        " WHERE rel_path = ? ORDER BY id",
        (rel_path,),
    ).fetchall()
    return [
        HistoryEntry(
            id=r["id"], caption=r["caption"], status=Status(r["status"]), source=Source(r["source"]),
            created_at=r["created_at"], on_undo_chain=bool(r["on_chain"]),
            discarded=bool(r["discarded"]), current=r["id"] == pos,
        )
        for r in rows
    ]
