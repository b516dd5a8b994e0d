"""A full disk under the data folder: a clear error naming the database, and nothing stored lost."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.library import Library, RunPolicy, Status
from desktop_app.library.database import StoreWriteError
from tests.library.conftest import make_files


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_full_database_says_where_and_keeps_what_is_stored(media: Path, data_dir: Path) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = Library.open(media, data_dir=data_dir)
    library.record_result("a.jpg", "kept", ["kept"], {"seeds": [1]})
    pages = library.db.conn.execute("PRAGMA page_count").fetchone()[0]
    library.db.conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full disk
    with pytest.raises(StoreWriteError) as caught:
        library.record_result("b.jpg", "x" * 100_000, ["x" * 100_000], None)
    message = str(caught.value)
    assert "full" in message and str(library.db.path) in message and "kept" in message
    assert isinstance(caught.value, sqlite3.OperationalError)  # old handlers still catch it
    with pytest.raises(StoreWriteError):
        library.record_edit("a.jpg", "y" * 100_000)
    assert library.item("a.jpg").caption == "kept"  # type: ignore[union-attr]
    assert library.item("b.jpg").status is Status.PENDING  # type: ignore[union-attr]
    library.close()
    assert integrity(library.db.path) == "ok"
    with Library.open(media, data_dir=data_dir) as again:
        assert again.item("a.jpg").caption == "kept"  # type: ignore[union-attr]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 384 KiB tmpfs (needs root and a kernel that lets this container mount one)."""
    mount = shutil.which("mount")
    if mount is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run([mount, "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield point
    finally:
        if subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk` with one file; returns it (delete it to free the disk)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_really_full_disk(media: Path, tiny_disk: Path) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    data = tiny_disk / "data"
    library = Library.open(media, data_dir=data)
    library.record_result("a.jpg", "kept", ["kept"], None)
    filler = fill(tiny_disk)
    with pytest.raises(StoreWriteError) as caught:
        for _ in range(40):  # the WAL takes what it can, then the disk is full
            library.record_result("b.jpg", "x" * 8000, ["x" * 8000], None, policy=RunPolicy.OVERWRITE_ALL)
    assert "full" in str(caught.value) and str(library.db.path) in str(caught.value)
    assert library.item("a.jpg").caption == "kept"  # type: ignore[union-attr]
    library.close()  # the checkpoint frees the WAL's room again: take it too
    more = fill(tiny_disk / "data")
    try:  # opening needs room for the -wal and -shm files: a clear error if there is none
        Library.open(media, data_dir=data, sync=False).close()
    except StoreWriteError as exc:
        assert "full" in str(exc) and str(library.db.path) in str(exc)
    filler.unlink()
    more.unlink()
    with Library.open(media, data_dir=data) as again:
        assert again.item("a.jpg").caption == "kept"  # type: ignore[union-attr]
    assert integrity(library.db.path) == "ok"
