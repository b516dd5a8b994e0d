"""Batch tag operations on a real library: each is one undo step that restores every file exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from desktop_app.library import Library
from desktop_app.library.tags import TagOp, plan_op
from desktop_app.ui.editing import BatchEdit, Change, apply_batch, redo_batch, undo_batch

CAPTIONS = [
    "1girl, solo, long hair, smile",
    "1girl,long_hair,blue eyes",
    "A girl with long hair walks, smiling at the sun., long hair, solo, solo",
    "landscape, mountain, lake",
    "  solo , 1girl ,  Long Hair",
    "",
    "A quiet lake at sunset. The water is still, and the sky glows.",
]


@pytest.fixture
def library(tmp_path: Path) -> Library:
    folder = tmp_path / "set"
    folder.mkdir()
    for i, caption in enumerate(CAPTIONS):
        Image.new("RGB", (8, 8), (i * 30, 0, 0)).save(folder / f"{i:02d}.png")
        if caption:
            (folder / f"{i:02d}.txt").write_bytes(caption.encode())
    lib = Library.open(folder, data_dir=tmp_path / "data")
    yield lib
    lib.close()


def _files(library: Library) -> dict[str, bytes | None]:
    out = {}
    for i in range(len(CAPTIONS)):
        path = library.root / f"{i:02d}.txt"
        out[path.name] = path.read_bytes() if path.exists() else None
    return out


def _stamps(library: Library) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in library.root.glob("*.txt")}


def _run(library: Library, op: TagOp, paths: list[Path] | None = None) -> BatchEdit:
    items = [(library.root / r.rel_path, r.caption) for r in library.items()]
    items = [(p, c) for p, c in items if paths is None or p in paths]
    batch = BatchEdit(op.label(0), [Change(p, old, new) for p, old, new in plan_op(items, op)])
    outcome = apply_batch(library, batch)
    assert not outcome.errors
    return batch


@pytest.mark.parametrize("op, changed", [
    (TagOp("rename", "long hair", "very long hair"), {"00.txt", "01.txt", "02.txt", "04.txt"}),
    (TagOp("delete", "solo"), {"00.txt", "02.txt", "04.txt"}),
    (TagOp("front", "long hair"), {"00.txt", "01.txt", "02.txt", "04.txt"}),
    (TagOp("add", "sks"), set(f"{i:02d}.txt" for i in range(7))),
    (TagOp("add_front", "sks"), set(f"{i:02d}.txt" for i in range(7))),
    (TagOp("dedupe"), {"02.txt"}),
])
def test_op_is_one_undo_step(library: Library, op: TagOp, changed: set[str]) -> None:
    before, stamps = _files(library), _stamps(library)
    batch = _run(library, op)
    after = _files(library)
    assert {name for name in after if after[name] != before[name]} == changed
    for name, stamp in _stamps(library).items():  # files without the tag are not even rewritten
        if name not in changed:
            assert stamp == stamps[name]
    undo = undo_batch(library, batch)
    assert not undo.errors and not undo.skipped
    restored = _files(library)
    for name in before:  # every file as it was (a caption that had no file has an empty one or none)
        assert restored[name] == before[name] or (before[name] is None and not restored[name])
    assert [r.caption for r in library.items()] == CAPTIONS
    redo_batch(library, batch)
    assert _files(library) == after


def test_sentences_survive_every_op(library: Library) -> None:
    sentence = "A girl with long hair walks, smiling at the sun."
    for op in (TagOp("rename", "long hair", "x"), TagOp("delete", "x"), TagOp("front", "solo"),
               TagOp("dedupe"), TagOp("add", "smiling at the sun")):
        _run(library, op)
        assert sentence in (library.root / "02.txt").read_text()
    assert (library.root / "06.txt").read_text() == (
        "A quiet lake at sunset. The water is still, and the sky glows., smiling at the sun")


def test_op_on_a_selection_only(library: Library) -> None:
    chosen = [library.root / "00.png", library.root / "03.png"]
    before = _files(library)
    _run(library, TagOp("add_front", "sks"), chosen)
    after = _files(library)
    assert {n for n in after if after[n] != before[n]} == {"00.txt", "03.txt"}
    assert after["00.txt"] == b"sks, 1girl, solo, long hair, smile"
