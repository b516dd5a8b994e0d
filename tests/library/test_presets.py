"""User prompt presets: save, rename, delete, export and import round trips; bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop_app.engine.catalogue import PromptChoice, compose
from desktop_app.library.presets import (PRESETS_FILE, PresetError, PresetStore, UserPreset,
                                         read_presets_file)


def preset(name: str = "Portraits", **kw) -> UserPreset:
    choice = PromptChoice.make("detailed", "short", ["lighting", "name=Anna"], "ru")
    return UserPreset(name, kw.pop("choice", choice), **kw)


def test_save_rename_delete_round_trip(tmp_path: Path) -> None:
    store = PresetStore.default(tmp_path)
    assert store.path == tmp_path / PRESETS_FILE and store.presets() == []
    saved = store.save(preset("  Portraits  ", system_prompt="You are terse."))
    assert saved.name == "Portraits"
    again = PresetStore(store.path).get("portraits")  # a fresh store reads the file
    assert again == saved and again.prompt() == compose("detailed", "short", ["lighting", "name=Anna"], "ru")
    store.save(preset("My tags", choice=PromptChoice.make("tags"), custom_text="tags for {filename}"))
    assert store.get("My tags").prompt() == "tags for {filename}"  # custom text overrides the type
    store.save(preset("Portraits", system_prompt="changed"))  # same name: replaced
    assert store.names() == ["My tags", "Portraits"] and store.get("Portraits").system_prompt == "changed"
    assert store.rename("Portraits", "Faces").name == "Faces"
    assert store.names() == ["Faces", "My tags"]
    with pytest.raises(PresetError, match="exists already"):
        store.rename("Faces", "my TAGS")
    store.delete("My tags")
    assert store.names() == ["Faces"]
    with pytest.raises(PresetError, match="no user preset 'My tags' \\(saved: Faces\\)"):
        store.get("My tags")
    assert not list(tmp_path.glob(".~cs-*"))  # atomic writes leave no temp files


@pytest.mark.parametrize("bad", ["", "   ", "detailed", "Short", "x" * 81])
def test_bad_names_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PresetError):
        PresetStore.default(tmp_path).save(preset(bad))


def test_export_import_with_name_clashes(tmp_path: Path) -> None:
    one = PresetStore(tmp_path / "a" / PRESETS_FILE)
    one.save(preset("Portraits"))
    one.save(preset("Product shots", choice=PromptChoice.make("product", "40", ["sfw"])))
    exported = tmp_path / "mine.json"
    assert one.export(exported) == 2
    assert json.loads(exported.read_text())["format"] == "caption-studio-prompt-presets"
    other = PresetStore(tmp_path / "b" / PRESETS_FILE)
    other.save(preset("Portraits", system_prompt="theirs"))
    assert other.import_file(exported) == ["Portraits (2)", "Product shots"]
    assert other.import_file(exported) == ["Portraits (3)", "Product shots (2)"]
    assert other.get("Portraits").system_prompt == "theirs"
    assert other.get("Portraits (2)").choice == one.get("Portraits").choice
    assert other.get("Product shots").prompt() == one.get("Product shots").prompt()
    one.export(tmp_path / "single.json", ["Portraits"])
    assert [p.name for p in read_presets_file(tmp_path / "single.json")] == ["Portraits"]


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "not a Caption Studio presets file"),
    ('{"format": "caption-studio-prompt-presets", "version": 9, "presets": []}', "newer than this app"),
    ('{"format": "caption-studio-prompt-presets", "version": 1, "presets": {}}', "must be a list"),
    ('{"format": "caption-studio-prompt-presets", "version": 1, "presets": [{"name": "ok"}, '
     '{"name": "x", "type": "nope"}]}', "entry 2: preset 'x': unknown prompt type 'nope'"),
    ('{"name": "x", "options": ["shiny"]}', "unknown option 'shiny'"),
    ('{"name": "x", "length": "huge"}', "unknown length"),
    ('{"name": "", "type": "tags"}', "needs a name"),
    ('{"name": "x", "custom_text": 5}', "custom_text must be a string"),
])
def test_bad_files_are_refused_whole_naming_the_file(tmp_path: Path, content: str, reason: str) -> None:
    store = PresetStore(tmp_path / PRESETS_FILE)
    store.save(preset("Keep me"))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(PresetError) as info:
        store.import_file(bad)
    assert str(bad) in str(info.value) and reason in str(info.value)
    assert store.names() == ["Keep me"]  # nothing half imported


def test_missing_and_binary_files(tmp_path: Path) -> None:
    store = PresetStore(tmp_path / PRESETS_FILE)
    with pytest.raises(PresetError, match="cannot read"):
        store.import_file(tmp_path / "missing.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(PresetError, match="bin.json"):
        store.import_file(tmp_path / "bin.json")


def test_a_corrupt_store_reads_as_empty_and_is_rewritten(tmp_path: Path, caplog) -> None:
    store = PresetStore(tmp_path / PRESETS_FILE)
    store.path.write_text("{broken")
    assert store.presets() == [] and "not valid JSON" in caplog.text
    store.save(preset("Fresh"))
    assert store.names() == ["Fresh"]
