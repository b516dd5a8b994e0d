"""User prompt presets: saved, renamed, deleted, exported and imported as JSON files (no Qt)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from ..engine.catalogue import ALIASES, TYPES, CatalogueError, PromptChoice
from .atomic import atomic_write_text
from .database import data_dir

log = logging.getLogger(__name__)

PRESETS_FILE = "prompt_presets.json"
FORMAT = "caption-studio-prompt-presets"
VERSION = 1
MAX_NAME = 80


class PresetError(ValueError):
    """A preset name or a presets file is not usable; the message says which and why."""


@dataclass(frozen=True)
class UserPreset:
    """A named prompt: a catalogue choice, or custom text that overrides it, plus a system prompt."""

    name: str
    choice: PromptChoice = PromptChoice()
    custom_text: str = ""
    system_prompt: str = ""

    def prompt(self) -> str:
        """The prompt this preset sends: its custom text, else the composed one."""
        return self.custom_text if self.custom_text.strip() else self.choice.prompt()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.choice.type, "length": self.choice.length,
                "options": list(self.choice.options), "caption_language": self.choice.language,
                "custom_text": self.custom_text, "system_prompt": self.system_prompt}

    @classmethod
    def from_dict(cls, data: Any) -> UserPreset:
        """A validated preset; PresetError says what is wrong."""
        if not isinstance(data, dict):
            raise PresetError("a preset must be a JSON object")
        name = check_name(data.get("name"))
        options = data.get("options", [])
        texts = {k: data.get(k, "") for k in ("custom_text", "system_prompt")}
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise PresetError(f"preset {name!r}: options must be a list of strings")
        for key, value in texts.items():
            if not isinstance(value, str):
                raise PresetError(f"preset {name!r}: {key} must be a string")
        try:
            choice = PromptChoice.make(str(data.get("type", "detailed")), data.get("length", "any"),
                                       options, data.get("caption_language", "en"))
        except CatalogueError as exc:
            raise PresetError(f"preset {name!r}: {exc}") from None
        return cls(name, choice, **texts)


def check_name(name: Any) -> str:
    """A usable preset name (stripped); PresetError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise PresetError("a preset needs a name")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise PresetError(f"a preset name is at most {MAX_NAME} characters")
    if name.lower() in TYPES or name.lower() in ALIASES:
        raise PresetError(f"{name!r} is the name of a built-in prompt type")
    return name


class PresetStore:
    """The user's presets in one JSON file, rewritten atomically on every change."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def default(cls, override: str | os.PathLike[str] | None = None) -> PresetStore:
        """The store in the app's data folder (`override` wins, as in `data_dir`)."""
        return cls(data_dir(override) / PRESETS_FILE)

    # -- reading -----------------------------------------------------------------------------
    def presets(self) -> list[UserPreset]:
        """Every preset, sorted by name; an unreadable store is logged and reads as empty."""
        if not self.path.exists():
            return []
        try:
            return read_presets_file(self.path)
        except PresetError as exc:
            log.warning("%s", exc)
            return []

    def names(self) -> list[str]:
        return [p.name for p in self.presets()]

    def get(self, name: str) -> UserPreset:
        """The preset called `name` (case-insensitive); PresetError listing the names otherwise."""
        for preset in self.presets():
            if preset.name.casefold() == name.strip().casefold():
                return preset
        names = ", ".join(self.names()) or "none saved"
        raise PresetError(f"no user preset {name!r} (saved: {names})")

    # -- changing ----------------------------------------------------------------------------
    def save(self, preset: UserPreset) -> UserPreset:
        """Add `preset`, replacing one of the same name."""
        preset = replace(preset, name=check_name(preset.name))
        others = [p for p in self.presets() if p.name.casefold() != preset.name.casefold()]
        self._write([*others, preset])
        return preset

    def rename(self, old: str, new: str) -> UserPreset:
        """Rename `old` to `new`; PresetError if `new` is taken by another preset."""
        preset = self.get(old)
        new = check_name(new)
        if new.casefold() != preset.name.casefold() and new.casefold() in {n.casefold() for n in self.names()}:
            raise PresetError(f"a preset called {new!r} exists already")
        renamed = replace(preset, name=new)
        self._write([renamed if p.name == preset.name else p for p in self.presets()])
        return renamed

    def delete(self, name: str) -> None:
        preset = self.get(name)
        self._write([p for p in self.presets() if p.name != preset.name])

    def export(self, path: str | os.PathLike[str], names: Iterable[str] | None = None) -> int:
        """Write the presets called `names` (default all) to `path`; returns how many."""
        chosen = self.presets() if names is None else [self.get(n) for n in names]
        write_presets_file(path, chosen)
        return len(chosen)

    def import_file(self, path: str | os.PathLike[str]) -> list[str]:
        """Add every preset of a file; a clashing name gets " (2)", " (3)"…; returns the names added.

        The whole file is refused (PresetError naming it and the reason) if any entry is bad,
        so an import never half happens.
        """
        incoming = read_presets_file(Path(path))
        current = self.presets()
        taken = {p.name.casefold() for p in current}
        added: list[UserPreset] = []
        for preset in incoming:
            name = unique_name(preset.name, taken)
            taken.add(name.casefold())
            added.append(replace(preset, name=name))
        self._write([*current, *added])
        return [p.name for p in added]

    def _write(self, presets: list[UserPreset]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_presets_file(self.path, presets)


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`… — the first not in `taken` (casefolded names)."""
    if name.casefold() not in taken:
        return name
    n = 2
    while f"{name} ({n})".casefold() in taken:
        n += 1
    return f"{name} ({n})"


def write_presets_file(path: str | os.PathLike[str], presets: Iterable[UserPreset]) -> None:
    ordered = sorted(presets, key=lambda p: p.name.casefold())
    data = {"format": FORMAT, "version": VERSION, "presets": [p.to_dict() for p in ordered]}
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_presets_file(path: Path) -> list[UserPreset]:
    """The presets of a file; PresetError naming the file and the reason otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PresetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PresetError(f"{path}: not a text file") from None
    except ValueError as exc:
        raise PresetError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and data.get("format") == FORMAT:
        if not isinstance(data.get("version"), int) or data["version"] > VERSION:
            raise PresetError(f"{path}: presets file version {data.get('version')!r} is newer than this app")
        entries = data.get("presets")
    elif isinstance(data, dict) and "name" in data:
        entries = [data]  # one preset on its own
    else:
        raise PresetError(f"{path}: not a Caption Studio presets file")
    if not isinstance(entries, list):
        raise PresetError(f"{path}: 'presets' must be a list")
    presets: list[UserPreset] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        try:
            preset = UserPreset.from_dict(entry)
        except PresetError as exc:
            raise PresetError(f"{path}: entry {i}: {exc}") from None
        presets.append(replace(preset, name=unique_name(preset.name, seen)))
        seen.add(presets[-1].name.casefold())
    return presets
