"""The settings panel's Video section and Backend fields, and the window's video request.

A run on the tiny random Qwen3-VL checks that the window's request reaches the engine's frame
sampler with the chosen fps, frame limit and trim; its captions are never read.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import av
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop_app.engine import video_input
from desktop_app.engine.types import VideoOptions
from desktop_app.ui import style
from desktop_app.ui.main_window import MainWindow
from desktop_app.ui.settings_panel import SETTINGS_KEY, RunSettings, SettingsPanel
from desktop_app.ui.video_settings import video_tokens

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]


def make_video(path: Path, seconds: float = 4.0, fps: int = 10) -> Path:
    """A small grey clip (PyAV), `seconds` long."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(round(seconds * fps)):
            rgb = np.full((64, 96, 3), 40 + 4 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def ini(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def panel(qtbot: Any, tmp_path: Path) -> SettingsPanel:
    made = SettingsPanel(ini(tmp_path), data_dir=tmp_path / "data")
    qtbot.addWidget(made)
    return made


def set_video(panel: SettingsPanel, fps: float, frames: int, start: float, end: float) -> None:
    v = panel.video_settings
    v.fps_spin.setValue(fps)
    v.frames_spin.setValue(frames)
    v.start_spin.setValue(start)
    v.end_spin.setValue(end)


# -- the Video section ----------------------------------------------------------------------
def test_video_widgets_round_trip_through_qsettings(qtbot: Any, tmp_path: Path, panel: SettingsPanel) -> None:
    set_video(panel, 0.75, 120, 1.5, 9.0)
    s = panel.settings()
    assert (s.video_fps, s.video_max_frames, s.video_start, s.video_end) == (0.75, 120, 1.5, 9.0)
    assert s.video() == VideoOptions(fps=0.75, max_frames=120, start=1.5, end=9.0)
    panel.save()
    again = SettingsPanel(ini(tmp_path), data_dir=tmp_path / "data")
    qtbot.addWidget(again)
    assert again.settings() == s
    v = again.video_settings
    assert (v.fps_spin.value(), v.frames_spin.value(), v.start_spin.value(), v.end_spin.value()) == (0.75, 120, 1.5, 9.0)
    request = again.settings().request([tmp_path / "clip.mp4"])
    assert request.video == VideoOptions(fps=0.75, max_frames=120, start=1.5, end=9.0)
    request.video.validate()


def test_zero_trim_means_the_whole_video(panel: SettingsPanel, tmp_path: Path) -> None:
    set_video(panel, 2.0, 64, 0.0, 0.0)
    assert panel.video_settings.start_spin.text() == "Start"
    assert panel.video_settings.end_spin.text() == "End"
    video = panel.settings().request([tmp_path / "clip.mp4"]).video
    assert video == VideoOptions(fps=2.0, max_frames=64, start=None, end=None)
    set_video(panel, 2.0, 64, 3.0, 0.0)  # from 3 s to the end
    assert panel.settings().video() == VideoOptions(start=3.0, end=None)
    assert panel.problem() == ""


def test_video_ranges_follow_the_spin_boxes(panel: SettingsPanel) -> None:
    v = panel.video_settings
    set_video(panel, 20.0, 2000, -1.0, 0.0)
    assert (v.fps_spin.value(), v.frames_spin.value(), v.start_spin.value()) == (8.0, 768, 0.0)
    set_video(panel, 0.1, 1, 0.0, 0.0)
    assert (v.fps_spin.value(), v.frames_spin.value()) == (0.25, 4)
    v.fps_spin.stepBy(1)
    assert v.fps_spin.value() == 0.5


@pytest.mark.parametrize("stored", [
    {"model": "m"},  # saved before the Video section existed
    {"model": "m", "video_fps": "fast", "video_max_frames": None, "video_start": [1], "video_end": {}},
])
def test_old_or_bad_saved_settings_load_with_video_defaults(qtbot: Any, tmp_path: Path, stored: dict) -> None:
    settings = ini(tmp_path)
    settings.setValue(SETTINGS_KEY, json.dumps(stored))
    loaded = SettingsPanel(settings, data_dir=tmp_path / "data")
    qtbot.addWidget(loaded)
    s = loaded.settings()
    assert s.model == "m"
    assert (s.video_fps, s.video_max_frames, s.video_start, s.video_end) == (2.0, 64, 0.0, 0.0)
    assert s.video() == VideoOptions()


def test_whole_seconds_in_json_load_as_floats() -> None:
    s = RunSettings.from_json(json.dumps({"video_fps": 1, "video_start": 2, "video_end": 5}))
    assert s.video() == VideoOptions(fps=1.0, start=2.0, end=5.0)


def test_end_before_start_is_named_in_the_panel(qtbot: Any, panel: SettingsPanel) -> None:
    panel.show()
    set_video(panel, 2.0, 64, 10.0, 4.0)
    label = panel.video_settings.problem_label
    assert label.isVisible() and label.text() == "The video end (4 s) must be after its start (10 s)."
    assert panel.problem() == label.text()
    panel.video_settings.end_spin.setValue(10.0)  # equal is refused too
    assert panel.problem() and label.isVisible()
    panel.video_settings.end_spin.setValue(12.5)
    assert panel.problem() == "" and not label.isVisible()


def test_token_hint_follows_frames_and_resolution(panel: SettingsPanel) -> None:
    hint = panel.video_settings.estimate_label
    set_video(panel, 2.0, 64, 0.0, 0.0)
    panel.resolution_slider.setValue(2)  # 512 px
    assert hint.text() == "≤ 64 frames × 128 ≈ 8,192 visual tokens"
    panel.video_settings.frames_spin.setValue(16)
    assert hint.text() == "≤ 16 frames × 128 ≈ 2,048 visual tokens"
    panel.resolution_slider.setValue(6)  # 1024 px: 64 frames share the processor's budget
    panel.video_settings.frames_spin.setValue(64)
    assert hint.text() == "≤ 64 frames × 180 ≈ 11,552 visual tokens"


def test_token_estimate_equals_the_qwen3_vl_processor() -> None:
    """Square frames at the cap cost what Qwen3VLVideoProcessor counts (checkpoint settings)."""
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    processor = Qwen3VLVideoProcessor(patch_size=16, temporal_patch_size=2, merge_size=2,
                                      size={"shortest_edge": 4096, "longest_edge": 24576 * 32 * 32})
    for side in (256, 512, 768, 1024, 2048):
        for frames in (4, 9, 32, 64, 200, 768):
            even = frames - frames % 2  # the sampler keeps an even count
            patches = processor.get_num_of_video_patches(even, side, side, {"cap_pixels_per_frame": True})
            assert video_tokens(frames, side)[1] == patches // 4, (side, frames)


# -- Backend ------------------------------------------------------------------------------------
def test_remote_fields_are_enabled_only_for_the_remote_backend(qtbot: Any, tmp_path: Path,
                                                               panel: SettingsPanel) -> None:
    remote_fields = (panel.endpoints_edit, panel.remote_model_edit, panel.concurrency_spin)
    assert panel.backend_combo.currentData() == "local"
    local_fields = (panel.device_combo, panel.dtype_combo, panel.quant_combo)
    assert not any(w.isEnabled() for w in remote_fields) and all(w.isEnabled() for w in local_fields)
    panel.backend_combo.setCurrentIndex(panel.backend_combo.findData("remote"))
    assert all(w.isEnabled() for w in remote_fields) and not any(w.isEnabled() for w in local_fields)
    panel.endpoints_edit.setText("http://localhost:9/v1")
    panel.save()
    again = SettingsPanel(ini(tmp_path), data_dir=tmp_path / "data")  # loads as remote
    qtbot.addWidget(again)
    assert all(w.isEnabled() for w in (again.endpoints_edit, again.remote_model_edit, again.concurrency_spin))
    again.backend_combo.setCurrentIndex(again.backend_combo.findData("local"))
    assert not any(w.isEnabled() for w in (again.endpoints_edit, again.remote_model_edit, again.concurrency_spin))
    assert again.settings().endpoints == "http://localhost:9/v1"  # kept, only greyed out


# -- the window -----------------------------------------------------------------------------
@pytest.fixture
def window(qtbot: Any, qapp: QApplication, tmp_path: Path, tiny_model_dir: Path) -> Iterator[MainWindow]:
    style.apply_theme(qapp)
    settings = ini(tmp_path)
    settings.setValue(SETTINGS_KEY, RunSettings(model=str(tiny_model_dir), device="cpu", dtype="fp32",
                                                max_new_tokens=4, max_side=256).to_json())
    win = MainWindow(settings, data_dir=tmp_path / "data")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert win.service.thread.isFinished()


def open_media(qtbot: Any, window: MainWindow, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    Image.new("RGB", (64, 48), (20, 160, 60)).save(folder / "a.png")
    clip = make_video(folder / "b.mp4")
    with qtbot.waitSignal(window.folder_opened, timeout=15_000):
        window.open_folder(folder)
    return clip


def test_window_sends_the_chosen_video_options(qtbot: Any, window: MainWindow, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clip = open_media(qtbot, window, tmp_path)
    assert window.counts_label.text() == "2 files · 0 captioned"
    sampled: list[tuple[Path, dict[str, Any]]] = []
    lock = threading.Lock()
    real = video_input.sample_frames

    def spy(path: Path, **kwargs: Any) -> Any:  # runs on the engine's prefetch pool
        with lock:
            sampled.append((Path(path), kwargs))
        return real(path, **kwargs)

    monkeypatch.setattr(video_input, "sample_frames", spy)
    set_video(window.settings_panel, 1.5, 6, 0.5, 3.5)
    with qtbot.waitSignal(window.run_finished, timeout=90_000):
        window.caption_all()
        qtbot.waitUntil(lambda: bool(window.runs), timeout=15_000)
        assert window.runs[0].job.request.video == VideoOptions(fps=1.5, max_frames=6, start=0.5, end=3.5)
    assert [(p.name, k["fps"], k["max_frames"], k["start"], k["end"]) for p, k in sampled] == \
        [(clip.name, 1.5, 6, 0.5, 3.5)]
    qtbot.waitUntil(lambda: not window.writer.busy, timeout=15_000)
    assert window.library.item(clip).status.value == "done"
    assert window.stage_label.text() == "Finished: 2 files"


def test_window_refuses_a_trim_that_ends_before_it_starts(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    open_media(qtbot, window, tmp_path)
    set_video(window.settings_panel, 2.0, 64, 8.0, 2.0)
    window.caption_all()
    assert window.banner.isVisible()
    assert window.banner_label.text() == "Cannot caption: The video end (2 s) must be after its start (8 s)."
    assert not window.runs and not window._starting and window.caption_all_action.isEnabled()
