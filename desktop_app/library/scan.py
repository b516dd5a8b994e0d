"""Folder scan: find media files fast, skip hidden ones, survive symlink loops, sort naturally."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path, PurePath

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi"})
MEDIA_EXTENSIONS: frozenset[str] = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS

_DIGITS = re.compile(r"(\d+)")
_HIDDEN_ATTRIBUTE = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0)


def normalize_extensions(extensions: Iterable[str]) -> frozenset[str]:
    """Lower-case extensions with a leading dot (`"JPG"` and `".jpg"` both give `".jpg"`).

    Args:
        extensions: Extensions with or without the leading dot, any case.

    Returns:
        The normalized set.
    """
    return frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)


def natural_key(text: str) -> tuple[str | int, ...]:
    """A sort key ordering digit runs by value and ignoring case ("img2" before "img10").

    Args:
        text: One name (a file or folder name).

    Returns:
        Alternating text and integer parts; they always line up because `re.split` with a
        capturing group puts text at even positions and digit runs at odd ones.
    """
    parts = _DIGITS.split(text.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


@lru_cache(maxsize=4096)
def _folder_key(folder: str) -> tuple[tuple[str | int, ...], ...]:
    """Natural keys of the parts of a relative POSIX folder (cached: folders repeat)."""
    return tuple(natural_key(part) for part in folder.split("/")) if folder else ()


def path_sort_key(rel_path: str | PurePath) -> tuple[tuple[tuple[str | int, ...], ...], str]:
    """Natural order of a relative path, compared part by part, exact text as tie-breaker.

    Args:
        rel_path: A relative POSIX path string (`"sub/img2.jpg"`) or a pure path.

    Returns:
        A key usable with `sorted`.
    """
    text = rel_path.as_posix() if isinstance(rel_path, PurePath) else rel_path
    folder, _, name = text.rpartition("/")
    return _folder_key(folder) + (natural_key(name),), text


def is_media(name: str, extensions: frozenset[str] = MEDIA_EXTENSIONS) -> bool:
    """Whether a file name has one of `extensions` (compared lower-case).

    Args:
        name: A file name or path.
        extensions: Normalized extensions (see `normalize_extensions`).

    Returns:
        True for a media file name.
    """
    return os.path.splitext(name)[1].lower() in extensions


def _is_hidden(entry: os.DirEntry[str]) -> bool:
    """Dot-files everywhere, plus the hidden attribute on Windows (where stat is free)."""
    if entry.name.startswith("."):
        return True
    if os.name == "nt" and _HIDDEN_ATTRIBUTE:
        try:
            return bool(entry.stat().st_file_attributes & _HIDDEN_ATTRIBUTE)  # type: ignore[attr-defined]
        except OSError:
            return False
    return False


def _dir_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a directory after following links; None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def iter_media(root: Path, recursive: bool, extensions: frozenset[str]) -> Iterator[str]:
    """Yield paths (as strings) of media files under `root`, in no particular order.

    Each real directory is entered once: a symlink pointing back up the tree is seen as
    already visited, so loops end.

    Args:
        root: Folder to scan.
        recursive: Whether to descend into subfolders (symlinked ones included).
        extensions: Normalized extensions to keep.

    Yields:
        File paths under `root`.
    """
    visited: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        directory = stack.pop()
        identity = _dir_identity(directory)
        if identity is None or identity in visited:
            continue
        visited.add(identity)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if _is_hidden(entry):
                        continue
                    if recursive and entry.is_dir():
                        stack.append(entry.path)
                    elif is_media(entry.name, extensions) and entry.is_file():
                        yield entry.path
        except OSError as exc:
            log.warning("Cannot read folder %s: %s", directory, exc)


def scan_relative(root: Path, recursive: bool = False,
                  extensions: Iterable[str] = MEDIA_EXTENSIONS) -> list[str]:
    """Like `scan_folder`, but POSIX paths relative to `root` (which must be resolved).

    Strings rather than `Path` objects: pathlib costs seconds on 100,000 files.

    Args:
        root: The resolved folder.
        recursive: Whether to include subfolders.
        extensions: Extensions to keep.

    Returns:
        Relative paths such as `"sub/img2.jpg"`, in natural order.
    """
    found = iter_media(root, recursive, normalize_extensions(extensions))
    offset = len(str(root).rstrip(os.sep) + os.sep)
    relative = [path[offset:] for path in found]
    if os.sep != "/":
        relative = [rel.replace(os.sep, "/") for rel in relative]
    relative.sort(key=path_sort_key)
    return relative


def scan_folder(
    root: str | os.PathLike[str],
    recursive: bool = False,
    extensions: Iterable[str] = MEDIA_EXTENSIONS,
) -> list[Path]:
    """List the media files of a folder in natural order.

    Hidden files and folders (names starting with a dot) are skipped, extensions match in
    any case, non-media files are ignored. No file is stat'ed beyond what `os.scandir`
    needs to tell files from folders.

    Args:
        root: The folder to scan.
        recursive: Whether to include subfolders.
        extensions: Extensions to keep (default: every image and video type).

    Returns:
        Absolute paths, naturally sorted by their path relative to `root`.

    Raises:
        NotADirectoryError: If `root` is not a folder.
    """
    base = Path(root).resolve()
    if not base.is_dir():
        raise NotADirectoryError(f"Not a folder: {base}")
    return [base / rel for rel in scan_relative(base, recursive, extensions)]
