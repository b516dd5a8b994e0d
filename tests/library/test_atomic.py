"""Atomic writes: the old file stays whole on failure, no temp file is left, clear errors."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import AtomicWriteError, atomic_write_bytes, atomic_write_text
from desktop_app.library.atomic import is_temp_file


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if is_temp_file(p.name)]


def test_write_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second ✓\nline")
    assert target.read_bytes() == "second ✓\nline".encode()
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert leftovers(tmp_path) == []


def test_no_newline_translation(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    atomic_write_text(target, "a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_existing_permissions_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_full_disk_during_replace_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old content, whole")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(AtomicWriteError) as info:
        atomic_write_text(target, "new content")
    assert info.value.errno == errno.ENOSPC and "a.txt" in str(info.value)
    assert target.read_text() == "old content, whole"
    assert leftovers(tmp_path) == []


def test_full_disk_during_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    real_write = os.write
    calls = {"n": 0}

    def half_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:3]))  # a short write first, then the disk fills
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(target, b"0123456789")
    assert info.value.errno == errno.ENOSPC
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_interrupt_removes_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "x")
    assert not target.exists() and leftovers(tmp_path) == []


def test_read_only_folder_gives_clear_error(tmp_path: Path, make_read_only: Callable[[Path], None]) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "a.txt").write_text("old")
    make_read_only(folder)
    with pytest.raises(PermissionError) as info:
        atomic_write_text(folder / "a.txt", "new")
    assert info.value.filename == str(folder / "a.txt")
    assert "read-only" in str(info.value)
    assert (folder / "a.txt").read_text() == "old"
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_text(tmp_path / "nope" / "a.txt", "x")
    assert info.value.filename == str(tmp_path / "nope" / "a.txt")
