"""`caption` on folders that mix images and videos (generated here with PyAV), tiny model."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

from desktop_app.cli import main
from desktop_app.library import Library, Status
from desktop_app.testing.videos import write_audio_only, write_video


def make_mixed_folder(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Two images, two good videos and four broken ones (name -> a word of its reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = []
    for i in range(2):
        path = folder / f"img{i}.jpg"
        Image.effect_noise((48 + 16 * i, 64), 40 + i).convert("RGB").save(path)
        good.append(path)
    good.append(write_video(folder / "clip.mp4", seconds=2, fps=10, size=(64, 48)))
    good.append(write_video(folder / "clip2.webm", seconds=3, fps=8, size=(48, 48)))
    data = (folder / "clip.mp4").read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])
    (folder / "empty.mkv").write_bytes(b"")
    write_audio_only(folder / "song.mp4")
    (folder / "junk.avi").write_bytes(random.Random(3).randbytes(3000))
    broken = {"cut.mp4": "truncated", "empty.mkv": "empty", "song.mp4": "no video stream",
              "junk.avi": "not a video"}
    return good, broken


def caption(folder: Path, model: Path, data_dir: Path, *extra: str) -> int:
    return main(["caption", str(folder), "--model", str(model), "--max-new-tokens", "6",
                 "--data-dir", str(data_dir), "--quiet", "--video-max-frames", "4", *extra])


def test_mixed_folder_captions_videos_and_images_broken_videos_fail_alone(tmp_path, tiny_model_dir, capsys):
    folder, data = tmp_path / "clips", tmp_path / "data"
    good, broken = make_mixed_folder(folder)
    report = tmp_path / "report.json"
    assert caption(folder, tiny_model_dir, data, "--report", str(report), "--video-fps", "1.5") == 1
    summary = json.loads(report.read_text())
    assert (summary["captioned"], summary["failed"]) == (4, 4)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert set(reasons) == set(broken)
    for name, words in broken.items():
        assert words in reasons[name].lower(), reasons[name]
    for path in good:
        assert path.with_suffix(".txt").exists(), path.name
    with Library.open(folder, data_dir=data, sync=False) as lib:
        clip = lib.item(folder / "clip.mp4")
        assert clip.status == Status.DONE
        assert clip.metadata.extra["video"]["fps"] == 1.5
        song = lib.item(folder / "song.mp4")
        assert song.status == Status.FAILED and "no video stream" in song.failure_reason
    err = capsys.readouterr().err
    assert "song.mp4: no video stream" in err

    # A second run captions nothing again; a trim past a video's end fails that video alone.
    assert caption(folder, tiny_model_dir, data, "--report", str(report)) == 1
    assert json.loads(report.read_text())["captioned"] == 0
    assert caption(folder, tiny_model_dir, data, "--overwrite", "--report", str(report),
                   "--video-start", "2.5") == 1
    again = json.loads(report.read_text())
    reasons = {Path(f["path"]).name: f["reason"] for f in again["failures"]}
    assert "past the end" in reasons["clip.mp4"] and "clip2.webm" not in reasons
    assert again["captioned"] == 3


def test_bad_video_flags_exit_2(tmp_path, tiny_model_dir, capsys):
    folder = tmp_path / "f"
    folder.mkdir()
    for flags in (["--video-fps", "0"], ["--video-max-frames", "1"],
                  ["--video-start", "3", "--video-end", "1"], ["--video-fps", "abc"]):
        assert caption(folder, tiny_model_dir, tmp_path / "d", *flags) == 2, flags
    assert "video" in capsys.readouterr().err
