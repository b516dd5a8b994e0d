"""Keeping the thumbnail disk cache bounded: least recently used files go first.

Recency is a cache file's mtime, not its access time: atime is off or coarse on many systems
(``noatime``, ``relatime``, Windows' default), so readers refresh the mtime instead
(`mark_used`), at most once a day per file, which costs one ``utime`` on a read that found a
day-old file and nothing otherwise. The prune itself (`prune_cache`) is one scan of the cache
folder (a thumbnail is ``<2 hex>/<sha1>.thumb``) and runs off the GUI thread once per start.
Sizes are the files' apparent sizes (``st_size``), not the blocks they take on disk.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from desktop_app.library.atomic import is_temp_file

log = logging.getLogger(__name__)

#: The cache's default size cap in bytes (the setting "thumbnails/cache_limit_mb" overrides it).
DEFAULT_LIMIT_BYTES = 1024 * 1024 * 1024
#: A prune brings the cache down to this fraction of the cap, so the next start has headroom.
LOW_WATER = 0.9
#: A temporary file older than this (seconds) was left by a killed writer and may go.
STALE_TEMP_S = 3600.0
#: A read refreshes a file's mtime only when it is older than this (seconds).
TOUCH_AFTER_S = 24 * 3600.0
#: What a cache file's name ends with (anything else in the folder is left alone).
CACHE_SUFFIX = ".thumb"


def mark_used(path: str | os.PathLike[str], mtime: float, now: float | None = None) -> bool:
    """Refresh a cache file's recency after a read (its mtime, when a day old or more).

    Args:
        path: The cache file just read.
        mtime: Its mtime as the reader's stat saw it (no second stat is made).
        now: The current time (tests).

    Returns:
        Whether the file was touched. Failures (a read-only cache) are ignored.
    """
    now = time.time() if now is None else now
    if now - mtime < TOUCH_AFTER_S:
        return False
    try:
        os.utime(path, (now, now))
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class PruneResult:
    """What a prune did (sizes in bytes)."""

    files: int = 0
    bytes_before: int = 0
    removed: int = 0
    bytes_removed: int = 0
    temps_removed: int = 0
    seconds: float = 0.0

    @property
    def bytes_after(self) -> int:
        """The cache's size once pruned."""
        return self.bytes_before - self.bytes_removed


def _scan(folder: Path, now: float) -> tuple[list[tuple[float, int, str]], int]:
    """(mtime, size, path) of every cache file under `folder`, and stale temp files removed."""
    entries: list[tuple[float, int, str]] = []
    temps = 0
    pending = [os.fspath(folder)]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                            continue
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_temp_file(entry.name):
                        # A writer's file in flight stays; one older than an hour was orphaned.
                        if now - st.st_mtime > STALE_TEMP_S and _unlink(entry.path):
                            temps += 1
                    elif entry.name.endswith(CACHE_SUFFIX):
                        entries.append((st.st_mtime, st.st_size, entry.path))
        except OSError as exc:  # missing, unreadable: nothing to prune there
            log.debug("cannot scan thumbnail cache folder %s: %s", current, exc)
    return entries, temps


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:  # gone already, read-only, or open elsewhere (Windows)
        return False


def prune_cache(folder: str | os.PathLike[str], limit_bytes: int = DEFAULT_LIMIT_BYTES,
                now: float | None = None) -> PruneResult:
    """Delete the least recently used cache files until the cache is under its cap.

    A cache at or under `limit_bytes` is left as it is; one over it is brought down to
    `LOW_WATER` of it, oldest mtime first. Temporary files of writes in progress are never
    touched; those older than `STALE_TEMP_S` are removed. A file read (touched) since the
    scan is skipped. Never raises for a missing or unwritable folder.

    Args:
        folder: The thumbnail cache folder.
        limit_bytes: The cap; 0 or less means no cap (only stale temp files go).
        now: The current time (tests).

    Returns:
        What was found and removed.
    """
    started = time.perf_counter()
    now = time.time() if now is None else now
    entries, temps = _scan(Path(folder), now)
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    if limit_bytes > 0 and total > limit_bytes:
        target = int(limit_bytes * LOW_WATER)
        entries.sort()
        for mtime, size, path in entries:
            if total - freed <= target:
                break
            try:
                if os.stat(path).st_mtime != mtime:
                    continue  # read (or rewritten) since the scan: recent after all
            except OSError:
                continue
            if _unlink(path):
                removed += 1
                freed += size
    result = PruneResult(len(entries), total, removed, freed, temps, time.perf_counter() - started)
    if removed or temps:
        log.info("Thumbnail cache %s: removed %d files (%.1f MB) and %d stale temporary files in %.2f s; "
                 "%.1f MB left", folder, removed, freed / 1e6, temps, result.seconds, result.bytes_after / 1e6)
    return result
