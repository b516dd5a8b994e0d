"""Videos through `serve` (a `video_url` data URL) and through RemoteEngine against it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from desktop_app.engine import (CaptionEngine, CaptionRequest, GenerationParams,  # noqa: E402
                                ImageCaptioned, ImageFailed)
from desktop_app.engine.remote import RemoteEngine  # noqa: E402
from desktop_app.testing.videos import write_audio_only, write_video  # noqa: E402

from .test_serve import CPU, KEY, MODEL, RUNNER, client, png_bytes, server  # noqa: E402,F401


def video_messages(path: Path, mime: str = "mp4") -> list[dict[str, Any]]:
    url = f"data:video/{mime};base64," + base64.b64encode(path.read_bytes()).decode()
    return [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": url}},
                                         {"type": "text", "text": "What happens?"}]}]


def test_a_video_url_is_captioned_like_the_local_engine(server, tmp_path):  # noqa: F811
    clip = write_video(tmp_path / "clip.mp4", seconds=2, fps=10, size=(64, 48))
    c = client(server)
    answer = c.chat.completions.create(model=MODEL, messages=video_messages(clip), max_tokens=6)
    assert answer.usage.prompt_tokens > 20 and answer.choices[0].finish_reason in ("stop", "length")
    local = CaptionEngine(str(server["model_dir"]), options=CPU, runner=RUNNER, workers=1)
    (result,) = list(local.caption(CaptionRequest.for_paths(
        [clip], prompt="What happens?", params=GenerationParams(max_new_tokens=6))))
    assert isinstance(result, ImageCaptioned)
    assert answer.choices[0].message.content == result.caption
    assert answer.usage.prompt_tokens == result.metadata["prompt_tokens"]
    local.unload()


def test_bad_videos_and_video_types_are_400(server, tmp_path):  # noqa: F811
    c = client(server)
    song = write_audio_only(tmp_path / "song.mp4")
    with pytest.raises(openai.BadRequestError) as bad:
        c.chat.completions.create(model=MODEL, messages=video_messages(song), max_tokens=4)
    assert "no video stream" in str(bad.value)
    clip = write_video(tmp_path / "c.mp4", seconds=1, fps=8, size=(32, 32))
    with pytest.raises(openai.BadRequestError) as kind:
        c.chat.completions.create(model=MODEL, messages=video_messages(clip, "x-flv"), max_tokens=4)
    assert "unsupported video type" in str(kind.value)


def test_remote_engine_sends_videos_and_checks_them_first(server, tmp_path):  # noqa: F811
    clip = write_video(tmp_path / "clip.webm", seconds=2, fps=8, size=(48, 48))
    song = write_audio_only(tmp_path / "song.mkv")
    image = tmp_path / "a.png"
    image.write_bytes(png_bytes(5))
    engine = RemoteEngine([server["url"].removesuffix("/v1")], api_key=KEY, concurrency=2)
    results = {r.path: r for r in engine.caption(CaptionRequest.for_paths(
        [clip, song, image], params=GenerationParams(max_new_tokens=4)))}
    assert isinstance(results[clip], ImageCaptioned) and isinstance(results[image], ImageCaptioned)
    assert isinstance(results[song], ImageFailed) and "no video stream" in results[song].reason


def last_event(got):
    event = got.get(timeout=60)
    while event[0] == "delta":
        event = got.get(timeout=60)
    return event


def test_the_bridge_samples_videos_with_its_options(tiny_model_dir, tmp_path):
    import queue

    from desktop_app.engine.types import VideoOptions
    from desktop_app.server.bridge import EngineBridge, Job

    clip = write_video(tmp_path / "clip.mkv", seconds=3, fps=10, size=(48, 32))
    engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner=RUNNER, workers=1)
    bridge = EngineBridge(engine, video=VideoOptions(fps=1, max_frames=2, start=1.0))
    got: queue.Queue = queue.Queue()
    bridge.start()
    try:
        bridge.submit(Job(path=clip, prompt="Go.", system_prompt=None,
                              params=GenerationParams(max_new_tokens=2), sink=got.put))
        kind, result = last_event(got)
        # A request's own sampling (mm_processor_kwargs) beats the server's, in the same engine.
        own = VideoOptions(fps=2, max_frames=4)
        bridge.submit(Job(path=clip, prompt="Go.", system_prompt=None, video=own,
                          params=GenerationParams(max_new_tokens=2), sink=got.put))
        kind2, result2 = last_event(got)
    finally:
        bridge.stop()
        engine.unload()
    assert kind == "done"
    assert result.metadata["video"] == VideoOptions(fps=1, max_frames=2, start=1.0).as_dict()
    assert kind2 == "done" and result2.metadata["video"] == own.as_dict()
    assert result2.metadata["visual_tokens"] > result.metadata["visual_tokens"]  # more frames


def test_serve_refuses_bad_video_flags():
    from desktop_app.server.app import serve_main

    assert serve_main(["--model", "nowhere", "--video-max-frames", "0", "--no-warmup"]) == 2
