"""Atomic file writes: a crash, a kill or a full disk leaves either the old file or the new one."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_TEMP_PREFIX = ".~cs-"
_TEMP_SUFFIX = ".tmp"


class AtomicWriteError(OSError):
    """A write failed; the target file is unchanged and no temporary file is left.

    Keeps the errno of the underlying error, and the target in `filename`, so callers can
    still test `exc.errno == errno.ENOSPC`.
    """


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable where the platform allows fsync on a directory (not Windows)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories; the rename is still done
        pass
    finally:
        os.close(fd)


def _open_temp(target: Path) -> tuple[int, str]:
    """Create the temporary file beside `target`; errors name the target, not the temp file."""
    try:
        return tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX, dir=target.parent)
    except PermissionError as exc:
        raise PermissionError(
            exc.errno or errno.EACCES,
            "Permission denied (the folder is read-only or not writable)",
            str(target),
        ) from exc
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror or str(exc), str(target)) from exc


def _remove_quietly(path: str) -> None:
    """Delete a leftover temporary file, ignoring a file that is already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("Could not remove temporary file %s: %s", path, exc)


def _keep_mode(target: Path, fd: int) -> None:
    """Give the new file the old file's permissions (mkstemp creates it 0600)."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` atomically.

    Writes a temporary file in the same folder, flushes and fsyncs it, renames it over the
    target with `os.replace`, then fsyncs the folder where possible. On any error the
    temporary file is removed and the old file, if any, is left whole.

    Args:
        path: The file to write; its folder must exist.
        data: The new content.
        durable: False skips both fsyncs (caches: a crash may lose the new file, never
            leave a torn one).

    Raises:
        PermissionError: If the folder (or the file) is not writable; names the file.
        AtomicWriteError: For any other OS error (a full disk, for instance), naming the file.
    """
    target = Path(path)
    fd, temp = _open_temp(target)
    try:
        try:
            _keep_mode(target, fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException as exc:
        _remove_quietly(temp)
        if isinstance(exc, OSError):
            kind = PermissionError if isinstance(exc, PermissionError) else AtomicWriteError
            raise kind(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
    if durable:
        _fsync_directory(target.parent)


def write_cache_file(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write a cache file atomically but not durably, creating its folder; False (logged) on
    failure, which only costs the cache entry."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data, durable=False)
        return True
    except OSError as exc:
        log.debug("Cannot write cache file %s: %s", path, exc)
        return False


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` atomically, with no newline translation on any platform.

    Args:
        path: The file to write; its folder must exist.
        text: The new content.
        encoding: Text encoding (UTF-8 by default).

    Raises:
        PermissionError: If the folder (or the file) is not writable; names the file.
        AtomicWriteError: For any other OS error, naming the file.
    """
    atomic_write_bytes(path, text.encode(encoding))


def is_temp_file(name: str) -> bool:
    """Whether a file name is one of our temporary files (for cleanup and for tests).

    Args:
        name: A file name.

    Returns:
        True for a name `atomic_write_bytes` could have left after a hard kill.
    """
    return name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX)
