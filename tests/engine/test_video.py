"""Video: PyAV decoding and sampling, inputs equal to the processor's, captions through both runners.

Every video is written by the test itself with PyAV (h264 in mp4/mkv/mov, vp8 in webm, mpeg4
in avi). Frame i of a test video has red channel 7 * i, so a decoded frame tells which frame
it is: the tests check that sampling and seeking land on the frames they claim.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop_app.engine import (CaptionEngine, CaptionItem, CaptionRequest, GenerationParams,
                                ImageCaptioned, ImageFailed, LoadOptions)
from desktop_app.engine.images import ImageLoadError, prefetch
from desktop_app.engine.prepare import InputBuilder
from desktop_app.engine.prompts import PRESETS, video_wording
from desktop_app.engine.types import VideoOptions
from desktop_app.engine.video import (VideoInfo, VideoLoadError, probe_video, read_frame_at,
                                      sample_frames)
from desktop_app.engine.video_input import PROCESSOR_KWARGS, patch_timestamps, video_metadata
from desktop_app.testing.videos import write_audio_only, write_video

CPU = LoadOptions(device="cpu", dtype="fp32")


def is_frame(image: Image.Image, index: int) -> bool:
    """Whether `image` is test frame `index` (its red channel; lossy codecs stay within a few levels)."""
    red = float(np.median(np.asarray(image)[..., 0]))  # the median skips the white bar
    return abs(red - (7 * index) % 256) < 3


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "mp4": write_video(folder / "three.mp4", seconds=3, fps=10, size=(96, 64)),
        "mkv": write_video(folder / "two.mkv", seconds=2, fps=25, size=(128, 96)),
        "webm": write_video(folder / "four.webm", seconds=4, fps=8, size=(64, 64), audio=True),
        "avi": write_video(folder / "three.avi", seconds=3, fps=10, size=(50, 70)),
        "mov": write_video(folder / "odd.mov", seconds=2.5, fps=12, size=(32, 32)),
    }


# -- probing -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind, expected", [
    ("mp4", VideoInfo(3.0, 10.0, 30, 96, 64, "h264")),
    ("mkv", VideoInfo(2.0, 25.0, 50, 128, 96, "h264")),
    ("webm", VideoInfo(4.0, 8.0, 32, 64, 64, "vp8")),
    ("avi", VideoInfo(3.0, 10.0, 30, 50, 70, "mpeg4")),
    ("mov", VideoInfo(2.5, 12.0, 30, 32, 32, "h264")),
])
def test_probe_reads_duration_rate_frames_size_and_codec(clips, kind, expected):
    info = probe_video(clips[kind])
    assert info.duration == pytest.approx(expected.duration, abs=0.05)
    assert info.fps == pytest.approx(expected.fps)
    assert (info.frame_count, info.width, info.height, info.codec) == \
        (expected.frame_count, expected.width, expected.height, expected.codec)


# -- sampling ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["mp4", "mkv", "webm", "avi", "mov"])
def test_sampled_frames_are_the_frames_they_claim(clips, kind):
    video = sample_frames(clips[kind], fps=2.0)
    info = video.info
    assert len(video.frames) == len(video.indices) == len(video.timestamps)
    assert len(video.frames) % 2 == 0
    assert video.indices == sorted(video.indices)
    assert video.indices[0] == 0 and video.indices[-1] == info.frame_count - 1
    assert video.timestamps == [i / info.fps for i in video.indices]
    for frame, index in zip(video.frames, video.indices):
        assert frame.size == (info.width, info.height) and frame.mode == "RGB"
        assert is_frame(frame, index), index


def test_frame_count_follows_fps_cap_and_stays_even(clips):
    mp4 = clips["mp4"]  # 3 s at 10 fps
    assert len(sample_frames(mp4, fps=2).frames) == 6
    assert len(sample_frames(mp4, fps=1).frames) == 4  # 3 frames, raised to min_frames 4
    assert len(sample_frames(mp4, fps=5).frames) == 14  # 15, rounded down to even
    assert len(sample_frames(mp4, fps=100).frames) == 30  # never more than the video has
    assert len(sample_frames(mp4, fps=10, max_frames=8).frames) == 8
    assert len(sample_frames(mp4, fps=10, max_frames=7).frames) == 6
    assert len(sample_frames(mp4, fps=2, frame_multiple=1, min_frames=1).frames) == 6


def test_trim_keeps_frames_inside_start_and_end(clips):
    video = sample_frames(clips["mp4"], fps=4, start=1.0, end=2.0)
    assert len(video.frames) == 4
    assert all(10 <= i < 20 for i in video.indices)
    assert all(is_frame(f, i) for f, i in zip(video.frames, video.indices))
    assert video.timestamps[0] == pytest.approx(1.0)
    tail = sample_frames(clips["mp4"], start=2.2)  # end defaults to the video's end
    assert tail.indices[0] == 22 and tail.indices[-1] == 29
    long_end = sample_frames(clips["mp4"], end=99)
    assert long_end.indices[-1] == 29


def test_long_gaps_are_sought_over_and_land_on_the_right_frames(tmp_path):
    path = write_video(tmp_path / "long.mp4", seconds=40, fps=5, size=(48, 32), gop=10)
    video = sample_frames(path, fps=0.2, max_frames=8)  # one frame every 5.7 s: seeks
    assert len(video.frames) == 8
    assert all(is_frame(f, i) for f, i in zip(video.frames, video.indices)), video.indices


def test_frames_shrink_to_the_pixel_budget(tmp_path):
    path = write_video(tmp_path / "big.mkv", seconds=1, fps=4, size=(320, 240))
    video = sample_frames(path, max_pixels=80 * 60)
    assert {f.size for f in video.frames} == {(80, 60)}


def test_a_one_frame_video_gives_its_frame_twice(tmp_path):
    path = write_video(tmp_path / "still.mp4", seconds=0.1, fps=10, size=(32, 32))
    video = sample_frames(path)
    assert video.indices == [0, 0] and len(video.frames) == 2


def test_read_frame_at_seeks_to_the_frame_shown(clips, tmp_path):
    for seconds, index in [(0, 0), (1.5, 15), (2.94, 29), (99, 29), (-3, 0)]:
        frame = read_frame_at(clips["mp4"], seconds)
        assert frame.size == (96, 64) and is_frame(frame, index), seconds
    path = write_video(tmp_path / "gop.mp4", seconds=20, fps=5, size=(64, 48), gop=25)
    assert is_frame(read_frame_at(path, 13.0), 65)  # the keyframe before is frame 50
    small = read_frame_at(clips["mkv"], 1.0, max_side=32)
    assert small.size == (32, 24)


def test_a_quarter_turned_video_comes_out_upright(tmp_path):
    import av

    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix")
    path = write_video(tmp_path / "phone.mp4", seconds=1, fps=10, size=(64, 32), rotation=90)
    info = probe_video(path)
    assert (info.width, info.height) == (32, 64)
    video = sample_frames(path, max_pixels=16 * 32)
    assert video.info == info and {f.size for f in video.frames} == {(16, 32)}
    # Coded, green grows left to right and blue top to bottom; a quarter turn to the left puts
    # the left edge at the bottom and the top edge at the left.
    frame = np.asarray(read_frame_at(path, 0.5)).astype(int)
    assert frame.shape[:2] == (64, 32)
    assert np.median(frame[:4, :, 1]) > 200 and np.median(frame[-4:, :, 1]) < 50
    assert np.median(frame[:, :3, 2]) < 50 and np.median(frame[:, -3:, 2]) > 200


def test_bad_arguments_raise_value_error(clips):
    for kwargs in ({"fps": 0}, {"max_frames": 1}, {"start": -1}, {"end": 0}, {"start": 2, "end": 1},
                   {"max_pixels": 0}):
        with pytest.raises(ValueError):
            sample_frames(clips["mp4"], **kwargs)
    with pytest.raises(ValueError):
        read_frame_at(clips["mp4"], 1, max_side=0)


# -- broken files ------------------------------------------------------------------------
def broken_videos(folder: Path) -> dict[Path, str]:
    """Bad video files and a word their reason must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    good = write_video(folder / "source.mp4", seconds=3, fps=10, size=(64, 48))
    data = good.read_bytes()
    cut = folder / "cut.mp4"  # the index (moov) is written last: half a file has none
    cut.write_bytes(data[: len(data) // 2])
    mkv = write_video(folder / "source.mkv", seconds=4, fps=10, size=(64, 48), gop=5)
    short = folder / "short.mkv"  # headers say 4 s, the data stops near 2 s
    short.write_bytes(mkv.read_bytes()[: mkv.stat().st_size // 2])
    empty = folder / "empty.mp4"
    empty.touch()
    audio = write_audio_only(folder / "sound.mp4")
    garbage = folder / "garbage.mov"
    garbage.write_bytes(random.Random(1).randbytes(4000))
    text = folder / "notes.webm"
    text.write_text("not a video\n" * 50)
    alien = folder / "alien.mkv"  # a codec id no FFmpeg knows
    alien.write_bytes(mkv.read_bytes().replace(b"V_MPEG4/ISO/AVC", b"V_QQQQQ/ISO/QQQ"))
    good.unlink()
    mkv.unlink()
    return {cut: "truncated", short: "truncated", empty: "empty", audio: "no video stream",
            garbage: "not a video", text: "not a video", alien: "unknown video codec",
            folder / "missing.avi": "not found"}


def test_broken_videos_raise_with_a_reason_naming_the_file(tmp_path):
    for path, words in broken_videos(tmp_path).items():
        with pytest.raises(VideoLoadError) as caught:
            sample_frames(path)
        error = caught.value
        assert isinstance(error, ImageLoadError)
        assert error.path == path and str(path) in str(error)
        assert words in error.reason.lower(), (path.name, error.reason)
    # The headers alone are fine for a file whose data is cut short.
    assert probe_video(tmp_path / "short.mkv").duration == pytest.approx(4.0, abs=0.05)


def test_start_past_the_end_fails_for_that_file(clips):
    with pytest.raises(VideoLoadError, match="past the end"):
        sample_frames(clips["mp4"], start=5)


def test_video_load_errors_pickle_and_come_out_of_prefetch(tmp_path):
    import pickle

    error = VideoLoadError(tmp_path / "x.mp4", "no video stream")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is VideoLoadError and again.reason == "no video stream"
    path = write_audio_only(tmp_path / "a.mkv")
    ((_, result),) = list(prefetch([path], sample_frames, workers=1))
    assert isinstance(result, VideoLoadError)


def test_video_options_validate():
    VideoOptions().validate()
    VideoOptions(fps=0.5, max_frames=2, start=0, end=1.5, max_pixels=64 * 64).validate()
    for bad in (dict(fps=0), dict(fps=120), dict(max_frames=1), dict(start=-1), dict(end=0),
                dict(start=3, end=2), dict(max_pixels=100)):
        with pytest.raises(ValueError):
            VideoOptions(**bad).validate()


# -- inputs equal the processor's --------------------------------------------------------
@pytest.fixture(scope="module")
def processor(tiny_model_dir: Path):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model_dir, local_files_only=True)


def processor_inputs(processor, text: str, frames: np.ndarray, metadata) -> dict[str, torch.Tensor]:
    return processor(text=[text], videos=[frames], video_metadata=[metadata],
                     return_tensors="pt", **PROCESSOR_KWARGS)


def assert_same_inputs(inp, want) -> None:
    assert torch.equal(inp.input_ids, want["input_ids"][0])
    assert torch.equal(inp.mm_token_type_ids.long(), want["mm_token_type_ids"][0].long())
    assert torch.equal(inp.pixel_values_videos, want["pixel_values_videos"])
    assert torch.equal(inp.video_grid_thw, want["video_grid_thw"])
    assert inp.pixel_values is None and inp.image_grid_thw is None


@pytest.mark.parametrize("kind", ["mp4", "avi"])
def test_inputs_equal_transformers_own_pyav_decoding_and_sampling(processor, clips, kind):
    """transformers decodes and samples the file itself (its PyAV reader, its fps sampler):
    the same frames, pixels, timestamps and ids as ours."""
    from transformers.video_utils import read_video_pyav

    path = clips[kind]
    builder = InputBuilder(processor, "Describe this image in detail.", None, 1024 * 1024,
                           video=VideoOptions(max_frames=processor.video_processor.max_frames))
    inp = builder.build(0, path, builder.pixels(path), 10, (0,))
    frames, metadata = read_video_pyav(
        str(path), sample_indices_fn=partial(processor.video_processor.sample_frames, fps=2))
    if len(metadata.frames_indices) % 2:
        pytest.skip("transformers samples an odd count here; we round down to even")
    text = builder.video.prompt_text(PRESETS["video"])
    assert_same_inputs(inp, processor_inputs(processor, text, frames, metadata))


@pytest.mark.parametrize("options, system, prompt", [
    (VideoOptions(), None, "Describe this image in detail."),
    (VideoOptions(fps=3, max_frames=6, start=0.4, end=2.3), "Be brief.", "Tags for {filename}."),
    (VideoOptions(fps=5, max_frames=64, max_pixels=40 * 30), None, PRESETS["short"]),
    (VideoOptions(fps=2.5), None, "What happens?"),  # 2.5 * 2.5 s: an odd count, rounded down
])
def test_inputs_equal_the_processor_given_our_frames(processor, clips, options, system, prompt):
    path = clips["mov"] if options.fps == 2.5 else clips["mkv"]
    builder = InputBuilder(processor, prompt, system, 1024 * 1024, video=options)
    pixels = builder.pixels(path)
    inp = builder.build(5, path, pixels, 17, (1, 2))
    sampled = builder.video.sample(path)
    frames = np.stack([np.asarray(f) for f in sampled.frames])
    from desktop_app.engine.prompts import render_prompt

    text = builder.video.prompt_text(render_prompt(video_wording(prompt), path))
    want = processor_inputs(processor, text, frames, video_metadata(sampled))
    assert_same_inputs(inp, want)
    assert (inp.key, inp.max_new_tokens, inp.seeds) == (5, 17, (1, 2))
    decoded = processor.tokenizer.decode(inp.input_ids)
    for seconds in patch_timestamps(sampled.indices, sampled.info.fps, 2):
        assert f"<{seconds:.1f} seconds>" in decoded
    if options.start:
        assert all(options.start <= t <= options.end for t in sampled.timestamps)


def test_video_prompts_are_worded_for_video(processor, clips):
    from desktop_app.engine.catalogue import PromptChoice

    assert video_wording("Describe this image in detail.") == PRESETS["video"]
    assert video_wording(PRESETS["detailed"]) == PRESETS["video"]
    short = PromptChoice.make("detailed", "short", ["lighting"]).prompt()
    assert video_wording(short) == PromptChoice.make("video", "short", ["lighting"]).prompt()
    russian = PromptChoice.make("detailed", language="ru").prompt()
    assert video_wording(russian) == PromptChoice.make("video", language="ru").prompt()
    assert video_wording(PRESETS["tags"]) == PRESETS["tags"].replace("this image", "this video")
    assert "this video" in video_wording(PRESETS["short"])
    assert video_wording(PRESETS["video_timeline"]) == PRESETS["video_timeline"]
    assert video_wording("My own prompt about this image.") == "My own prompt about this image."
    builder = InputBuilder(processor, PRESETS["detailed"], None, 1024 * 1024)
    path = clips["mp4"]
    text = processor.tokenizer.decode(builder.build(0, path, builder.pixels(path), 8, (0,)).input_ids)
    assert "Describe this video in detail" in text and "this image" not in text


# -- captioning --------------------------------------------------------------------------
def make_image(path: Path, size: tuple[int, int], seed: int) -> Path:
    w, h = size
    Image.frombytes("RGB", size, random.Random(seed).randbytes(w * h * 3)).save(path)
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, Path]) -> list[Path]:
    folder = tmp_path_factory.mktemp("mixed")
    return [make_image(folder / "a.png", (64, 48), 1), clips["mp4"], clips["webm"],
            make_image(folder / "b.png", (40, 90), 2), clips["avi"]]


@pytest.fixture(scope="module", params=["generate", "continuous"])
def engine(request: pytest.FixtureRequest, tiny_model_dir: Path):
    eng = CaptionEngine(str(tiny_model_dir), options=CPU, runner=request.param, workers=2)
    eng.load()
    yield eng
    eng.unload()


def caption(engine: CaptionEngine, request: CaptionRequest) -> dict[Path, ImageCaptioned | ImageFailed]:
    results = list(engine.caption(request))
    out = {r.path: r for r in results}
    assert len(out) == len(results) == len(request.items)
    return out


def test_a_batch_mixing_videos_and_images_equals_each_alone(engine, mixed):
    limits = [None, 6, None, 4, None]
    items = tuple(CaptionItem(p, max_new_tokens=n) for p, n in zip(mixed, limits))
    request = CaptionRequest(items, params=GenerationParams(max_new_tokens=10), batch_size=3,
                             video=VideoOptions(fps=2, max_frames=6))
    together = caption(engine, request)
    for item in items:
        (alone,) = caption(engine, replace(request, items=(item,), batch_size=1)).values()
        both = together[item.path]
        assert isinstance(both, ImageCaptioned) and isinstance(alone, ImageCaptioned), both
        assert both.caption == alone.caption, item.path.name
        assert both.metadata["tokens"] == alone.metadata["tokens"], item.path.name
    video = together[mixed[1]].metadata
    assert video["video"]["max_frames"] == 6 and video["visual_tokens"] > 0
    assert "video" not in together[mixed[0]].metadata


def test_both_runners_give_the_same_greedy_tokens_on_videos(tiny_model_dir, mixed, monkeypatch):
    from desktop_app.engine.tracker import JobTracker

    tokens: dict[str, dict[Path, tuple[int, ...]]] = {}
    original = JobTracker.row_done
    for kind in ("generate", "continuous"):
        seen: dict[Path, tuple[int, ...]] = {}

        def row_done(self, row, seen=seen):
            seen[self.images[row.key].path] = row.token_ids
            original(self, row)

        monkeypatch.setattr(JobTracker, "row_done", row_done)
        engine = CaptionEngine(str(tiny_model_dir), options=CPU, runner=kind, workers=2)
        request = CaptionRequest.for_paths(mixed, params=GenerationParams(max_new_tokens=8,
                                           ignore_eos=True), batch_size=4)
        results = list(engine.caption(request))
        assert all(isinstance(r, ImageCaptioned) for r in results), results
        tokens[kind] = seen
        engine.unload()
    assert tokens["generate"] == tokens["continuous"]
    assert all(len(t) == 8 for t in tokens["generate"].values())


def test_broken_videos_fail_alone_among_good_ones(engine, mixed, tmp_path):
    broken = broken_videos(tmp_path / "broken")
    paths = [mixed[0], *list(broken)[:4], mixed[1], *list(broken)[4:], mixed[3]]
    request = CaptionRequest.for_paths(paths, params=GenerationParams(max_new_tokens=4), batch_size=2,
                                       video=VideoOptions(max_frames=4))
    results = caption(engine, request)
    for path, words in broken.items():
        assert isinstance(results[path], ImageFailed), path.name
        assert words in results[path].reason.lower(), results[path].reason
    for path in (mixed[0], mixed[1], mixed[3]):
        assert isinstance(results[path], ImageCaptioned), results[path]


def test_bad_video_options_are_refused_before_any_work(engine, mixed):
    request = CaptionRequest.for_paths(mixed[:1], video=VideoOptions(fps=-1))
    with pytest.raises(ValueError, match="fps"):
        list(engine.caption(request))
