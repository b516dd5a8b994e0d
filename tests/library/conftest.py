"""Fixtures for the library tests: a private data folder, media folders, read-only folders."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop_app.library import Library
from desktop_app.library.database import DATA_DIR_ENV


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (4, 4)) -> bytes:
    """A tiny valid PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_files(root: Path, names: list[str], content: bytes = b"") -> list[Path]:
    """Create files (and their folders) under `root`."""
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    return paths


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder for the databases, also set through the environment variable."""
    path = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(path))
    return path


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """An empty media folder."""
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture
def open_library(data_dir: Path) -> Iterator[Callable[..., Library]]:
    """Open libraries in the private data folder; all are closed at the end of the test."""
    opened: list[Library] = []

    def _open(root: Path, **kwargs: object) -> Library:
        library = Library.open(root, data_dir=data_dir, **kwargs)  # type: ignore[arg-type]
        opened.append(library)
        return library

    yield _open
    for library in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            library.close()


def _inside(path: object, folder: Path) -> bool:
    """Whether `path` is `folder` or below it."""
    try:
        Path(os.fspath(path)).resolve().relative_to(folder.resolve())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


@pytest.fixture
def make_read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a folder read-only.

    chmod, plus (when running as root, whom chmod does not stop) refusals to create temp
    files and subfolders below it.
    """
    folders: list[Path] = []
    real_mkstemp, real_mkdir = tempfile.mkstemp, os.mkdir

    def mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        target = kwargs.get("dir")
        if any(_inside(target, f) for f in folders):
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real_mkstemp(*args, **kwargs)  # type: ignore[arg-type]

    def mkdir(path: object, *args: object, **kwargs: object) -> None:
        if any(_inside(path, f) for f in folders) and not os.path.isdir(os.fspath(path)):  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    def _make(folder: Path) -> None:
        folders.append(folder)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "mkdir", mkdir)
    yield _make
    for folder in folders:
        folder.chmod(stat.S_IRWXU)


def tree(root: Path) -> dict[str, bytes]:
    """Every file below `root` with its content (to check nothing else changed)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
