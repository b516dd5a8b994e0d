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
    assert json.loads(str(rows["b.jpg"]["variants"])) == [TRICKY, "second", "third"]
    assert json.loads(str(rows["b.jpg"]["model_variants"])) == ["generated", "second", "third"]
    assert list(rows["a.jpg"]) == ["path", "caption", "variants", "model_variants", "status", "source", "model",
                                   "prompt", "seed", "seeds", "truncated", "review"]


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


# -- issue 20: real seeds, formats that agree, subfolders, safe CSV and JSONL ----------------
def jsonl_rows(path: Path) -> dict[str, dict[str, object]]:
    return rows_by_path([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])


def test_tables_write_the_seeds_the_engine_reported(media: Path, data_dir: Path) -> None:
    make_files(media, ["a.png", "b.png", "old.png"], png_bytes())
    with Library.open(media, data_dir=data_dir) as library:
        # What the engines report: `seeds`, one per variant (no `seed` key).
        library.record_result("a.png", "one", ["one", "two"], {"model": "tiny", "seeds": [1234, 5678]})
        library.record_result("b.png", "greedy", ["greedy"], {"model": "tiny", "seeds": [99]})
        library.record_result("old.png", "stored before", ["stored before"], {"model": "tiny", "seeds": [42]})
        library.db.conn.execute("UPDATE generations SET seed = NULL WHERE rel_path = 'old.png'")  # as older versions
    assert run(media, "--format", "jsonl") == 0
    rows = jsonl_rows(media / "captions.jsonl")
    assert (rows["a.png"]["seed"], rows["a.png"]["seeds"]) == (1234, [1234, 5678])
    assert (rows["b.png"]["seed"], rows["b.png"]["seeds"]) == (99, [99])
    assert (rows["old.png"]["seed"], rows["old.png"]["seeds"]) == (42, [42])
    assert run(media, "--format", "csv") == 0
    with open(media / "captions.csv", newline="", encoding="utf-8") as handle:
        csv_rows = rows_by_path(list(csv.DictReader(handle)))
    assert csv_rows["a.png"]["seed"] == "1234" and json.loads(str(csv_rows["a.png"]["seeds"])) == [1234, 5678]


def test_formats_agree_after_an_edit(captioned: Path, tmp_path: Path) -> None:
    (captioned / "pending.txt").write_text("from another tool")  # imported on open: a caption, no generation
    assert run(captioned, "--format", "jsonl") == 0
    rows = jsonl_rows(captioned / "captions.jsonl")
    b = rows["b.jpg"]
    assert b["caption"] == TRICKY and b["variants"] == [TRICKY, "second", "third"]
    assert b["model_variants"] == ["generated", "second", "third"] and b["source"] == "edit"
    a = rows["a.jpg"]
    assert a["variants"] == a["model_variants"] == ["jpg cap", "jpg alt"] and a["source"] == "generated"
    imported = rows["pending.jpg"]
    assert imported["variants"] == ["from another tool"] and imported["model_variants"] == []
    assert rows["failed.jpg"]["variants"] == []
    for row in rows.values():  # the first variant is the caption, in every row that has one
        assert not row["variants"] or row["variants"][0] == row["caption"]
    assert run(captioned, "--format", "json") == 0
    assert rows_by_path(json.loads((captioned / "captions.json").read_text(encoding="utf-8")))["b.jpg"] == b
    out = tmp_path / "sep"
    assert run(captioned, "--format", "txt", "--variants", "separate", "--out", out) == 0
    assert [(out / f"b.{n}.txt").read_text(encoding="utf-8") for n in (1, 2, 3)] == b["variants"]


def test_export_follows_the_subfolders_the_library_holds(captioned: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # `captioned` was opened with recursive=True: no --recursive needed to export it whole.
    assert run(captioned, "--format", "jsonl") == 0
    assert {"one/x.jpg", "two/x.jpg"} <= set(jsonl_rows(captioned / "captions.jsonl"))
    assert "including subfolders" in capsys.readouterr().err
    assert run(captioned, "--format", "txt") == 0
    assert (captioned / "one" / "x.txt").read_text() == "first x"
    assert run(captioned, "--format", "jsonl", "--no-recursive", "--out", tmp_path / "top") == 0
    assert "one/x.jpg" not in jsonl_rows(tmp_path / "top" / "captions.jsonl")
    err = capsys.readouterr().err
    assert "2 media files in subfolders were left out" in err and "--no-recursive" in err


def test_a_top_level_export_says_what_it_left_out(media: Path, data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    make_files(media, ["top.jpg", "sub/a.jpg", "sub/deeper/b.jpg"], png_bytes())
    (media / "sub" / "a.txt").write_text("a kohya caption in a subfolder")
    assert run(media, "--format", "jsonl") == 0
    assert set(jsonl_rows(media / "captions.jsonl")) == {"top.jpg"}
    err = capsys.readouterr().err
    assert "2 media files in subfolders were left out" in err and "pass --recursive" in err


FORMULAS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tHYPERLINK(\"x\")", "\r=1"]


def test_csv_neutralises_formulas_and_reads_back_with_pandas(media: Path, data_dir: Path) -> None:
    pandas = pytest.importorskip("pandas")
    names = [f"f{i}.png" for i in range(len(FORMULAS))] + ["=evil.png", "plain.png"]
    make_files(media, names, png_bytes())
    with Library.open(media, data_dir=data_dir) as library:
        for name, text in zip(names, FORMULAS):
            library.record_result(name, text, [text, "=alt"], {"model": "tiny", "prompt": "-p"})
        library.record_result("=evil.png", "fine", [], None)
        library.record_result("plain.png", "a cat, 2 dogs = 3 animals", [], None)
    assert run(media, "--format", "csv") == 0
    with open(media / "captions.csv", newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]  # nothing a spreadsheet runs
    frame = pandas.read_csv(media / "captions.csv", keep_default_na=False, dtype=str)
    assert len(frame) == len(names)
    rows = {r["path"]: r for r in frame.to_dict("records")}
    for name, text in zip(names, FORMULAS):
        assert rows[name]["caption"] == "'" + text  # one quote in front; the text itself is whole
        assert rows[name]["prompt"] == "'-p" and json.loads(rows[name]["variants"]) == [text, "=alt"]
    assert "'=evil.png" in rows and rows["'=evil.png"]["caption"] == "fine"
    assert rows["plain.png"]["caption"] == "a cat, 2 dogs = 3 animals"


LINE_BREAKS = "one\u2028two\u2029three\u0085four"


@pytest.mark.parametrize("fmt, name", [("jsonl", "captions.jsonl"), ("hf", "metadata.jsonl")])
def test_jsonl_escapes_unicode_line_breaks(media: Path, data_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, fmt: str, name: str) -> None:
    make_files(media, ["a.png", "b.png"], png_bytes())
    with Library.open(media, data_dir=data_dir) as library:
        library.record_result("a.png", LINE_BREAKS, [LINE_BREAKS], None)
        library.record_result("b.png", "plain", [], None)
    assert run(media, "--format", fmt) == 0
    text = (media / name).read_text(encoding="utf-8")
    assert not {"\u2028", "\u2029", "\u0085"} & set(text)
    lines = text.splitlines()
    assert len(lines) == 2
    texts = [json.loads(line)["caption" if fmt == "jsonl" else "text"] for line in lines]
    assert texts == [LINE_BREAKS, "plain"]
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    datasets = pytest.importorskip("datasets")
    dataset = datasets.load_dataset("json", data_files=str(media / name), split="train",
                                    cache_dir=str(tmp_path / "hf-cache"))
    column = "caption" if fmt == "jsonl" else "text"
    assert dataset.num_rows == 2 and dataset[column] == [LINE_BREAKS, "plain"]


def test_json_export_escapes_unicode_line_breaks(media: Path, data_dir: Path) -> None:
    make_files(media, ["a.png"], png_bytes())
    with Library.open(media, data_dir=data_dir) as library:
        library.record_result("a.png", LINE_BREAKS, [LINE_BREAKS], None)
    assert run(media, "--format", "json") == 0
    text = (media / "captions.json").read_text(encoding="utf-8")
    assert "\\u2028" in text and json.loads(text)[0]["caption"] == LINE_BREAKS
