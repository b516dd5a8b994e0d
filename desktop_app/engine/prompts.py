"""Prompt presets, variables such as {filename}, and the chat messages sent to the model."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from .catalogue import legacy_presets

#: {name: English prompt} of every catalogue type (and old preset names); see catalogue.py.
PRESETS: dict[str, str] = legacy_presets()
DEFAULT_PRESET = "detailed"


def preset_prompt(name: str) -> str:
    """The text of a preset; ValueError listing the presets for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}") from None


def video_wording(prompt: str) -> str:
    """The prompt to use for a video. A catalogue prompt of the "detailed" type (in any caption
    language, whatever length and options follow it) becomes the "video" type's; other English
    image types say "this video"; the request's old default becomes the video type. Any other
    prompt is the user's own and stays as written."""
    from .catalogue import TYPES

    if prompt.strip() == "Describe this image in detail.":  # CaptionRequest's default
        return TYPES["video"].text["en"]
    detailed, video = TYPES["detailed"].text, TYPES["video"].text
    for lang, head in detailed.items():
        if prompt.startswith(head) and lang in video:
            return video[lang] + prompt[len(head):]
    if any(kind.media == "image" and prompt.startswith(kind.text["en"]) for kind in TYPES.values()):
        return prompt.replace("this image", "this video")
    return prompt


def render_prompt(template: str, path: Path, root: Path | None = None) -> str:
    """Fill {filename}, {stem}, {ext}, {folder} and {path} for one file.

    Unknown or malformed placeholders are left as written, so a prompt that happens to
    contain braces (JSON examples) is never an error.
    """
    values = {
        "filename": path.name, "stem": path.stem, "ext": path.suffix.lstrip("."),
        "folder": path.parent.name,
        "path": path.relative_to(root).as_posix() if root and path.is_relative_to(root) else path.as_posix(),
    }
    out: list[str] = []
    for literal, field, spec, conv in _parse(template):
        out.append(literal)
        if field is None:
            continue
        if field in values and not spec and not conv:
            out.append(values[field])
        else:
            out.append("{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def _parse(template: str) -> list[tuple[str, str | None, str, str | None]]:
    try:
        return [(lit, f, s or "", c) for lit, f, s, c in string.Formatter().parse(template)]
    except ValueError:
        return [(template, None, "", None)]


def build_messages(prompt: str, system_prompt: str | None = None,
                   media: str = "image", count: int = 1) -> list[dict[str, Any]]:
    """Chat messages: optional system turn, then one user turn with `count` media items (images
    of a comparison, or one video) followed by the prompt."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": [{"type": "text", "text": system_prompt}]})
    content: list[dict[str, Any]] = [{"type": media} for _ in range(count)]
    messages.append({"role": "user", "content": [*content, {"type": "text", "text": prompt}]})
    return messages


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a Thinking model's output; no </think> means no reasoning."""
    marker = "</think>"
    if marker not in text:
        return "", text
    reasoning, answer = text.split(marker, 1)
    return reasoning.replace("<think>", "").strip(), answer
