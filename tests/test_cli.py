"""The `caption` command end to end with the tiny model: sidecars, store, report, exit codes, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.cli import main
from desktop_app.library import Library, Status

ROOT = Path(__file__).resolve().parents[1]


def make_folder(folder: Path, good: int = 4, broken: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(good):
        path = folder / f"img{i}.jpg"
        Image.effect_noise((48 + 16 * i, 64), 40 + i).convert("RGB").save(path)
        paths.append(path)
    if broken:
        (folder / "text.png").write_text("not an image")
        (folder / "empty.jpg").write_bytes(b"")
        data = (folder / "img0.jpg").read_bytes()
        (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    return paths


def caption(folder: Path, model: Path, data_dir: Path, *extra: str) -> int:
    return main(["caption", str(folder), "--model", str(model), "--max-new-tokens", "8",
                 "--data-dir", str(data_dir), "--quiet", *extra])


def test_caption_writes_sidecars_report_and_store(tmp_path, text_model_dir, capsys):
    """On the tiny fixture and on the real Qwen3-VL-2B tokenizer (random weights: any of its
    151,669 tokens, so captions hold every script, control bytes and partial characters)."""
    folder, data = tmp_path / "my photos ü", tmp_path / "data"
    good = make_folder(folder)
    report = tmp_path / "report.json"
    assert caption(folder, text_model_dir, data, "--report", str(report), "--temperature", "1.0",
                   "--max-new-tokens", "24") == 1
    summary = json.loads(report.read_text())
    assert (summary["captioned"], summary["skipped"], summary["failed"]) == (4, 0, 3)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert set(reasons) == {"text.png", "empty.jpg", "truncated.jpg"}
    assert "empty" in reasons["empty.jpg"] and "not an image" in reasons["text.png"]
    assert "truncated" in reasons["truncated.jpg"]
    for path in good:
        assert path.with_suffix(".txt").exists()
    with Library.open(folder, data_dir=data, sync=False) as lib:
        assert lib.item(good[0]).status == Status.DONE
        assert lib.item(folder / "empty.jpg").status == Status.FAILED
        for path in good:  # the sidecar holds exactly the stored caption
            text = path.with_suffix(".txt").read_bytes().decode("utf-8").rstrip("\r\n")
            assert text == lib.item(path).caption.rstrip("\r\n")
    assert "failed: " in capsys.readouterr().err


def test_second_run_skips_everything_captioned(tmp_path, tiny_model_dir):
    folder, data = tmp_path / "f", tmp_path / "data"
    make_folder(folder, good=3, broken=False)
    assert caption(folder, tiny_model_dir, data) == 0
    before = {p: p.read_text() for p in folder.glob("*.txt")}
    report = tmp_path / "r.json"
    assert caption(folder, tiny_model_dir, data, "--report", str(report)) == 0
    summary = json.loads(report.read_text())
    assert (summary["captioned"], summary["skipped"], summary["failed"]) == (0, 3, 0)
    assert {p: p.read_text() for p in folder.glob("*.txt")} == before


def test_existing_sidecar_and_user_edit_are_kept(tmp_path, tiny_model_dir):
    folder, data = tmp_path / "f", tmp_path / "data"
    paths = make_folder(folder, good=3, broken=False)
    paths[0].with_suffix(".txt").write_text("a caption from another tool\n")
    assert caption(folder, tiny_model_dir, data) == 0
    assert paths[0].with_suffix(".txt").read_text().strip() == "a caption from another tool"
    with Library.open(folder, data_dir=data) as lib:
        assert lib.record_edit(paths[1], "my edit")
        lib.write_sidecar(paths[1])
    assert caption(folder, tiny_model_dir, data) == 0
    assert paths[1].with_suffix(".txt").read_text().strip() == "my edit"
    assert caption(folder, tiny_model_dir, data, "--overwrite") == 0
    assert paths[1].with_suffix(".txt").read_text().strip() != "my edit"


def test_usage_and_model_errors_exit_2(tmp_path, tiny_model_dir, capsys):
    assert main(["caption", str(tmp_path / "missing")]) == 2
    make_folder(tmp_path / "f", good=1, broken=False)
    assert caption(tmp_path / "f", tmp_path / "no-model-here", tmp_path / "d") == 2
    assert main(["caption", str(tmp_path / "f"), "--model", "Qwen/Qwen3-VL-2B-Instruct", "--offline",
                 "--data-dir", str(tmp_path / "d"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no network" in err and "--model PATH" in err
    assert main(["caption", str(tmp_path / "f"), "--batch-size", "0"]) == 2
    assert main(["frobnicate"]) == 2


def test_caption_committed_but_not_written_is_written_by_the_next_run(tmp_path, tiny_model_dir):
    # A kill between the store's commit and the sidecar write leaves a caption only in the store.
    folder, data = tmp_path / "f", tmp_path / "data"
    (path,) = make_folder(folder, good=1, broken=False)
    with Library.open(folder, data_dir=data) as lib:
        lib.record_result(path, "committed, file not written yet")
    assert not path.with_suffix(".txt").exists()
    assert caption(folder, tiny_model_dir, data) == 0
    assert path.with_suffix(".txt").read_text().strip() == "committed, file not written yet"


def _generation_counts(db_dir: Path) -> dict[str, int]:
    (db,) = list(db_dir.rglob("*.sqlite3"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT rel_path, COUNT(*) FROM generations GROUP BY rel_path").fetchall()
    return dict(rows)


def test_kill_9_then_rerun_captions_each_image_exactly_once(tmp_path, tiny_model_dir):
    folder, data = tmp_path / "f", tmp_path / "data"
    good = make_folder(folder, good=24, broken=True)
    cmd = [sys.executable, "-m", "desktop_app", "caption", str(folder), "--model", str(tiny_model_dir),
           "--max-new-tokens", "48", "--batch-size", "2", "--data-dir", str(data), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(folder.glob("*.txt"))) < 3:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = _generation_counts(data)
    assert 0 < len(before) < len(good), "the kill should land mid-run"
    assert main(["caption", str(folder), "--model", str(tiny_model_dir), "--max-new-tokens", "48",
                 "--data-dir", str(data), "--quiet"]) == 1  # the broken files still fail
    after = _generation_counts(data)
    assert set(after) == {p.name for p in good}
    assert all(count == 1 for count in after.values()), after
    for path in good:
        assert path.with_suffix(".txt").exists()


@pytest.mark.parametrize("variants", [2])
def test_variants_are_joined_in_the_sidecar(tmp_path, tiny_model_dir, variants):
    folder, data = tmp_path / "f", tmp_path / "data"
    (path,) = make_folder(folder, good=1, broken=False)
    assert caption(folder, tiny_model_dir, data, "--variants", str(variants), "--temperature", "1.0") == 0
    with Library.open(folder, data_dir=data, sync=False) as lib:
        record = lib.item(path)
    assert path.with_suffix(".txt").exists() and record.status == Status.DONE


# -- prompt flags -----------------------------------------------------------------------------
def test_list_presets_prints_types_lengths_options_and_user_presets(tmp_path, capsys):
    from desktop_app.library.presets import PresetStore, UserPreset

    PresetStore.default(tmp_path / "d").save(UserPreset("My portraits", custom_text="Who is this?"))
    assert main(["caption", "--list-presets", "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    for word in ("detailed", "grounding", "video_timeline", "very_short", "name=VALUE", "sfw",
                 "zh", "My portraits"):
        assert word in out
    assert main(["caption"]) == 2 and "give a FOLDER" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--preset", "nope"], "unknown prompt type or user preset 'nope': types: detailed"),
    (["--length", "huge"], "unknown length 'huge': use one of any, very_short"),
    (["--option", "shiny"], "unknown option 'shiny': use one of name, objects, lighting"),
    (["--option", "name"], "option 'name' needs a value"),
])
def test_bad_prompt_names_exit_2_listing_the_valid_ones(tmp_path, capsys, flags, message):
    make_folder(tmp_path / "f", good=1, broken=False)
    assert main(["caption", str(tmp_path / "f"), "--data-dir", str(tmp_path / "d"), *flags]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse refuses a language it does not know
        from desktop_app.cli import build_parser
        build_parser().parse_args([str(tmp_path), "--caption-language", "de"])


def _stored_prompts(folder: Path, data: Path) -> set[str]:
    with Library.open(folder, data_dir=data, sync=False) as lib:
        return {lib.item(p).metadata.prompt for p in sorted(folder.glob("*.jpg"))}


def test_composed_prompt_is_used_reported_and_stored(tmp_path, tiny_model_dir, capsys):
    from desktop_app.engine.catalogue import compose

    folder, data, report = tmp_path / "f", tmp_path / "d", tmp_path / "r.json"
    make_folder(folder, good=2, broken=False)
    assert caption(folder, tiny_model_dir, data, "--preset", "tags", "--length", "30", "--option",
                   "watermark", "--option", "name=Anna", "--caption-language", "ru",
                   "--report", str(report)) == 0
    expected = compose("tags", "30", ["watermark", "name=Anna"], "ru")
    summary = json.loads(report.read_text())
    assert summary["prompt"] == expected and "type tags" in summary["prompt_source"]
    assert f"): {expected}" in capsys.readouterr().out
    assert _stored_prompts(folder, data) == {expected}


def test_user_preset_and_prompt_override(tmp_path, tiny_model_dir):
    from desktop_app.engine.catalogue import PromptChoice, compose
    from desktop_app.library.presets import PresetStore, UserPreset

    folder, data, report = tmp_path / "f", tmp_path / "d", tmp_path / "r.json"
    make_folder(folder, good=1, broken=False)
    PresetStore.default(data).save(UserPreset("Shop", PromptChoice.make("product", "short", ["sfw"]),
                                              system_prompt="You write for a shop."))
    assert caption(folder, tiny_model_dir, data, "--preset", "shop", "--option", "lighting",
                   "--report", str(report)) == 0
    summary = json.loads(report.read_text())
    assert summary["prompt"] == compose("product", "short", ["sfw", "lighting"])
    assert summary["system_prompt"] == "You write for a shop." and "user preset Shop" in summary["prompt_source"]
    assert caption(folder, tiny_model_dir, data, "--overwrite", "--preset", "shop", "--prompt",
                   "Just {filename}", "--report", str(report)) == 0
    assert json.loads(report.read_text())["prompt"] == "Just {filename}"
    assert _stored_prompts(folder, data) == {"Just {filename}"}


def test_resolve_prompt_aliases_custom_presets_and_refinements(tmp_path):
    from desktop_app.cli import build_parser
    from desktop_app.cli_prompts import resolve_prompt
    from desktop_app.engine.catalogue import PromptChoice, compose
    from desktop_app.library.presets import PresetStore, UserPreset

    def resolved(*flags):
        return resolve_prompt(build_parser().parse_args([str(tmp_path), "--data-dir", str(tmp_path), *flags]))

    assert resolved().prompt == compose("detailed")
    assert resolved("--preset", "short").prompt == compose("straightforward", "very_short")  # an old name
    assert resolved("--preset", "short", "--length", "long").prompt == compose("straightforward", "long")
    assert resolved("--preset", "OCR", "--length", "80").prompt == compose("ocr")  # no length: ignored
    PresetStore.default(tmp_path).save(UserPreset("Mine", PromptChoice.make("casual", "short"),
                                                  custom_text="My {filename}", system_prompt="Be kind."))
    mine = resolved("--preset", "mine", "--system", "Be brief.")
    assert (mine.prompt, mine.system_prompt) == ("My {filename}", "Be brief.")
    assert "custom text" in mine.source
    refined = resolved("--preset", "Mine", "--caption-language", "zh")  # refining composes the choice
    assert refined.prompt == compose("casual", "short", [], "zh") and refined.system_prompt == "Be kind."


# -- one run per folder, a full disk (issue 20) ---------------------------------------------
def test_a_second_run_skips_or_waits_and_says_which(tmp_path, tiny_model_dir, capsys):
    import threading

    from desktop_app.cli import EXIT_BUSY
    from desktop_app.library.run_lock import RunLock

    folder, data = tmp_path / "f", tmp_path / "data"
    good = make_folder(folder, good=2, broken=False)
    other_run = RunLock.for_folder(folder, data)
    assert other_run.try_acquire()
    assert caption(folder, tiny_model_dir, data, "--if-busy", "skip") == EXIT_BUSY
    err = capsys.readouterr().err
    assert "skipped: another caption run" in err and f"process {os.getpid()}" in err
    assert not any(p.with_suffix(".txt").exists() for p in good)
    threading.Timer(1.0, other_run.release).start()
    assert caption(folder, tiny_model_dir, data) == 0  # --if-busy wait is the default
    captured = capsys.readouterr()
    assert "waiting: another caption run" in captured.err and "ended; starting" in captured.err
    assert "2 to caption" in captured.out
    assert all(p.with_suffix(".txt").exists() for p in good)


def test_two_runs_at_once_caption_each_file_once(tmp_path, tiny_model_dir):
    folder, data = tmp_path / "f", tmp_path / "data"
    good = make_folder(folder, good=6, broken=False)
    cmd = [sys.executable, "-m", "desktop_app", "caption", str(folder), "--model", str(tiny_model_dir),
           "--max-new-tokens", "8", "--data-dir", str(data), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("waiting: another caption run" in err for _, err in outputs) == 1, outputs
    counts = _generation_counts(data)
    assert set(counts) == {p.name for p in good} and set(counts.values()) == {1}, counts


def test_a_full_disk_mid_run_says_where_and_keeps_the_store(tmp_path, tiny_model_dir, capsys, monkeypatch):
    from desktop_app.library.store import CaptionStore

    folder, data = tmp_path / "f", tmp_path / "data"
    make_folder(folder, good=3, broken=False)
    real = CaptionStore.record_result
    stored: list[str] = []

    def then_full(self, rel_path, caption, variants, metadata, *args, **kwargs):
        if stored:  # after the first caption the database may not grow any more, as on a full disk
            pages = self.db.conn.execute("PRAGMA page_count").fetchone()[0]
            self.db.conn.execute(f"PRAGMA max_page_count = {pages}")
            metadata = dict(metadata, padding="x" * 200_000)
        done = real(self, rel_path, caption, variants, metadata, *args, **kwargs)
        stored.append(rel_path)
        return done

    monkeypatch.setattr(CaptionStore, "record_result", then_full)
    assert caption(folder, tiny_model_dir, data, "--batch-size", "1") == 1
    err = capsys.readouterr().err
    (db,) = list(data.rglob("*.sqlite3"))
    assert "error: the disk holding the caption store is full" in err and str(db) in err
    assert "Traceback" not in err and "OperationalError" not in err
    monkeypatch.setattr(CaptionStore, "record_result", real)
    assert _generation_counts(data) == {stored[0].rsplit("/", 1)[-1]: 1}  # integrity checked there too
    with Library.open(folder, data_dir=data) as lib:
        assert lib.item(folder / stored[0]).status == Status.DONE
