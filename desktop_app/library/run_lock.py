"""One captioning run per library at a time: a lock file beside the folder's database.

The lock is an OS lock (`flock` on POSIX, `msvcrt.locking` on Windows) held on an open file,
so the system drops it when the holding process ends, however it ends (a crash, `kill -9`,
a power cut): a lock left by a dead process never blocks anyone. The file itself stays and
says who holds it (process id, host, start time) for the message the next run prints.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from desktop_app.library import database

log = logging.getLogger(__name__)

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[str]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import errno
    import fcntl

    def _try_lock(handle: IO[str]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def lock_path(root: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The run lock of a folder's library: its database's name with `.lock`.

    Args:
        root: The media folder.
        data_dir: The data folder override (see `database.data_dir`).

    Returns:
        `<data>/libraries/<slug>-<sha1>.lock`.
    """
    return database.database_path(root, database.data_dir(data_dir)).with_suffix(".lock")


class RunLock:
    """The lock of one library's captioning runs; `acquire` then `release` (or `with`)."""

    def __init__(self, path: Path) -> None:
        """Prepare the lock at `path` (nothing is opened yet)."""
        self.path = path
        self._handle: IO[str] | None = None

    @classmethod
    def for_folder(cls, root: str | os.PathLike[str],
                   data_dir: str | os.PathLike[str] | None = None) -> RunLock:
        """The lock of a folder's library (see `lock_path`)."""
        return cls(lock_path(root, data_dir))

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._handle is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other run holds it; never waits.

        Returns:
            True when held now (also when this object already held it).

        Raises:
            OSError: If the lock file cannot be created (the data folder is not writable).
        """
        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            if not _try_lock(handle):
                handle.close()
                return False
        except OSError as exc:  # a file system without locks: run, but say so
            log.warning("Cannot lock %s (%s); runs on this folder are not kept apart", self.path, exc)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.time()}) + "\n")
        handle.flush()
        self._handle = handle
        return True

    def acquire(self, wait: bool, on_wait: Callable[[str], None] | None = None,
                poll_seconds: float = 0.25, timeout: float | None = None) -> bool:
        """Take the lock, waiting for the run holding it when `wait` is set.

        Args:
            wait: Wait for the other run to end (polling, so Ctrl+C stops the wait at once).
            on_wait: Called once with `holder()` when the lock is busy (before any waiting).
            poll_seconds: How often to try again while waiting.
            timeout: Give up after this many seconds (None: wait as long as it takes).

        Returns:
            True when held; False when busy and not waiting (or the timeout passed).
        """
        if self.try_acquire():
            return True
        if on_wait is not None:
            on_wait(self.holder())
        if not wait:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll_seconds)
        return True

    def holder(self) -> str:
        """Who holds the lock, in words ("process 1234 on host, since 12:03:04"), from its file."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            since = time.strftime("%H:%M:%S", time.localtime(float(info["started"])))
            return f"process {int(info['pid'])} on {info.get('host') or 'this machine'}, since {since}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        """Let the next run in (the file stays; a lock is the OS's, not the file's)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            _unlock(handle)
        except OSError as exc:
            log.warning("Cannot unlock %s: %s", self.path, exc)
        finally:
            handle.close()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
