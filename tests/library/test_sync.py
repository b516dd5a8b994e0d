"""Folder sync: new and vanished files, sidecar import, external changes, conflicts."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import (
    Library,
    RunPolicy,
    SidecarChangedError,
    Source,
    Status,
    sidecar_path,
)
from tests.library.conftest import make_files, tree

OpenLibrary = Callable[..., Library]


def touch_later(path: Path, text: str) -> None:
    """Rewrite a file as another tool would, with a visibly newer mtime."""
    stat = path.stat() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if stat is not None:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_new_files_are_pending_and_vanished_ones_hidden_not_deleted(media: Path,
                                                                      open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = open_library(media)
    assert library.last_sync.added == ["a.jpg", "b.jpg"]
    library.record_result("b.jpg", "kept", [], None)
    (media / "b.jpg").unlink()
    make_files(media, ["c.png"])
    report = library.sync()
    assert report.added == ["c.png"] and report.missing == ["b.jpg"]
    assert [r.rel_path for r in library.items()] == ["a.jpg", "c.png"]
    gone = library.item("b.jpg")
    assert gone is not None and not gone.present and gone.caption == "kept"
    assert "b.jpg" not in [p.name for p in library.pending()]
    make_files(media, ["b.jpg"])
    assert library.sync().returned == ["b.jpg"]
    back = library.item("b.jpg")
    assert back is not None and back.present and back.caption == "kept"


def test_existing_sidecars_are_imported_as_edited(media: Path, open_library: OpenLibrary) -> None:
    # Sidecars the app did not write, present when the folder is first opened, are edits.
    make_files(media, ["a.jpg", "b.jpg", "sub/c.png"])
    (media / "a.txt").write_text("a caption\n", encoding="utf-8")
    (media / "sub" / "c.txt").write_bytes("\ufeffunicode ✓".encode("utf-8"))
    library = open_library(media, recursive=True)
    assert library.last_sync.imported == ["a.jpg", "sub/c.png"]
    a = library.item("a.jpg")
    assert a is not None and a.status is Status.EDITED and a.source is Source.SIDECAR
    assert a.caption == "a caption" and not a.dirty
    c = library.item("sub/c.png")
    assert c is not None and c.caption == "unicode ✓"
    assert [p.name for p in library.pending()] == ["b.jpg"]


def test_sidecar_extension_is_configurable(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    (media / "a.txt").write_text("from txt")
    (media / "a.caption").write_text("from caption")
    library = open_library(media, sidecar_ext=".caption")
    record = library.item("a.jpg")
    assert record is not None and record.caption == "from caption"


def test_duplicate_base_names_use_full_name_sidecars(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "a.png", "b.jpg"])
    (media / "a.jpg.txt").write_text("jpg caption")
    (media / "a.png.txt").write_text("png caption")
    (media / "a.txt").write_text("ambiguous: ignored")
    library = open_library(media)
    assert [library.item(n).caption for n in ("a.jpg", "a.png")] == ["jpg caption", "png caption"]  # type: ignore[union-attr]
    assert library.sidecar_path("a.jpg").name == "a.jpg.txt"
    assert library.sidecar_path("b.jpg").name == "b.txt"
    assert sidecar_path(media / "a.png").name == "a.png.txt"
    assert sidecar_path(media / "b.jpg", ".caption").name == "b.caption"


def test_unchanged_sidecar_is_not_reimported(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    (media / "a.txt").write_text("original")
    library = open_library(media)
    library.record_result("a.jpg", "generated later", [], None, policy=RunPolicy.OVERWRITE_ALL)
    assert library.sync().imported == []
    record = library.item("a.jpg")
    assert record is not None and record.caption == "generated later"


def test_external_change_is_imported_and_old_caption_kept_in_history(media: Path,
                                                                      open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "ours", [], None)
    library.write_sidecar("a.jpg")
    touch_later(media / "a.txt", "changed by kohya")
    with pytest.raises(SidecarChangedError):
        library.write_sidecar("a.jpg")  # never overwrite a change we have not seen
    assert (media / "a.txt").read_text() == "changed by kohya"
    report = library.sync()
    assert report.imported == ["a.jpg"] and report.conflicts == []
    record = library.item("a.jpg")
    assert record is not None and record.caption == "changed by kohya" and record.source is Source.SIDECAR
    assert [h.caption for h in library.history("a.jpg")] == ["ours", "changed by kohya"]
    library.write_sidecar("a.jpg")  # seen now: writing is allowed again


def test_unsaved_edit_plus_external_change_is_a_conflict(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    (media / "a.txt").write_text("first")
    library = open_library(media)
    library.record_edit("a.jpg", "my unsaved edit")
    touch_later(media / "a.txt", "theirs")
    library.close()
    library = open_library(media)
    [conflict] = library.last_sync.conflicts
    assert conflict.rel_path == "a.jpg" and conflict.library_caption == "my unsaved edit"
    assert conflict.sidecar_caption == "theirs" and conflict.sidecar.endswith("a.txt")
    record = library.item("a.jpg")
    assert record is not None and record.caption == "my unsaved edit" and record.status is Status.EDITED
    aside = [h for h in library.history("a.jpg") if not h.on_undo_chain]
    assert [(h.caption, h.source) for h in aside] == [("theirs", Source.CONFLICT)]
    assert library.sync().conflicts == []  # reported once, not at every open
    assert (media / "a.txt").read_text() == "theirs"


def test_deleted_sidecar_marks_caption_unsaved(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    (media / "a.txt").write_text("cap")
    library = open_library(media)
    (media / "a.txt").unlink()
    library.sync()
    record = library.item("a.jpg")
    assert record is not None and record.caption == "cap" and record.dirty
    assert [r.rel_path for r in library.unsaved()] == ["a.jpg"]


def test_empty_sidecar_is_ignored(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    (media / "a.txt").write_text("")
    library = open_library(media)
    record = library.item("a.jpg")
    assert record is not None and record.status is Status.PENDING


def test_changed_media_file_is_reported(media: Path, open_library: OpenLibrary) -> None:
    [path] = make_files(media, ["a.jpg"])
    library = open_library(media)
    path.write_bytes(b"new content")
    assert library.sync().changed == ["a.jpg"]


def test_read_only_media_folder_works(media: Path, open_library: OpenLibrary,
                                      make_read_only: Callable[[Path], None]) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    (media / "a.txt").write_text("existing")
    make_read_only(media)
    before = tree(media)
    library = open_library(media)
    assert library.item("a.jpg").caption == "existing"  # type: ignore[union-attr]
    assert library.record_result("b.jpg", "generated", [], None)
    library.record_edit("a.jpg", "edited")
    assert library.undo("a.jpg") == "existing"
    with pytest.raises(PermissionError, match="b.txt"):
        library.write_sidecar("b.jpg")
    library.close()
    assert open_library(media).item("b.jpg").caption == "generated"  # type: ignore[union-attr]
    assert tree(media) == before


# -- edits made outside the app (issue 20) --------------------------------------------------
def test_hand_edited_sidecar_is_an_edit_a_skip_edited_run_keeps(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg", "b.jpg"])
    library = open_library(media)
    for name in ("a.jpg", "b.jpg"):
        library.record_result(name, f"generated {name}", [], None)
        library.write_sidecar(name)
    touch_later(media / "a.txt", "fixed by hand in a text editor")
    assert library.sync().imported == ["a.jpg"]
    record = library.item("a.jpg")
    assert record is not None and record.status is Status.EDITED and record.source is Source.SIDECAR
    assert record.caption == "fixed by hand in a text editor" and not record.dirty
    b = library.item("b.jpg")
    assert b is not None and b.status is Status.DONE  # the app's own sidecar, untouched
    # A run that re-captions everything but edits neither plans nor stores the edited file.
    assert [p.name for p in library.pending(RunPolicy.SKIP_EDITED_ONLY)] == ["b.jpg"]
    assert not library.record_result("a.jpg", "generated again", [], None, policy=RunPolicy.SKIP_EDITED_ONLY)
    assert (media / "a.txt").read_text() == "fixed by hand in a text editor"
    library.close()
    reopened = open_library(media)  # and it stays an edit across opens
    assert reopened.item("a.jpg").status is Status.EDITED  # type: ignore[union-attr]


def test_sidecar_edited_during_a_run_is_not_overwritten_and_wins(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "first run", [], None)
    library.write_sidecar("a.jpg")
    touch_later(media / "a.txt", "edited while a run was going")  # the run has not synced since
    assert library.record_result("a.jpg", "second run", [], None, policy=RunPolicy.SKIP_EDITED_ONLY)
    with pytest.raises(SidecarChangedError):
        library.write_sidecar("a.jpg")
    assert (media / "a.txt").read_text() == "edited while a run was going"
    library.sync()
    record = library.item("a.jpg")
    assert record is not None and record.status is Status.EDITED
    assert record.caption == "edited while a run was going"
    assert library.unsaved() == []  # nothing left for a later run to write over it


def test_touched_sidecar_holding_what_the_app_wrote_is_not_an_edit(media: Path, open_library: OpenLibrary) -> None:
    make_files(media, ["a.jpg"])
    library = open_library(media)
    library.record_result("a.jpg", "one", ["one", "two"], None)
    library.write_sidecar("a.jpg", "one\n\ntwo")  # what `caption --variants 2` writes
    touch_later(media / "a.txt", "one\n\ntwo\n")  # copied back by a sync tool: same text, new stamp
    assert library.sync().imported == []
    record = library.item("a.jpg")
    assert record is not None and record.status is Status.DONE and record.caption == "one"
