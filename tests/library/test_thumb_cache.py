"""Pruning the thumbnail disk cache: size cap, least recently used first, temp files spared."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from desktop_app.library import thumb_cache
from desktop_app.library.atomic import write_cache_file

NOW = 2_000_000_000.0
DAY = 24 * 3600.0


def put(folder: Path, name: str, size: int, age_s: float, shard: str = "ab") -> Path:
    """A cache file of `size` bytes last used `age_s` seconds before NOW."""
    path = folder / shard / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def test_a_cache_over_its_cap_loses_its_oldest_files_first(tmp_path: Path) -> None:
    files = [put(tmp_path, f"{i:040x}.thumb", 1000, age_s=(10 - i) * DAY, shard=f"{i % 3:02x}")
             for i in range(10)]  # files[0] is the oldest, files[9] the newest
    result = thumb_cache.prune_cache(tmp_path, limit_bytes=5500, now=NOW)
    # Over the cap (10 000 > 5 500): down to 90% of it (4 950 bytes), i.e. 4 files kept.
    assert result.bytes_before == 10_000 and result.removed == 6 and result.bytes_after == 4000
    assert [f.exists() for f in files] == [False] * 6 + [True] * 4
    assert sum(f.stat().st_size for f in tmp_path.rglob("*.thumb")) < 5500


def test_a_cache_under_its_cap_is_left_alone(tmp_path: Path) -> None:
    files = [put(tmp_path, f"{i}.thumb", 1000, age_s=400 * DAY) for i in range(5)]
    result = thumb_cache.prune_cache(tmp_path, limit_bytes=5000, now=NOW)
    assert result.removed == 0 and result.files == 5 and all(f.exists() for f in files)
    assert thumb_cache.prune_cache(tmp_path, limit_bytes=0, now=NOW).removed == 0  # 0: no cap


def test_temp_files_in_flight_survive_and_stale_ones_go(tmp_path: Path) -> None:
    put(tmp_path, "old.thumb", 5000, age_s=DAY)
    fresh = put(tmp_path, ".~cs-abc123.tmp", 5000, age_s=60)
    stale = put(tmp_path, ".~cs-def456.tmp", 5000, age_s=2 * 3600)
    other = put(tmp_path, "notes.txt", 5000, age_s=100 * DAY)  # not ours: never touched
    result = thumb_cache.prune_cache(tmp_path, limit_bytes=1000, now=NOW)
    assert result.removed == 1 and result.temps_removed == 1
    assert fresh.exists() and not stale.exists() and other.exists()
    assert not (tmp_path / "ab" / "old.thumb").exists()


def test_a_file_read_since_the_scan_is_spared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = put(tmp_path, "old.thumb", 1000, age_s=3 * DAY)
    newer = put(tmp_path, "newer.thumb", 1000, age_s=2 * DAY)
    real_scan = thumb_cache._scan

    def scan_then_read(folder: Path, now: float):  # noqa: ANN202 - the reader touches `old` mid-prune
        found = real_scan(folder, now)
        thumb_cache.mark_used(old, NOW - 3 * DAY, now=NOW)
        return found

    monkeypatch.setattr(thumb_cache, "_scan", scan_then_read)
    thumb_cache.prune_cache(tmp_path, limit_bytes=1500, now=NOW)
    assert old.exists() and not newer.exists()


def test_mark_used_refreshes_old_files_only(tmp_path: Path) -> None:
    old = put(tmp_path, "old.thumb", 10, age_s=2 * DAY)
    recent = put(tmp_path, "recent.thumb", 10, age_s=60)
    assert thumb_cache.mark_used(old, old.stat().st_mtime, now=NOW)
    assert old.stat().st_mtime == NOW
    assert not thumb_cache.mark_used(recent, recent.stat().st_mtime, now=NOW)
    assert recent.stat().st_mtime == NOW - 60
    assert not thumb_cache.mark_used(tmp_path / "gone.thumb", 0.0, now=NOW)  # no error


def test_a_missing_folder_prunes_nothing(tmp_path: Path) -> None:
    result = thumb_cache.prune_cache(tmp_path / "nowhere", limit_bytes=1, now=NOW)
    assert result.files == 0 and result.removed == 0


def test_files_that_cannot_be_deleted_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [put(tmp_path, f"{i}.thumb", 1000, age_s=i * DAY) for i in range(3)]

    def refuse(path: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(thumb_cache.os, "unlink", refuse)
    result = thumb_cache.prune_cache(tmp_path, limit_bytes=100, now=NOW)
    assert result.removed == 0 and result.files == 3 and all(f.exists() for f in files)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_an_unwritable_folder_prunes_nothing_and_does_not_raise(tmp_path: Path) -> None:
    files = [put(tmp_path, f"{i}.thumb", 1000, age_s=i * DAY) for i in range(3)]
    shard = tmp_path / "ab"
    shard.chmod(0o555)
    try:
        result = thumb_cache.prune_cache(tmp_path, limit_bytes=100, now=NOW)
        assert result.removed == 0 and all(f.exists() for f in files)
        shard.chmod(0o000)  # unreadable too
        assert thumb_cache.prune_cache(tmp_path, limit_bytes=100, now=NOW).files == 0
    finally:
        shard.chmod(0o755)


def test_pruning_20k_small_files_is_quick(tmp_path: Path) -> None:
    payload = b"x" * 2048
    for i in range(20_000):
        write_cache_file(tmp_path / f"{i % 256:02x}" / f"{i:040x}.thumb", payload)
    started = time.perf_counter()
    result = thumb_cache.prune_cache(tmp_path, limit_bytes=20_000 * 2048 // 2)
    elapsed = time.perf_counter() - started
    print(f"pruned {result.removed} of {result.files} files in {elapsed:.2f} s")
    assert result.files == 20_000 and result.bytes_after <= 20_000 * 2048 // 2
    assert elapsed < 30  # about 0.3 s here; generous for a loaded machine
