"""The thumbnail cache in use: reads refresh recency; the window prunes it once, off the GUI thread."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from desktop_app.library import thumb_cache
from desktop_app.ui import thumb_pruner, video_thumbs
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.thumbnails import THUMB_SIZE, make_thumbnail

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

OLD = 1_000_000_000.0  # 2001


def only_cache_file(cache: Path) -> Path:
    files = list(cache.rglob("*.thumb"))
    assert len(files) == 1
    return files[0]


def test_reading_a_cached_thumbnail_refreshes_its_recency(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(image)
    cache = tmp_path / "thumbs"
    make_thumbnail(os.fspath(image), THUMB_SIZE, cache)
    cached = only_cache_file(cache)
    os.utime(cached, (OLD, OLD))
    assert not make_thumbnail(os.fspath(image), THUMB_SIZE, cache).isNull()  # served from the cache
    assert cached.stat().st_mtime > OLD + 3600 * 24 * 365


def test_reading_a_cached_poster_refreshes_its_recency(tmp_path: Path) -> None:
    cached = tmp_path / "ab" / "poster.thumb"
    cached.parent.mkdir()
    video_thumbs.write_cached_poster(os.fspath(cached), Image.new("RGB", (32, 18), "red"), 7.5)
    os.utime(cached, (OLD, OLD))
    poster = video_thumbs.read_cached_poster(os.fspath(cached))
    assert poster is not None and poster.duration == 7.5
    assert cached.stat().st_mtime > OLD + 3600 * 24 * 365


def test_limit_setting(tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert thumb_pruner.cache_limit_bytes(settings) == thumb_cache.DEFAULT_LIMIT_BYTES
    settings.setValue(thumb_pruner.LIMIT_KEY, 300)
    assert thumb_pruner.cache_limit_bytes(settings) == 300 * 1024 * 1024
    settings.setValue(thumb_pruner.LIMIT_KEY, "lots")
    assert thumb_pruner.cache_limit_bytes(settings) == thumb_cache.DEFAULT_LIMIT_BYTES


def test_the_window_prunes_once_after_the_first_folder_opens(qtbot: Any, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue(thumb_pruner.LIMIT_KEY, 1)  # 1 MB
    window = MainWindow(settings, data_dir=tmp_path / "data")
    qtbot.addWidget(window)
    cache = window.loader.cache_dir
    assert cache == tmp_path / "data" / "thumbnails"
    old = []
    for i in range(12):  # 12 x 100 kB, last used 12..1 days ago
        path = cache / f"{i:02x}" / f"{i:040x}.thumb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100_000)
        os.utime(path, (OLD + i, OLD + i))
        old.append(path)
    pruner = thumb_pruner.schedule_pruning(window, delay_ms=60_000)
    assert pruner is not None and not pruner.started
    folder = tmp_path / "set"
    folder.mkdir()
    Image.new("RGB", (16, 12), "blue").save(folder / "x.png")
    gui_thread = threading.current_thread()
    with qtbot.waitSignal(pruner.finished, timeout=15_000) as blocker:
        window.open_folder(folder)
    result = blocker.args[0]
    assert threading.current_thread() is gui_thread
    assert result.removed == 3 and [p.exists() for p in old] == [False] * 3 + [True] * 9
    assert pruner.started and not pruner.start()  # once per start
    window.close()
