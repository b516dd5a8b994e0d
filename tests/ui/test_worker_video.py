"""The window's worker captions videos as the CLI does: the request passes through unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop_app.engine import CaptionRequest
from desktop_app.engine.types import VideoOptions
from desktop_app.testing.videos import write_audio_only, write_video

from .test_worker import Recorder, load_tiny, make_images, recorder, service  # noqa: F401

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def test_a_job_mixing_videos_and_images(qtbot: Any, service, recorder, tiny_model_dir: Path,  # noqa: F811
                                        tmp_path: Path) -> None:
    load_tiny(qtbot, service, tiny_model_dir)
    images = make_images(tmp_path, 2)
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=10, size=(64, 48))
    song = write_audio_only(tmp_path / "song.webm")
    request = CaptionRequest.for_paths([images[0], clip, song, images[1]], batch_size=4,
                                       video=VideoOptions(fps=1, max_frames=4))
    with qtbot.waitSignal(service.job_finished, timeout=60000):
        service.start(service.new_job(request.with_params(max_new_tokens=6)))
    assert set(recorder.captioned) == {*images, clip}
    assert "no video stream" in recorder.failed[song]
    assert recorder.captioned[clip].metadata["video"]["max_frames"] == 4
    assert recorder.streamed.get((clip, 0, False), "") == recorder.captioned[clip].caption
