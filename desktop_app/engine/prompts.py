"""Prompt presets, variables such as {filename}, and the chat messages sent to the model."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

PRESETS: dict[str, str] = {
    "detailed": "Describe this image in detail: the subject, the setting, colours, lighting, "
                "composition and any text. Write flowing prose, no lists.",
    "short": "Write a one-sentence caption for this image.",
    "tags": "List the visible content of this image as comma-separated booru-style tags, "
            "most important first. Output only the tags.",
    "diffusion": "Write a prompt that a text-to-image model could use to recreate this image: "
                 "subject, style, medium, lighting, camera and composition, in one paragraph.",
    "alt_text": "Write concise alt text for this image for a screen reader (at most 125 "
                "characters). Output only the alt text.",
    "ocr": "Read all the text in this image exactly as written, keeping line breaks. "
           "Output only the text.",
    "video": "Describe this video in detail: the scene, the subjects, what happens over time, "
             "camera movement and style.",
}
DEFAULT_PRESET = "detailed"


def preset_prompt(name: str) -> str:
    """The text of a preset; ValueError listing the presets for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}") from None


def video_wording(prompt: str) -> str:
    """The prompt to use for a video: image-worded presets (and the request's default prompt)
    get video wording; any other prompt is the user's own and stays as written."""
    if prompt.strip() in ("Describe this image in detail.", PRESETS["detailed"]):
        return PRESETS["video"]
    if prompt in PRESETS.values():
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
                   media: str = "image") -> list[dict[str, Any]]:
    """Chat messages for one image (or video): optional system turn, then media and prompt."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": [{"type": "text", "text": system_prompt}]})
    messages.append({"role": "user", "content": [{"type": media}, {"type": "text", "text": prompt}]})
    return messages


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a Thinking model's output; no </think> means no reasoning."""
    marker = "</think>"
    if marker not in text:
        return "", text
    reasoning, answer = text.split(marker, 1)
    return reasoning.replace("<think>", "").strip(), answer
