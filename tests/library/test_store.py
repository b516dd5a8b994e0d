"""Caption store: commits, reopen, policies, edits never overwritten, undo/redo, schema."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import GenerationMetadata, Library, RunPolicy, Source, Status
from desktop_app.library.database import SCHEMA_VERSION, data_dir, database_path
from tests.library.conftest import make_files

OpenLibrary = Callable[..., Library]


def test_database_lives_in_data_dir_keyed_by_resolved_path(media: Path, data_dir: Path,
                                                           open_library: OpenLibrary) -> None:
    library = open_library(media)
    assert library.db.path.parent.parent == data_dir
    assert library.db.path == database_path(media / "." / "sub" / "..", data_dir)
    assert library.db.path.name.startswith("media-")
    other = media.parent / "other"
    other.mkdir()
    assert database_path(other, data_dir) != library.db.path
    assert not any(p.suffix.startswith(".sqlite") for p in media.iterdir())


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPTION_STUDIO_DATA_DIR", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("CAPTION_STUDIO_DATA_DIR")
    assert "caption-studio" in str(data_dir())


def test_schema_is_versioned_and_wal(media: Path, open_library: OpenLibrary) -> None:
    library = open_library(media)
    conn = library.db.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"


def test_newer_schema_is_refused(media: Path, data_dir: Path, open_library: OpenLibrary) -> None:
    open_library(media).close()
    path = database_path(media, data_dir)
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(RuntimeError, match="newer"):
        Library.open(media, data_dir=data_dir)


def test_results_are_committed_and_survive_reopen(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = open_library(media)
    meta = GenerationMetadata(model="Qwen3-VL-2B", prompt="Describe.", params={"temperature": 0.7}, seed=42)
    assert library.record_result("a.jpg", "A cat.", ["A cat.", "A feline."], meta, truncated=True)
    # Another connection sees it at once: it was committed, not merely buffered.
    raw = sqlite3.connect(library.db.path)
    assert raw.execute("SELECT caption FROM items WHERE rel_path='a.jpg'").fetchone()[0] == "A cat."
    raw.close()
    library.close()
    record = open_library(media).item("a.jpg")
    assert record is not None and record.status is Status.DONE and record.caption == "A cat."
    assert record.variants == ("A cat.", "A feline.") and record.truncated
    assert record.metadata is not None and record.metadata.model == "Qwen3-VL-2B"
    assert record.metadata.params == {"temperature": 0.7} and record.metadata.seed == 42


def test_metadata_as_plain_dict_keeps_unknown_keys(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result(media / "a.jpg", "x", [], {"model": "m", "seed": 1, "reasoning": "hmm"})
    record = library.item("a.jpg")
    assert record is not None and record.metadata is not None
    assert record.metadata.extra == {"reasoning": "hmm"} and record.variants == ("x",)


def test_failure_is_recorded_and_does_not_hide_a_caption(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = open_library(media)
    library.record_failure("a.jpg", "cannot identify image file")
    library.record_result("b.jpg", "cap", ["cap"], None)
    library.record_failure("b.jpg", "out of memory")
    a, b = library.item("a.jpg"), library.item("b.jpg")
    assert a is not None and a.status is Status.FAILED and a.failure_reason == "cannot identify image file"
    assert b is not None and b.status is Status.DONE and b.caption == "cap"


def test_policies_choose_what_a_run_captions(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["p.jpg", "d.jpg", "e.jpg", "f.jpg"])
    library = open_library(media)
    library.record_result("d.jpg", "done", [], None)
    library.record_result("e.jpg", "gen", [], None)
    library.record_edit("e.jpg", "edited")
    library.record_failure("f.jpg", "bad")

    def rels(policy: RunPolicy, subset: list[str] | None = None) -> list[str]:
        return [p.name for p in library.pending(policy, subset)]

    assert rels(RunPolicy.SKIP_DONE_AND_EDITED) == ["f.jpg", "p.jpg"]
    assert rels(RunPolicy.SKIP_EDITED_ONLY) == ["d.jpg", "f.jpg", "p.jpg"]
    assert rels(RunPolicy.OVERWRITE_ALL) == ["d.jpg", "e.jpg", "f.jpg", "p.jpg"]
    assert rels(RunPolicy.OVERWRITE_ALL, ["e.jpg", str(media / "p.jpg")]) == ["e.jpg", "p.jpg"]
    assert library.pending() == [media.resolve() / "f.jpg", media.resolve() / "p.jpg"]


def test_edit_is_never_replaced_unless_overwrite_all(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "generated", [], None)
    library.record_edit("a.jpg", "my words")
    for policy in (RunPolicy.SKIP_DONE_AND_EDITED, RunPolicy.SKIP_EDITED_ONLY):
        assert library.record_result("a.jpg", "new run", [], None, policy=policy) is False
        record = library.item("a.jpg")
        assert record is not None and record.caption == "my words" and record.status is Status.EDITED
    assert library.record_result("a.jpg", "new run", [], None, policy=RunPolicy.OVERWRITE_ALL)
    record = library.item("a.jpg")
    assert record is not None and record.caption == "new run" and record.status is Status.DONE
    assert "my words" in [h.caption for h in library.history("a.jpg")]


def test_truncated_flag_belongs_to_the_generated_caption(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "cut off mid", [], None, truncated=True)
    assert library.item("a.jpg").truncated
    library.record_edit("a.jpg", "cut off mid-sentence, fixed by hand")
    assert not library.item("a.jpg").truncated  # the user's text is not the cut one
    library.undo("a.jpg")
    assert library.item("a.jpg").truncated


def test_undo_redo_survive_reopen(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "v1", [], None)
    library.record_edit("a.jpg", "v2")
    library.record_edit("a.jpg", "v3")
    library.close()
    library = open_library(media)
    assert library.undo("a.jpg") == "v2"
    assert library.undo("a.jpg") == "v1"
    assert library.undo("a.jpg") is None
    record = library.item("a.jpg")
    assert record is not None and record.status is Status.DONE and record.source is Source.GENERATED
    library.close()
    library = open_library(media)
    assert library.redo("a.jpg") == "v2"
    record = library.item("a.jpg")
    assert record is not None and record.caption == "v2" and record.status is Status.EDITED
    library.record_edit("a.jpg", "v2b")  # a new change drops the redo step "v3"
    assert library.redo("a.jpg") is None
    history = library.history("a.jpg")
    assert [h.caption for h in history] == ["v1", "v2", "v3", "v2b"]
    assert [h.discarded for h in history] == [False, False, True, False]
    assert [h.current for h in history] == [False, False, False, True]


def test_edit_of_unknown_file_raises(media: Path, open_library: OpenLibrary) -> None:
    library = open_library(media)
    with pytest.raises(KeyError):
        library.record_edit("nope.jpg", "x")
    with pytest.raises(KeyError):
        library.undo("nope.jpg")


def test_same_edit_twice_is_a_no_op(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    assert library.record_edit("a.jpg", "x")
    assert not library.record_edit("a.jpg", "x")
    assert len(library.history("a.jpg")) == 1


def test_absolute_path_outside_folder_is_refused(media: Path, tmp_path: Path,
                                                 open_library: OpenLibrary) -> None:
    library = open_library(media)
    with pytest.raises(ValueError):
        library.record_result(tmp_path / "elsewhere.jpg", "x", [], None)
    with pytest.raises(ValueError):
        library.record_result("../elsewhere.jpg", "x", [], None)


def test_not_a_folder_is_refused(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(NotADirectoryError):
        Library.open(tmp_path / "missing", data_dir=data_dir)


def test_results_from_worker_threads(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, [f"img{i}.jpg" for i in range(40)])
    library = open_library(media)

    def work(start: int) -> None:
        for i in range(start, 40, 4):
            assert library.record_result(f"img{i}.jpg", f"cap {i}", [], None)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert library.pending() == []
    assert {r.caption for r in library.items()} == {f"cap {i}" for i in range(40)}
