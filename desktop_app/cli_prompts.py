"""The `caption` command's prompt flags: catalogue types, user presets, lengths and options (no Qt)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class ResolvedPrompt:
    """The prompt a run sends, its system prompt, and where it came from (for the report)."""

    prompt: str
    system_prompt: str | None
    source: str  # "type detailed, length short, options lighting", "user preset X", "--prompt"


def add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    """--prompt, --preset, --length, --option, --caption-language, --list-presets."""
    from .engine.catalogue import LANGUAGES
    from .engine.prompts import DEFAULT_PRESET

    group = parser.add_argument_group("prompt", "a catalogue type or a saved preset, refined by a "
                                                "length and options; --prompt overrides them all")
    group.add_argument("--prompt", help="the prompt; {filename}, {stem}, {folder} are filled in")
    group.add_argument("--preset", default=None, metavar="TYPE_OR_PRESET",
                       help=f"a prompt type or a user preset's name (default {DEFAULT_PRESET}); "
                            "see --list-presets")
    group.add_argument("--length", default=None, help="any, very_short, short, medium, long, "
                                                      "very_long, or a word count such as 50")
    group.add_argument("--option", action="append", default=[], metavar="NAME[=VALUE]",
                       help="an extra instruction, e.g. lighting, sfw, name=Anna (repeatable)")
    group.add_argument("--caption-language", default=None, choices=list(LANGUAGES),
                       help="the language of the prompt and so of the caption (default en)")
    group.add_argument("--system", dest="system_prompt", help="a system prompt")
    group.add_argument("--list-presets", action="store_true",
                       help="list the types, lengths, options and user presets, then exit")


def _store(args: argparse.Namespace):  # noqa: ANN202 - PresetStore, imported lazily
    from .library.presets import PresetStore

    return PresetStore.default(getattr(args, "data_dir", None))


def list_presets(args: argparse.Namespace, out: TextIO) -> None:
    """Print the catalogue and the user's presets."""
    from .engine.catalogue import describe_catalogue

    out.write(describe_catalogue() + "\n")
    presets = _store(args).presets()
    out.write("User presets (--preset NAME):\n")
    for preset in presets:
        summary = "custom text" if preset.custom_text.strip() else preset.choice.type
        out.write(f"  {preset.name}  ({summary})\n")
    if not presets:
        out.write("  (none saved; save them in the window)\n")


def resolve_prompt(args: argparse.Namespace) -> ResolvedPrompt:
    """The prompt the flags ask for; ValueError (listing valid names) for a bad one."""
    from .engine.catalogue import ALIASES, TYPES, CatalogueError, PromptChoice
    from .engine.prompts import DEFAULT_PRESET
    from .library.presets import PresetError

    system = args.system_prompt
    if args.prompt:
        return ResolvedPrompt(args.prompt, system, "--prompt")
    name = args.preset or DEFAULT_PRESET
    key = name.strip().lower()
    try:
        if key in TYPES or key in ALIASES:
            base = ALIASES.get(key, PromptChoice(key))
            choice = PromptChoice.make(base.type, args.length or base.length, args.option,
                                       args.caption_language)
            return ResolvedPrompt(choice.prompt(), system, _describe(choice))
        store = _store(args)
        try:
            preset = store.get(name)
        except PresetError:
            raise ValueError(f"unknown prompt type or user preset {name!r}: types: {', '.join(TYPES)}; "
                             f"user presets: {', '.join(store.names()) or 'none saved'}") from None
        base = preset.choice
        refined = bool(args.length or args.option or args.caption_language)
        choice = PromptChoice.make(base.type, args.length or base.length, [*base.options, *args.option],
                                   args.caption_language or base.language)
        text = preset.custom_text if preset.custom_text.strip() and not refined else choice.prompt()
        return ResolvedPrompt(text, system or preset.system_prompt or None,
                              f"user preset {preset.name}: " + ("custom text" if text == preset.custom_text
                                                                else _describe(choice)))
    except CatalogueError as exc:
        raise ValueError(str(exc)) from None


def _describe(choice) -> str:  # noqa: ANN001 - a PromptChoice
    parts = [f"type {choice.type}", f"length {choice.length}"]
    if choice.options:
        parts.append("options " + ", ".join(choice.options))
    parts.append(f"language {choice.language}")
    return ", ".join(parts)
