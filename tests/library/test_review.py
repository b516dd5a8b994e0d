"""Review marks: schema migration from v1, set/get, reopen, cleared by new results, exports."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import Library, Review, RunPolicy, Status
from desktop_app.library.database import _MIGRATIONS, SCHEMA_VERSION, database_path
from desktop_app.library.exporters import ExportOptions, export
from tests.library.conftest import make_files

OpenLibrary = Callable[..., Library]


def _v1_database(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A database as the previous app version left it: schema 1 with some items."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(_MIGRATIONS[0])
    conn.executemany(
        "INSERT INTO items (rel_path, status, caption, source, updated_at) VALUES (?, ?, ?, ?, 0)", rows)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_schema_version_2_adds_the_review_column() -> None:
    assert SCHEMA_VERSION == len(_MIGRATIONS) >= 2  # version 3 added comparisons
    assert "ADD COLUMN review" in _MIGRATIONS[1]


def test_v1_database_migrates_and_keeps_its_captions(media: Path, data_dir: Path,
                                                     open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    db = database_path(media, data_dir)
    _v1_database(db, [("a.jpg", "edited", "my words", "edit"), ("b.jpg", "pending", "", None)])
    library = open_library(media)
    conn = library.db.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {r["name"]: r for r in conn.execute("PRAGMA table_info(items)")}
    assert columns["review"]["notnull"] == 1
    a = library.item("a.jpg")
    assert a is not None and a.caption == "my words" and a.status is Status.EDITED
    assert a.review is Review.NONE
    assert library.set_review("a.jpg", Review.FLAGGED)
    assert library.item("a.jpg").review is Review.FLAGGED  # type: ignore[union-attr]


def test_set_review_is_committed_and_survives_reopen(media: Path, data_dir: Path,
                                                     open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg", "c.jpg"])
    library = open_library(media)
    assert all(r.review is Review.NONE for r in library.items())
    assert library.set_review("a.jpg", Review.APPROVED)
    assert library.set_review(media / "b.jpg", "flagged")  # absolute paths and plain strings too
    assert not library.set_review("a.jpg", "approved")  # unchanged
    assert library.item("a.jpg").review is Review.APPROVED  # type: ignore[union-attr]
    # Committed: another connection sees it before this one closes.
    raw = sqlite3.connect(database_path(media, data_dir))
    assert dict(raw.execute("SELECT rel_path, review FROM items").fetchall()) == {
        "a.jpg": "approved", "b.jpg": "flagged", "c.jpg": ""}
    raw.close()
    library.close()
    again = open_library(media)
    assert {r.rel_path: r.review for r in again.items()} == {
        "a.jpg": Review.APPROVED, "b.jpg": Review.FLAGGED, "c.jpg": Review.NONE}
    assert again.set_review("b.jpg", Review.NONE)
    assert again.item("b.jpg").review is Review.NONE  # type: ignore[union-attr]


def test_set_review_refuses_unknown_files_and_marks(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    with pytest.raises(KeyError):
        library.set_review("nope.jpg", Review.APPROVED)
    with pytest.raises(ValueError):
        library.set_review("a.jpg", "great")
    assert library.item("a.jpg").review is Review.NONE  # type: ignore[union-attr]


def test_edits_keep_the_mark_new_results_clear_it(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "A cat.")
    library.record_result("b.jpg", "A dog.")
    library.set_review("a.jpg", Review.APPROVED)
    library.set_review("b.jpg", Review.FLAGGED)

    library.record_edit("a.jpg", "A black cat.")
    library.record_failure("b.jpg", "out of memory")  # a failed retry keeps caption and mark
    assert library.item("a.jpg").review is Review.APPROVED  # type: ignore[union-attr]
    assert library.item("b.jpg").review is Review.FLAGGED  # type: ignore[union-attr]

    # The user's edit is kept under the default policy: so is the mark.
    assert not library.record_result("a.jpg", "A cat again.")
    assert library.item("a.jpg").review is Review.APPROVED  # type: ignore[union-attr]
    assert library.record_result("a.jpg", "A cat again.", policy=RunPolicy.OVERWRITE_ALL)
    assert library.record_result("b.jpg", "A dog again.", policy=RunPolicy.OVERWRITE_ALL)
    assert library.item("a.jpg").review is Review.NONE  # type: ignore[union-attr]
    assert library.item("b.jpg").review is Review.NONE  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_tables_export_the_review_mark(media: Path, open_library: OpenLibrary, fmt: str) -> None:
    make_files(media, ["a.jpg", "b.jpg", "c.jpg"])
    library = open_library(media)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        library.record_result(name, f"caption of {name}")
    library.set_review("a.jpg", Review.APPROVED)
    library.set_review("b.jpg", Review.FLAGGED)
    result = export(library, ExportOptions(fmt=fmt))
    assert not result.failed
    target = result.written[0]
    if fmt == "csv":
        with open(target, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    elif fmt == "json":
        rows = json.loads(target.read_text(encoding="utf-8"))
    else:
        rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["path"]: r["review"] for r in rows} == {"a.jpg": "approved", "b.jpg": "flagged", "c.jpg": ""}
