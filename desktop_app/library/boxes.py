"""Grounding boxes in a caption: Qwen3-VL's `[{"bbox_2d": [x1, y1, x2, y2], "label": ...}]`.

Qwen3-VL gives boxes in 0-1000 coordinates relative to the image. `parse_boxes` reads them
from whatever the model wrote (plain JSON, JSON in a ```json fence, a list cut short at the
token limit, `bbox`/`box_2d` spellings) and never raises: a caption that holds no boxes gives
a `BoxParse` with no boxes and the reason. No Qt here; the window draws what this returns.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

SCALE = 1000  # Qwen3-VL's box coordinates run from 0 to this, whatever the image size
BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box")
LABEL_KEYS = ("label", "name", "text", "category")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)(?:```|$)", re.DOTALL)
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class Box:
    """One box: its label and corners in 0-1000 image coordinates (x1 <= x2, y1 <= y2)."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def bbox_2d(self) -> list[float]:
        """[x1, y1, x2, y2] in 0-1000 coordinates (ints where they are whole)."""
        return [_tidy(v) for v in (self.x1, self.y1, self.x2, self.y2)]

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The box in pixel coordinates of a `width` x `height` image (rounded, inside it)."""
        sx, sy = width / SCALE, height / SCALE
        return (round(self.x1 * sx), round(self.y1 * sy), round(self.x2 * sx), round(self.y2 * sy))

    def as_dict(self, size: tuple[int, int] | None = None) -> dict[str, Any]:
        """The export form: label, bbox_2d, bbox_pixels (when the image size is known), extras."""
        out: dict[str, Any] = {"label": self.label, "bbox_2d": self.bbox_2d}
        if size is not None:
            out["bbox_pixels"] = list(self.to_pixels(*size))
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


@dataclass(frozen=True)
class BoxParse:
    """What a caption holds: its boxes, whether the list was cut short, and why none were found."""

    boxes: tuple[Box, ...] = ()
    partial: bool = False
    reason: str = ""
    skipped: int = 0  # objects that looked like boxes but had unusable coordinates

    def __bool__(self) -> bool:
        return bool(self.boxes)


def parse_boxes(text: str) -> BoxParse:
    """Read grounding boxes from a caption; never raises.

    Args:
        text: The model's output (or a user's edit of it).

    Returns:
        The boxes found (possibly none, with `reason` saying why).
    """
    if not isinstance(text, str) or not text.strip():
        return BoxParse(reason="the caption is empty")
    body = _json_body(text)
    if body is None:
        return BoxParse(reason="the caption holds no JSON list or object")
    objects, partial = _objects(body)
    boxes, skipped = [], 0
    for obj in objects:
        box = _box(obj)
        if box is None:
            skipped += any(k in obj for k in BOX_KEYS)
        else:
            boxes.append(box)
    if boxes:
        return BoxParse(tuple(boxes), partial, "", skipped)
    if not objects:
        reason = "the JSON list is empty" if body.lstrip().startswith("[") and not partial else \
            "no complete JSON object in the caption"
    elif skipped:
        reason = f"{skipped} box{'es' if skipped != 1 else ''} with unusable coordinates"
    else:
        reason = "the JSON holds no bbox_2d field"
    return BoxParse((), partial, reason, skipped)


def _json_body(text: str) -> str | None:
    """The part of `text` that should be JSON: a fenced block's content, else from the first [ or {."""
    fenced = _FENCE.search(text)
    if fenced and fenced.group(1).strip():
        text = fenced.group(1)
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    return text[min(starts):] if starts else None


def _objects(body: str) -> tuple[list[dict[str, Any]], bool]:
    """Every JSON object in `body`, and whether it ended before its list or object closed.

    The whole text is tried first; if it is not valid JSON (cut at max_new_tokens, trailing
    prose, a missing comma), each complete top-level-in-the-list object is decoded on its own.
    """
    try:
        value, end = _decoder.raw_decode(body)
    except json.JSONDecodeError:
        return _salvage(body), True
    return _flatten(value), False


def _flatten(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        for key in ("boxes", "objects", "results", "detections"):
            if isinstance(value.get(key), list):
                return _flatten(value[key])
        return [value]
    if isinstance(value, list):
        return [v for item in value for v in _flatten(item)]
    return []


def _salvage(body: str) -> list[dict[str, Any]]:
    """Complete objects of a broken list: decode from each '{' that starts one, skip the rest."""
    out: list[dict[str, Any]] = []
    at = body.find("{")
    while at >= 0:
        try:
            value, end = _decoder.raw_decode(body, at)
        except json.JSONDecodeError:
            at = body.find("{", at + 1)
            continue
        out.extend(_flatten(value))
        at = body.find("{", end)
    return out


def _box(obj: dict[str, Any]) -> Box | None:
    """A Box from one object, or None when it has no usable 4-number box."""
    coords = next((obj[k] for k in BOX_KEYS if k in obj), None)
    if not isinstance(coords, (list, tuple)) or len(coords) != 4:
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in coords)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return None
    x1, x2 = sorted((_clamp(x1), _clamp(x2)))
    y1, y2 = sorted((_clamp(y1), _clamp(y2)))
    if x1 == x2 or y1 == y2:  # nothing left inside the image (or a point, not a box)
        return None
    label_key = next((k for k in LABEL_KEYS if k in obj), None)
    label = "" if label_key is None or obj[label_key] is None else str(obj[label_key])
    used = {label_key, *BOX_KEYS}
    extra = {k: v for k, v in obj.items() if k not in used}
    return Box(label.strip(), x1, y1, x2, y2, extra)


def _clamp(v: float) -> float:
    return min(float(SCALE), max(0.0, v))


def _tidy(v: float) -> float | int:
    return int(v) if float(v).is_integer() else round(v, 2)


def boxes_for_export(text: str, size: tuple[int, int] | None) -> list[dict[str, Any]] | None:
    """The `boxes` field of an export row: None when the caption holds no boxes."""
    parsed = parse_boxes(text)
    if not parsed.boxes:
        return None
    return [box.as_dict(size) for box in parsed.boxes]


def image_size(path: Any) -> tuple[int, int] | None:
    """(width, height) of an image as the model sees it (EXIF rotation applied); None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - an export row without pixels is better than no export
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def add_boxes(row: dict[str, Any], path: Any) -> dict[str, Any]:
    """An export row with a `boxes` field when its caption holds boxes (unchanged otherwise)."""
    caption = row.get("caption") or ""
    if "{" not in caption:  # cheap test first: most captions are prose
        return row
    parsed = parse_boxes(caption)
    if not parsed.boxes:
        return row
    size = image_size(path)
    return {**row, "boxes": [box.as_dict(size) for box in parsed.boxes]}
