"""Comparisons stored in the library (schema v3, migrated from v2) and boxes/comparisons in exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop_app.library import Library
from desktop_app.library import database
from desktop_app.library.database import database_path
from desktop_app.library.export import export_main
from tests.library.conftest import make_files, png_bytes

BOXES = '```json\n[{"bbox_2d": [100, 200, 300, 400], "label": "cat"}, {"bbox_2d": [0, 0, 1000, 500], "label": "sky"}]\n```'


def test_record_and_list_comparisons(media: Path, data_dir: Path) -> None:
    make_files(media, ["a.png", "b.png", "sub/c.png"], png_bytes())
    with Library.open(media, data_dir=data_dir, recursive=True) as library:
        first = library.record_comparison("What differs?", [media / "b.png", "a.png"], "The colour.",
                                          model="tiny", extra={"max_new_tokens": 9})
        second = library.record_comparison("Same style?", ["a.png", media / "sub" / "c.png"], "Yes.",
                                           truncated=True)
        with pytest.raises(ValueError):
            library.record_comparison("one image", ["a.png"], "x")
        with pytest.raises(ValueError):
            library.record_comparison("too many", ["a.png"] * 21, "x")
        with pytest.raises(ValueError):
            library.record_comparison("outside", ["a.png", media.parent / "elsewhere.png"], "x")
    with Library.open(media, data_dir=data_dir, recursive=True) as library:
        stored = library.comparisons()
        assert [c.id for c in stored] == [second.id, first.id]  # newest first
        assert stored[1].paths == ("b.png", "a.png")  # the order sent is kept
        assert stored[1].answer == "The colour." and stored[1].model == "tiny"
        assert stored[1].extra == {"max_new_tokens": 9}
        assert stored[0].paths == ("a.png", "sub/c.png") and stored[0].truncated
        assert library.delete_comparison(first.id) and not library.delete_comparison(first.id)
        assert [c.id for c in library.comparisons()] == [second.id]


def test_a_version_2_database_is_migrated_keeping_its_captions(media: Path, data_dir: Path) -> None:
    make_files(media, ["a.png", "b.png"], png_bytes())
    path = database_path(media, data_dir)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for script in database._MIGRATIONS[:2]:
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO items (rel_path, status, caption, updated_at) VALUES ('a.png', 'edited', 'kept', 0)")
    conn.close()
    with Library.open(media, data_dir=data_dir) as library:
        assert library.db.query("PRAGMA user_version")[0][0] == database.SCHEMA_VERSION >= 3
        assert library.item("a.png").caption == "kept"
        assert library.comparisons() == []
        library.record_comparison("Q", ["a.png", "b.png"], "A")
        assert len(library.comparisons()) == 1


def test_json_exports_carry_boxes_and_comparisons_export_alone(media: Path, data_dir: Path) -> None:
    from PIL import Image

    Image.new("RGB", (640, 480)).save(media / "boxes.png")
    make_files(media, ["plain.png"], png_bytes())
    with Library.open(media, data_dir=data_dir) as library:
        library.record_result("boxes.png", BOXES, [BOXES], {"model": "tiny"})
        library.record_result("plain.png", "A red square.", ["A red square."], {"model": "tiny"})
        library.record_comparison("Differences?", ["plain.png", "boxes.png"], "Size.", model="tiny")

    assert export_main([str(media), "--format", "jsonl"]) == 0
    rows = {r["path"]: r for r in map(json.loads, (media / "captions.jsonl").read_text().splitlines())}
    assert "boxes" not in rows["plain.png"]
    assert rows["boxes.png"]["boxes"] == [
        {"label": "cat", "bbox_2d": [100, 200, 300, 400], "bbox_pixels": [64, 96, 192, 192]},
        {"label": "sky", "bbox_2d": [0, 0, 1000, 500], "bbox_pixels": [0, 0, 640, 240]},
    ]
    assert export_main([str(media), "--format", "json"]) == 0
    rows = json.loads((media / "captions.json").read_text())
    assert [len(r.get("boxes", [])) for r in rows] == [2, 0]
    assert export_main([str(media), "--format", "csv"]) == 0
    assert "boxes" not in (media / "captions.csv").read_text().splitlines()[0]

    assert export_main([str(media), "--format", "comparisons"]) == 0
    (comparison,) = json.loads((media / "comparisons.json").read_text())
    assert comparison["paths"] == ["plain.png", "boxes.png"]
    assert (comparison["question"], comparison["answer"], comparison["model"]) == ("Differences?", "Size.", "tiny")
    assert comparison["created_at"].endswith("+00:00")
