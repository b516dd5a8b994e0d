"""Video in the window: poster tiles with their duration, broken videos, the panel's player.

Videos are encoded in the test with PyAV (no binary fixtures); their frames fade from red to
blue, so the colour of a shown frame tells its time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication

from desktop_app.engine import video as engine_video
from desktop_app.testing.videos import write_audio_only
from desktop_app.ui import style, video_thumbs
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.media_model import MediaListModel, Roles
from desktop_app.ui.settings_panel import RunSettings
from desktop_app.ui.thumbnails import ThumbnailLoader
from desktop_app.ui.video_preview import FRAME_EDGE, QWIDGETSIZE_MAX
from desktop_app.ui.video_thumbs import format_duration

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


# -- helpers --------------------------------------------------------------------------------
def make_video(path: Path, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               codec: str = "mpeg4") -> Path:
    """A clip fading from red (first frame) to blue (last frame)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(seconds * fps))
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            t = i / max(1, frames - 1)
            rgb = np.empty((size[1], size[0], 3), np.uint8)
            rgb[:] = (round(255 * (1 - t)), 40, round(255 * t))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def centre(pixmap: QPixmap | QImage) -> tuple[int, int, int]:
    image = pixmap.toImage() if isinstance(pixmap, QPixmap) else pixmap
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return colour.red(), colour.green(), colour.blue()


def is_red(rgb: tuple[int, int, int]) -> bool:
    return rgb[0] > 180 and rgb[2] < 80


def is_blue(rgb: tuple[int, int, int]) -> bool:
    return rgb[2] > 180 and rgb[0] < 80


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    """A folder with two images, a 3 s clip, a 62 s clip and two broken videos."""
    folder = tmp_path / "media"
    folder.mkdir()
    paths = {"image": folder / "a_photo.png", "image2": folder / "b_photo.jpg"}
    Image.new("RGB", (64, 48), (20, 160, 60)).save(paths["image"])
    Image.new("RGB", (48, 64), (200, 200, 40)).save(paths["image2"])
    paths["clip"] = make_video(folder / "c_clip.mp4")
    paths["long"] = make_video(folder / "d_long.mkv", seconds=62, fps=2, size=(64, 36), codec="libx264")
    paths["broken"] = folder / "e_broken.mp4"
    paths["broken"].write_bytes(b"\x00\x00\x00\x18ftypmp42 cut off here")
    paths["fake"] = folder / "f_fake.webm"
    paths["fake"].write_text("this is a text file", encoding="utf-8")
    paths["audio"] = write_audio_only(folder / "g_sound.mp4")
    return paths


@pytest.fixture
def loader(tmp_path: Path, qtbot: Any) -> Iterator[ThumbnailLoader]:
    made = ThumbnailLoader(cache_dir=tmp_path / "thumbs")
    yield made
    made.shutdown()


@pytest.fixture
def window(qtbot: Any, qapp: QApplication, tmp_path: Path, tiny_model_dir: Path) -> Iterator[MainWindow]:
    style.apply_theme(qapp)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("run/settings", RunSettings(model=str(tiny_model_dir), device="cpu",
                                                  dtype="fp32").to_json())
    win = MainWindow(settings, data_dir=tmp_path / "data")
    qtbot.addWidget(win)
    win.resize(1300, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert win.loader._pool.activeThreadCount() == 0
    assert win.caption_panel.video_player.decoder.active_threads() == 0


def wait_thumbnails(qtbot: Any, loader: ThumbnailLoader, paths: list[Path]) -> None:
    qtbot.waitUntil(lambda: all(loader.pixmap(p) is not None for p in paths), timeout=20_000)


# -- plain helpers ----------------------------------------------------------------------------
@pytest.mark.parametrize("seconds,text", [(0, "0:00"), (0.4, "0:00"), (12.9, "0:12"), (62, "1:02"),
                                          (3723, "1:02:03"), (-1, "0:00")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_poster_is_taken_a_tenth_in_or_at_the_start_of_short_clips() -> None:
    assert video_thumbs.poster_time(60) == pytest.approx(6)
    assert video_thumbs.poster_time(1.5) == 0


# -- thumbnails -------------------------------------------------------------------------------
def test_video_posters_are_decoded_off_the_gui_thread_with_their_duration(
        qtbot: Any, monkeypatch: Any, loader: ThumbnailLoader, media: dict[str, Path]) -> None:
    threads: set[int] = set()
    real = video_thumbs.decode_poster

    def decode(path: str, size: int) -> tuple[Image.Image, float]:
        threads.add(threading.get_ident())
        return real(path, size)

    monkeypatch.setattr(video_thumbs, "decode_poster", decode)
    videos = [media["clip"], media["long"], media["broken"], media["fake"], media["audio"]]
    for path in videos:
        loader.request(path)
    wait_thumbnails(qtbot, loader, videos)
    assert threads and threading.get_ident() not in threads
    broken = loader.broken_pixmap().cacheKey()
    clip = loader.pixmap(media["clip"])
    assert clip.cacheKey() != broken and (clip.width(), clip.height()) == (160, 120)
    assert loader.duration(media["clip"]) == pytest.approx(3.0, abs=0.15)
    assert loader.duration(media["long"]) == pytest.approx(62, abs=1)
    red, _, blue = centre(clip)  # the frame 0.3 s in (of 3 s): 10% of the way to blue
    assert abs(red - 229) < 20 and abs(blue - 26) < 20
    for bad in (media["broken"], media["fake"], media["audio"]):
        assert loader.pixmap(bad).cacheKey() == broken
        assert loader.duration(bad) is None
        assert loader.error(bad) and str(bad) not in loader.error(bad)  # the reason alone
    assert "truncated" in loader.error(media["broken"]) or "corrupt" in loader.error(media["broken"])
    assert "no video stream" in loader.error(media["audio"])


def test_a_second_loader_reads_poster_and_duration_from_the_disk_cache(
        qtbot: Any, monkeypatch: Any, tmp_path: Path, media: dict[str, Path]) -> None:
    decoded: list[str] = []
    real = video_thumbs.decode_poster
    monkeypatch.setattr(video_thumbs, "decode_poster", lambda p, s: decoded.append(p) or real(p, s))
    loaders = [ThumbnailLoader(cache_dir=tmp_path / "thumbs") for _ in range(2)]
    try:
        for loader in loaders:
            loader.request(media["long"])
            wait_thumbnails(qtbot, loader, [media["long"]])
        assert decoded == [str(media["long"])]  # the second came from the disk cache
        first, second = (loader.pixmap(media["long"]) for loader in loaders)
        assert (second.width(), second.height()) == (first.width(), first.height())
        assert loaders[1].duration(media["long"]) == loaders[0].duration(media["long"])
    finally:
        for loader in loaders:
            loader.shutdown()


def test_model_gives_duration_and_a_tooltip_with_the_reason(
        qtbot: Any, loader: ThumbnailLoader, media: dict[str, Path]) -> None:
    from desktop_app.ui.media_model import MediaItem

    model = MediaListModel(loader)
    model.set_items([MediaItem(path=p, rel=p.name) for p in (media["clip"], media["broken"], media["image"])])
    for row in range(3):
        model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole)  # asks for thumbnails
    with qtbot.waitSignal(model.dataChanged, timeout=20_000,
                          check_params_cb=lambda top, bottom, roles: top.row() == 1):
        pass
    wait_thumbnails(qtbot, loader, [media["clip"], media["broken"], media["image"]])
    clip, broken, image = (model.index(row, 0) for row in range(3))
    assert clip.data(Roles.DurationRole) == pytest.approx(3.0, abs=0.15)
    assert "Video, 0:03" in clip.data(Qt.ItemDataRole.ToolTipRole)
    assert broken.data(Roles.DurationRole) is None
    assert "Cannot show:" in broken.data(Qt.ItemDataRole.ToolTipRole)
    assert image.data(Roles.DurationRole) is None
    assert "Cannot show" not in image.data(Qt.ItemDataRole.ToolTipRole)


# -- the window -------------------------------------------------------------------------------
def test_window_shows_video_tiles_and_plays_and_scrubs_in_the_panel(
        qtbot: Any, window: MainWindow, media: dict[str, Path], monkeypatch: Any) -> None:
    chunks: list[tuple[float, float]] = []
    real_sample = engine_video.sample_frames

    def sample(path: Any, **kwargs: Any) -> Any:
        chunks.append((kwargs["start"], kwargs["end"]))
        return real_sample(path, **kwargs)

    monkeypatch.setattr(engine_video, "sample_frames", sample)
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        window.open_folder(media["clip"].parent)
    assert window.model.rowCount() == 7
    all_paths = [media[k] for k in ("image", "image2", "clip", "long", "broken", "fake", "audio")]
    window.grid.viewport().repaint()
    wait_thumbnails(qtbot, window.loader, all_paths)
    loader, broken = window.loader, window.loader.broken_pixmap().cacheKey()
    tile = window.model.index_of(media["clip"])
    assert tile.data(Qt.ItemDataRole.DecorationRole).cacheKey() != broken
    assert tile.data(Roles.DurationRole) == pytest.approx(3.0, abs=0.15)
    assert window.model.index_of(media["long"]).data(Roles.DurationRole) == pytest.approx(62, abs=1)
    bad = window.model.index_of(media["broken"])
    assert bad.data(Qt.ItemDataRole.DecorationRole).cacheKey() == broken
    assert loader.error(media["broken"]) in bad.data(Qt.ItemDataRole.ToolTipRole)

    panel, player = window.caption_panel, window.caption_panel.video_player
    shown: list[float] = []
    player.frame_shown.connect(shown.append)
    window.select_paths([media["clip"]])
    assert panel.path == media["clip"] and player.isVisible()
    qtbot.waitUntil(lambda: player.info is not None and bool(shown), timeout=10_000)
    assert is_red(centre(panel.preview.pixmap()))  # the first frame
    meta = panel.meta_label.text()
    assert "0:03" in meta and "10 fps" in meta and "160 × 120" in meta
    assert player.time_label.text() == "0:00 / 0:03"
    # The frame view takes the clip's shape, so the controls sit right under the frame.
    assert abs(panel.preview.maximumHeight() - panel.preview.width() * 120 / 160) <= 3

    with qtbot.waitSignal(player.frame_shown, timeout=10_000):
        player.slider.setValue(player.slider.maximum())  # as a user dragging to the end
    assert is_blue(centre(panel.preview.pixmap()))
    assert player.time_label.text() == "0:03 / 0:03"

    with qtbot.waitSignal(player.frame_shown, timeout=10_000):
        player.seek(1.5)
    middle = centre(panel.preview.pixmap())
    assert not is_red(middle) and not is_blue(middle)

    player.slider.setFocus()
    qtbot.keyClick(player.slider, Qt.Key.Key_Space)  # Space on the slider plays and pauses
    assert player.is_playing()
    qtbot.keyClick(player.slider, Qt.Key.Key_Space)
    assert not player.is_playing()

    player.seek(0.0)
    qtbot.waitUntil(lambda: player._shown == player._asked and shown[-1] == 0.0, timeout=10_000)
    shown.clear()
    chunks.clear()
    player.play_button.click()
    assert player.is_playing()
    qtbot.waitUntil(lambda: not player.is_playing(), timeout=15_000)  # stops at the end
    assert len(shown) >= 8  # stepped through ~3 s at ~10 frames/s, frames in order
    assert shown == sorted(shown) and shown[-1] == pytest.approx(3.0, abs=0.2)
    assert 3 <= len(chunks) <= 5 and chunks[0] == (0.0, 1.0)  # decoded a second at a time
    qtbot.waitUntil(lambda: shown[-1] == pytest.approx(3.0), timeout=10_000)  # paused: full size
    assert is_blue(centre(panel.preview.pixmap()))

    window.select_paths([media["broken"]])  # a broken video: the reason, no controls
    qtbot.waitUntil(lambda: "Cannot play this video" in panel.preview._text, timeout=10_000)
    assert panel.preview.pixmap() is None and not player.isVisible()

    window.select_paths([media["long"]])  # the next video shows its controls again
    qtbot.waitUntil(lambda: player.isVisible() and player.play_button.isEnabled(), timeout=10_000)
    assert player.time_label.text() == "0:00 / 1:02"

    window.select_paths([media["image"]])  # images keep the image preview
    assert not player.isVisible()
    qtbot.waitUntil(lambda: "64 × 48" in panel.meta_label.text(), timeout=10_000)  # decoded
    assert centre(panel.preview.pixmap()) == (20, 160, 60)
    assert "fps" not in panel.meta_label.text()
    assert panel.preview.maximumHeight() == QWIDGETSIZE_MAX


def test_scrubbing_drops_stale_frame_requests(qtbot: Any, window: MainWindow, media: dict[str, Path],
                                              monkeypatch: Any) -> None:
    calls: list[float] = []
    real = engine_video.read_frame_at

    def slow(path: Any, seconds: float, max_side: int | None = None) -> Image.Image:
        if max_side != FRAME_EDGE:  # a poster for the grid
            return real(path, seconds, max_side)
        calls.append(seconds)
        time.sleep(0.05)
        return real(path, seconds, max_side)

    monkeypatch.setattr(engine_video, "read_frame_at", slow)
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        window.open_folder(media["clip"].parent)
    window.select_paths([media["clip"]])
    player = window.caption_panel.video_player
    qtbot.waitUntil(lambda: player.info is not None, timeout=10_000)
    qtbot.waitUntil(lambda: len(calls) == 1 and player._shown == player._asked, timeout=10_000)
    for ms in range(0, 3000, 100):  # 30 slider moves faster than frames decode
        player.slider.setValue(ms)
    with qtbot.waitSignal(player.frame_shown, timeout=10_000,
                          check_params_cb=lambda seconds: seconds == pytest.approx(2.9)):
        pass
    assert len(calls) <= 4  # the first, maybe one in flight, the last: the rest were dropped
    assert calls[-1] == pytest.approx(2.9)


def test_video_tiles_paint_a_badge_on_the_poster(qtbot: Any, loader: ThumbnailLoader,
                                                  media: dict[str, Path]) -> None:
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    from desktop_app.ui.grid import TileDelegate
    from desktop_app.ui.media_model import MediaItem

    model = MediaListModel(loader)
    model.set_items([MediaItem(path=p, rel=p.name) for p in (media["clip"], media["image"])])
    for row in range(2):
        loader.request(model.item(row).path)
    wait_thumbnails(qtbot, loader, [media["clip"], media["image"]])
    delegate = TileDelegate(None, 168)

    def tile(row: int) -> QImage:
        image = QImage(168, delegate.tile_height(), QImage.Format.Format_RGB32)
        image.fill(0)
        option = QStyleOptionViewItem()
        option.rect = image.rect()
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(row, 0))
        painter.end()
        return image

    video, photo = tile(0), tile(1)
    # The 160x120 poster fills the 160x120 thumbnail box at (4, 4); the badge sits bottom-left.
    poster = video.pixelColor(150, 60)
    badge = video.pixelColor(10, 112)
    assert poster.red() > 180 and badge.red() < poster.red() - 60  # a dark pill over the poster
    white = [video.pixelColor(x, y).lightness() for x in range(8, 70) for y in range(100, 122)]
    assert max(white) > 200  # the glyph and "0:03"
    assert photo.pixelColor(10, 112).red() < 60 and photo.pixelColor(10, 112).green() > 120  # no badge
