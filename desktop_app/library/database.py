"""Where each folder's SQLite database lives, how it is opened, and its versioned schema."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "caption-studio"
DATA_DIR_ENV = "CAPTION_STUDIO_DATA_DIR"
SCHEMA_VERSION = 5

_SCHEMA_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    rel_path TEXT NOT NULL,
    caption TEXT NOT NULL,
    variants TEXT NOT NULL,              -- JSON list of strings
    model TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}',   -- JSON object
    seed INTEGER,
    truncated INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',    -- JSON object: other metadata keys
    created_at REAL NOT NULL
);
CREATE INDEX generations_by_path ON generations(rel_path, id);
CREATE TABLE items (
    rel_path TEXT PRIMARY KEY,           -- POSIX path relative to the folder
    size INTEGER,
    mtime_ns INTEGER,
    present INTEGER NOT NULL DEFAULT 1,  -- 0: the file vanished (captions kept)
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'edited', 'failed')),
    caption TEXT NOT NULL DEFAULT '',
    source TEXT,
    failure_reason TEXT,
    generation_id INTEGER REFERENCES generations(id),
    history_pos INTEGER,                 -- id of the history row equal to the caption
    dirty INTEGER NOT NULL DEFAULT 0,    -- 1: caption not yet written to the sidecar
    sidecar_size INTEGER,                -- stamp of the sidecar when we last read/wrote it
    sidecar_mtime_ns INTEGER,
    updated_at REAL NOT NULL
);
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    rel_path TEXT NOT NULL,
    caption TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    on_chain INTEGER NOT NULL DEFAULT 1, -- 0: kept aside (conflict), not an undo step
    discarded INTEGER NOT NULL DEFAULT 0,-- 1: a redo step dropped by a newer change
    created_at REAL NOT NULL
);
CREATE INDEX history_by_path ON history(rel_path, id);
"""

# Version 2: the user's review mark of each file ('' none, 'approved', 'flagged').
_SCHEMA_V2 = """
ALTER TABLE items ADD COLUMN review TEXT NOT NULL DEFAULT ''
    CHECK (review IN ('', 'approved', 'flagged'));
"""

# Version 3: multi-image comparisons (one question about several files, and the answer).
_SCHEMA_V3 = """
CREATE TABLE comparisons (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    paths TEXT NOT NULL,                 -- JSON list of POSIX paths relative to the folder, in order
    answer TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    truncated INTEGER NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',    -- JSON object: other metadata (params, reasoning)
    created_at REAL NOT NULL
);
"""

# Version 4: a digest of the text the app last wrote to each sidecar, so that sync tells a
# sidecar that only changed its stamp (touched, copied back) from one a person edited.
_SCHEMA_V4 = """
ALTER TABLE items ADD COLUMN sidecar_sha1 TEXT;
"""

# Version 5: why the last generation left no caption ('' none, 'empty', 'reasoning_unfinished');
# meaningful while failure_reason is set (whatever clears the reason clears the problem).
_SCHEMA_V5 = """
ALTER TABLE items ADD COLUMN problem TEXT NOT NULL DEFAULT '';
"""

# Index i upgrades a database from version i to i + 1.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1, _SCHEMA_V2, _SCHEMA_V3, _SCHEMA_V4, _SCHEMA_V5)


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the databases.

    The argument wins, then $CAPTION_STUDIO_DATA_DIR, then the platform's user data folder.

    Args:
        override: An explicit folder (tests pass `tmp_path`).

    Returns:
        The folder (not created here).
    """
    if override is not None:
        return Path(override)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def database_path(root: str | os.PathLike[str], directory: Path) -> Path:
    """The database file of a folder: a readable slug plus the sha1 of its resolved path.

    Args:
        root: The media folder.
        directory: The data folder (see `data_dir`).

    Returns:
        `<directory>/libraries/<slug>-<sha1[:16]>.sqlite3`.
    """
    resolved = str(Path(root).resolve())
    digest = hashlib.sha1(resolved.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(resolved).name).strip("-")[:40] or "root"
    return directory / "libraries" / f"{slug}-{digest}.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a library database in WAL mode and bring its schema up to date.

    `synchronous=FULL` makes every commit durable even across a power cut, not only across
    a killed process; commits are one per caption, so the cost does not matter.

    Args:
        path: The database file.

    Returns:
        A connection in autocommit mode (transactions are explicit, see `transaction`),
        usable from any thread when guarded by `Database.lock`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the database lacks, each in its own transaction.

    Args:
        conn: An open connection in autocommit mode.

    Raises:
        RuntimeError: If the database was written by a newer version of the app.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"Library database schema {version} is newer than this app ({SCHEMA_VERSION})")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        log.info("Migrating library database to schema %d", target)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _MIGRATIONS[target - 1].split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class StoreWriteError(sqlite3.OperationalError):
    """The caption store could not be written (a full disk, an I/O error); nothing was changed.

    A `sqlite3.OperationalError`, so existing handlers still catch it, with a message that
    says what happened and where: the database file, whose disk is the one to look at.
    """

    def __init__(self, path: Path, cause: sqlite3.Error) -> None:
        self.path = path
        code = getattr(cause, "sqlite_errorname", "")
        if code == "SQLITE_FULL" or "full" in str(cause) or _nearly_full(path.parent):
            what = "the disk holding the caption store is full"
            advice = "free space there or pass --data-dir for another disk, then run again"
        else:
            what = "the caption store could not be written"
            advice = "check that disk, then run again"
        super().__init__(f"{what} ({cause}): {path}; what was stored before is kept; {advice}")


def _nearly_full(folder: Path) -> bool:
    """Whether the disk of `folder` has (about) no room left: SQLite says "disk I/O error"
    when it cannot even create its -wal/-shm files there."""
    try:
        return shutil.disk_usage(folder).free < 1024 * 1024
    except OSError:
        return False


# SQLite's result codes that mean "could not write this", not "this statement is wrong".
_WRITE_FAILURES = frozenset({"SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY"})


def _is_write_failure(exc: sqlite3.Error) -> bool:
    """Whether an error comes from the disk rather than from the statement."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.split("_", 2)[:2] == ["SQLITE", "IOERR"] or name in _WRITE_FAILURES or \
        "database or disk is full" in str(exc)


class Database:
    """A connection plus the lock that serializes its use across threads."""

    def __init__(self, path: Path) -> None:
        """Open the database at `path`.

        Args:
            path: The database file (created with its schema if missing).
        """
        self.path = path
        try:
            self.conn = connect(path)
        except sqlite3.Error as exc:
            if _is_write_failure(exc):
                raise StoreWriteError(path, exc) from exc
            raise
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any error.

        Yields:
            The connection, inside `BEGIN IMMEDIATE`.
        """
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    self._rollback()
                    raise
                try:
                    self.conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as exc:
                if _is_write_failure(exc) and not isinstance(exc, StoreWriteError):
                    raise StoreWriteError(self.path, exc) from exc
                raise

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already done so itself.

        After SQLITE_FULL or an I/O error SQLite may roll back on its own; a second ROLLBACK
        would then raise "no transaction is active" and hide the real error.
        """
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("Rollback of %s failed: %s", self.path, exc)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read-only statement and return every row.

        Args:
            sql: The statement.
            params: Its parameters.

        Returns:
            The rows.
        """
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite on the last close)."""
        with self.lock:
            self.conn.close()
