"""The export command: every format, variants, mirrored trees, only-missing, failures, exit codes."""

from __future__ import annotations

import csv
import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import Library
from desktop_app.library.atomic import is_temp_file
from desktop_app.library.export import export_main
from desktop_app.library.xmp import read_description
from tests.library.conftest import make_files, png_bytes, tree

TRICKY = 'Line one, with "quotes" & <tags>\nline two; émoji 😀'


@pytest.fixture
def captioned(media: Path, data_dir: Path) -> Path:
    """A folder with captioned, edited, pending and failed files, and duplicate base names."""
    make_files(media, ["a.jpg", "a.png", "b.jpg", "pending.jpg", "failed.jpg",
                       "one/x.jpg", "two/x.jpg"], png_bytes())
    with Library.open(media, data_dir=data_dir, recursive=True) as library:
        library.record_result("a.jpg", "jpg cap", ["jpg cap", "jpg alt"], {"model": "tiny", "prompt": "P", "seed": 7})
        library.record_result("a.png", "png cap", ["png cap"], {"model": "tiny"})
        library.record_result("b.jpg", "generated", ["generated", "second", "third"], {"model": "tiny"})
        library.record_edit("b.jpg", TRICKY)
        library.record_failure("failed.jpg", "broken file")
        library.record_result("one/x.jpg", "first x", ["first x"], None)
        library.record_result("two/x.jpg", "second x", ["second x"], None)
    return media


def run(*args: str | Path) -> int:
    return export_main([str(a) for a in args])


def test_txt_beside_each_file_with_collision_rule(captioned: Path, data_dir: Path) -> None:
    assert run(captioned, "--format", "txt", "--recursive") == 0
    assert (captioned / "a.jpg.txt").read_text() == "jpg cap"
    assert (captioned / "a.png.txt").read_text() == "png cap"
    assert (captioned / "b.txt").read_text(encoding="utf-8") == TRICKY
    assert (captioned / "one" / "x.txt").read_text() == "first x"
    assert (captioned / "two" / "x.txt").read_text() == "second x"
    assert not (captioned / "pending.txt").exists() and not (captioned / "failed.txt").exists()
    with Library.open(captioned, data_dir=data_dir, recursive=True) as library:
        assert library.last_sync.imported == [] and library.last_sync.conflicts == []
        assert library.unsaved() == []


def test_txt_variants_joined_and_separate_in_mirrored_tree(captioned: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(captioned, "--format", "txt", "--recursive", "--out", out, "--variants", "joined") == 0
    assert (out / "b.txt").read_text(encoding="utf-8") == f"{TRICKY}\n\nsecond\n\nthird"
    assert (out / "one" / "x.txt").read_text() == "first x" and (out / "two" / "x.txt").read_text() == "second x"
    assert not list(captioned.glob("*.txt"))  # nothing written beside the media
    sep = tmp_path / "sep"
    assert run(captioned, "--format", "txt", "--recursive", "--out", sep, "--variants", "separate",
               "--ext", ".caption") == 0
    assert sorted(p.name for p in sep.glob("b.*")) == ["b.1.caption", "b.2.caption", "b.3.caption"]
    assert (sep / "b.3.caption").read_text() == "third"
    assert (sep / "a.jpg.1.caption").read_text() == "jpg cap" and (sep / "a.jpg.2.caption").read_text() == "jpg alt"


def test_only_missing_skips_existing_targets(captioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (captioned / "a.jpg.txt").write_text("hand written")
    assert run(captioned, "--format", "txt", "--only-missing") == 0
    assert (captioned / "a.jpg.txt").read_text() == "hand written"  # imported on open, not overwritten
    assert (captioned / "a.png.txt").read_text() == "png cap"
    # a second run writes nothing
    capsys.readouterr()
    assert run(captioned, "--format", "txt", "--only-missing") == 0
    assert capsys.readouterr().out.startswith("0 written")


def test_only_missing_for_one_file_formats(captioned: Path) -> None:
    (captioned / "captions.csv").write_text("keep me")
    assert run(captioned, "--format", "csv", "--only-missing") == 0
    assert (captioned / "captions.csv").read_text() == "keep me"


def rows_by_path(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["path"]): r for r in rows}


def test_jsonl_and_json(captioned: Path, tmp_path: Path) -> None:
    assert run(captioned, "--format", "jsonl", "--recursive", "--out", tmp_path / "o") == 0
    lines = (tmp_path / "o" / "captions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = rows_by_path([json.loads(line) for line in lines])
    assert set(rows) == {"a.jpg", "a.png", "b.jpg", "pending.jpg", "failed.jpg", "one/x.jpg", "two/x.jpg"}
    assert rows["a.jpg"]["variants"] == ["jpg cap", "jpg alt"] and rows["a.jpg"]["seed"] == 7
    assert rows["a.jpg"]["model"] == "tiny" and rows["a.jpg"]["prompt"] == "P"
    assert rows["b.jpg"]["caption"] == TRICKY and rows["b.jpg"]["status"] == "edited"
    assert rows["pending.jpg"]["status"] == "pending" and rows["failed.jpg"]["status"] == "failed"
    assert run(captioned, "--format", "json", "--recursive") == 0
    data = json.loads((captioned / "captions.json").read_text(encoding="utf-8"))
    assert rows_by_path(data)["b.jpg"]["caption"] == TRICKY


def test_csv_round_trips_newlines_and_quotes(captioned: Path) -> None:
    assert run(captioned, "--format", "csv", "--recursive") == 0
    raw = (captioned / "captions.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with open(captioned / "captions.csv", newline="", encoding="utf-8") as handle:
        rows = rows_by_path(list(csv.DictReader(handle)))
    assert rows["b.jpg"]["caption"] == TRICKY
    assert json.loads(str(rows["b.jpg"]["variants"])) == ["generated", "second", "third"]
    assert list(rows["a.jpg"]) == ["path", "caption", "variants", "status", "model", "prompt", "seed", "truncated",
                                   "review"]


def test_hf_metadata_jsonl(captioned: Path) -> None:
    assert run(captioned, "--format", "hf", "--recursive") == 0
    rows = [json.loads(x) for x in (captioned / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["file_name"]: r["text"] for r in rows} == {
        "a.jpg": "jpg cap", "a.png": "png cap", "b.jpg": TRICKY, "one/x.jpg": "first x", "two/x.jpg": "second x",
    }


def test_hf_loads_with_datasets(captioned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    datasets = pytest.importorskip("datasets")
    assert run(captioned, "--format", "hf", "--recursive") == 0
    dataset = datasets.load_dataset("imagefolder", data_dir=str(captioned), split="train",
                                    cache_dir=str(tmp_path / "hf-cache"))
    assert sorted(dataset["text"]) == sorted(["jpg cap", "png cap", TRICKY, "first x", "second x"])
    assert dataset[0]["image"].size == (4, 4)


def test_xmp_sidecars(captioned: Path, tmp_path: Path) -> None:
    existing = captioned / "a.png.xmp"
    existing.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
                        '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
                        'xmlns:darktable="http://darktable.sf.net/" darktable:xmp_version="5"/>'
                        "</rdf:RDF></x:xmpmeta>")
    assert run(captioned, "--format", "xmp", "--recursive") == 0
    assert read_description((captioned / "b.jpg.xmp").read_bytes()) == TRICKY
    assert read_description((captioned / "one" / "x.jpg.xmp").read_bytes()) == "first x"
    merged = existing.read_text(encoding="utf-8")
    assert read_description(merged.encode()) == "png cap" and 'darktable:xmp_version="5"' in merged
    assert not (captioned / "pending.jpg.xmp").exists()
    assert run(captioned, "--format", "xmp", "--out", tmp_path / "x") == 0
    assert read_description((tmp_path / "x" / "a.jpg.xmp").read_bytes()) == "jpg cap"


def test_broken_existing_xmp_is_left_alone(captioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (captioned / "a.jpg.xmp").write_text("<garbage")
    assert run(captioned, "--format", "xmp") == 1
    assert (captioned / "a.jpg.xmp").read_text() == "<garbage"
    err = capsys.readouterr().err
    assert "a.jpg.xmp" in err and "not valid XML" in err
    assert (captioned / "a.png.xmp").exists()  # the others were written


def test_read_only_target_fails_clearly_and_changes_nothing(
        captioned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        make_read_only: Callable[[Path], None]) -> None:
    out = tmp_path / "ro"
    (out / "one").mkdir(parents=True)
    make_read_only(out)
    assert run(captioned, "--format", "txt", "--recursive", "--out", out) == 1
    err = capsys.readouterr().err
    for name in ("a.jpg.txt", "a.png.txt", "b.txt", "x.txt"):
        assert name in err
    assert "read-only" in err or "Permission denied" in err
    assert tree(out) == {} and sorted(p.name for p in out.iterdir()) == ["one"]
    make_read_only(captioned)
    before = tree(captioned)
    assert run(captioned, "--format", "csv") == 1
    assert "captions.csv" in capsys.readouterr().err and tree(captioned) == before


def test_failure_mid_write_keeps_old_sidecar(captioned: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run(captioned, "--format", "txt") == 0
    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        if str(dst).endswith("b.txt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with Library.open(captioned, data_dir=os.environ["CAPTION_STUDIO_DATA_DIR"]) as library:
        library.record_edit("b.jpg", "a newer caption")
    assert run(captioned, "--format", "txt") == 1
    assert "No space left on device" in capsys.readouterr().err
    assert (captioned / "b.txt").read_text(encoding="utf-8") == TRICKY
    assert not [p for p in captioned.rglob("*") if is_temp_file(p.name)]


@pytest.mark.parametrize("argv", [
    ["{missing}", "--format", "txt"],
    ["{folder}", "--format", "docx"],
    ["{folder}"],
    ["{folder}", "--format", "txt", "--ext", "a/b"],
    ["{folder}", "--format", "txt", "--variants", "all"],
])
def test_usage_errors_exit_2(media: Path, data_dir: Path, argv: list[str]) -> None:
    args = [a.format(missing=media / "nope", folder=media) for a in argv]
    assert export_main(args) == 2


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert export_main(["--help"]) == 0
    assert "--only-missing" in capsys.readouterr().out


def test_summary_line(captioned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(captioned, "--format", "jsonl") == 0
    assert capsys.readouterr().out.strip() == "1 written, 0 skipped, 0 failed"
