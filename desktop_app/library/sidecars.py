"""Sidecar caption files: naming (with the duplicate-base-name rule), reading and stat'ing.

Naming: `photo.jpg` -> `photo.txt`, the name kohya, OneTrainer and taggui expect. When two
media files in one folder share a base name (`a.jpg` and `a.png`), both would map to
`a.txt`; those files, and only those, use their full name instead: `a.jpg.txt`, `a.png.txt`.
Names are compared case-insensitively, because `A.txt` and `a.txt` are one file on Windows
and macOS.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop_app.library.scan import is_media

log = logging.getLogger(__name__)

SIDECAR_EXTENSIONS: tuple[str, ...] = (".txt", ".caption")
DEFAULT_SIDECAR_EXTENSION = ".txt"


def normalize_sidecar_ext(ext: str) -> str:
    """Return `ext` with a leading dot, refusing names that are not a plain extension.

    Args:
        ext: For example ".txt", "txt" or ".caption".

    Returns:
        The extension with its dot.

    Raises:
        ValueError: If `ext` is empty or contains a path separator.
    """
    ext = ext if ext.startswith(".") else f".{ext}"
    if len(ext) < 2 or "/" in ext or "\\" in ext or ext in {".", ".."}:
        raise ValueError(f"Not a file extension: {ext!r}")
    return ext


def sidecar_bases(media_names: Iterable[str]) -> dict[str, str]:
    """Map each media file name of one folder to the base name of its sidecar.

    The base is the name without its suffix, except for names that would collide: those
    keep their full name. A full name can itself collide with another file's short base
    (`a.jpg` full vs `a.jpg.png` short), so the rule is applied until nothing collides.

    Args:
        media_names: File names (not paths) of the media files in one folder.

    Returns:
        `{media name: sidecar base}`; append the extension to get the sidecar's name.
    """
    names = list(dict.fromkeys(media_names))
    full: set[str] = set()
    while True:
        bases = {n: n if n in full else os.path.splitext(n)[0] for n in names}
        counts = Counter(b.casefold() for b in bases.values())
        clashing = {n for n, b in bases.items() if counts[b.casefold()] > 1} - full
        if not clashing:
            return bases
        full |= clashing


# {folder: (listed at, its mtime_ns, {media name: sidecar base})}. `sidecar_path` called
# once per file of a 100,000-file folder must not list the folder each time, and writing
# sidecars changes the folder's mtime, so a listing is also trusted for a short while.
_FOLDER_CACHE: dict[str, tuple[float, int, dict[str, str]]] = {}
_FOLDER_CACHE_SIZE = 64
_FOLDER_CACHE_SECONDS = 1.0


def clear_sidecar_cache() -> None:
    """Forget cached folder listings (after adding or removing media files, in tests)."""
    _FOLDER_CACHE.clear()


def _folder_bases(directory: Path) -> dict[str, str]:
    """Sidecar bases of the visible media files in `directory`, from a recent listing."""
    key = str(directory)
    try:
        mtime = os.stat(key).st_mtime_ns
        cached = _FOLDER_CACHE.get(key)
        now = time.monotonic()
        if cached is not None and (cached[1] == mtime or now - cached[0] < _FOLDER_CACHE_SECONDS):
            return cached[2]
        with os.scandir(key) as entries:
            names = [e.name for e in entries if not e.name.startswith(".") and is_media(e.name)]
    except OSError:
        return {}
    if len(_FOLDER_CACHE) >= _FOLDER_CACHE_SIZE:
        _FOLDER_CACHE.clear()
    bases = sidecar_bases(names)
    _FOLDER_CACHE[key] = (now, mtime, bases)
    return bases


def sidecar_path(
    media_path: str | os.PathLike[str],
    ext: str = DEFAULT_SIDECAR_EXTENSION,
    siblings: Iterable[str] | None = None,
) -> Path:
    """The sidecar file of a media file, with the duplicate-base-name rule applied.

    Args:
        media_path: The image or video.
        ext: The sidecar extension (".txt", ".caption", ...).
        siblings: Names of the media files in the same folder. When None they are read
            from disk, from a listing cached while the folder's mtime is unchanged or for
            up to a second: pass them when the folder may have just changed.

    Returns:
        `photo.txt` for `photo.jpg`, or `a.jpg.txt` when another media file `a.*` exists.
    """
    media = Path(media_path)
    suffix = normalize_sidecar_ext(ext)
    if siblings is None:
        base = _folder_bases(media.parent).get(media.name)
        if base is not None:
            return media.with_name(base + suffix)
        names = list(_folder_bases(media.parent))
    else:
        names = list(siblings)
    if media.name not in names:
        names.append(media.name)
    return media.with_name(sidecar_bases(names)[media.name] + suffix)


@dataclass(frozen=True)
class FileStamp:
    """Size and modification time of a file: what tells us another tool changed it."""

    size: int
    mtime_ns: int


def stamp_of(path: str | os.PathLike[str]) -> FileStamp | None:
    """The stamp of a file, or None when it does not exist (or is not a regular file).

    Args:
        path: The file.

    Returns:
        Its size and mtime in nanoseconds.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return FileStamp(st.st_size, st.st_mtime_ns)


def read_sidecar(path: str | os.PathLike[str]) -> str:
    """Read a caption file: UTF-8 (a BOM is dropped), trailing line breaks removed.

    Undecodable bytes are replaced rather than failing, so one odd file cannot stop a
    folder from opening.

    Args:
        path: The sidecar file.

    Returns:
        The caption text.
    """
    data = Path(path).read_bytes()
    return data.decode("utf-8-sig", errors="replace").rstrip("\r\n")



def text_digest(text: str) -> str:
    """A digest of a caption as `read_sidecar` gives it back (trailing line breaks dropped).

    Args:
        text: What was (or will be) written to a sidecar.

    Returns:
        The hex SHA-1 of its UTF-8 bytes.
    """
    return hashlib.sha1(text.rstrip("\r\n").encode("utf-8", "surrogatepass")).hexdigest()
