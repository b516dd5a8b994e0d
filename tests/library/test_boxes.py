"""Grounding boxes read from captions: valid, fenced, cut short, malformed, odd coordinates."""

from __future__ import annotations

import json

import pytest

from desktop_app.library.boxes import Box, boxes_for_export, parse_boxes

VALID = '[{"bbox_2d": [100, 200, 300, 400], "label": "cat"}, {"bbox_2d": [500, 0, 1000, 250], "label": "lamp"}]'


def test_valid_json_list():
    parsed = parse_boxes(VALID)
    assert [b.label for b in parsed.boxes] == ["cat", "lamp"]
    assert parsed.boxes[0].bbox_2d == [100, 200, 300, 400]
    assert not parsed.partial and parsed.reason == "" and bool(parsed)


def test_json_in_a_fence_with_prose_around():
    text = f"Here are the objects:\n```json\n{VALID}\n```\nLet me know if you need more."
    parsed = parse_boxes(text)
    assert [b.label for b in parsed.boxes] == ["cat", "lamp"]
    assert not parsed.partial


def test_truncated_output_keeps_every_complete_object():
    cut = VALID[:-1] + ', {"bbox_2d": [10, 20, 30'  # the list never closes: cut at the limit
    parsed = parse_boxes("```json\n" + cut)
    assert [b.label for b in parsed.boxes] == ["cat", "lamp"]
    assert parsed.partial


def test_truncated_inside_the_first_object_gives_no_boxes_and_a_reason():
    parsed = parse_boxes('[{"bbox_2d": [1, 2, 3')
    assert parsed.boxes == () and parsed.partial
    assert "no complete JSON object" in parsed.reason


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("A cat sitting on a table next to a window.", "no JSON"),
    ('[{"label": "cat"}]', "no bbox_2d"),
    ('{"caption": "a cat"}', "no bbox_2d"),
    ('[{"bbox_2d": [1, 2, "x", 4], "label": "cat"}]', "unusable"),
    ('[{"bbox_2d": [1, 2, 3], "label": "cat"}]', "unusable"),
    ("[]", "empty"),
    ("{{{ [[[ ,,, }", "no complete"),
])
def test_malformed_never_raises_and_says_why(text, words):
    parsed = parse_boxes(text)
    assert parsed.boxes == () and not parsed
    assert words in parsed.reason


def test_non_string_input_is_a_reason_not_an_exception():
    assert parse_boxes(None).reason  # type: ignore[arg-type]


def test_swapped_and_out_of_range_coordinates_are_normalised():
    parsed = parse_boxes('[{"bbox_2d": [800, 900, -50, 100.5], "label": "x"}, '
                         '{"bbox_2d": [1200, 1300, 1500, 1400], "label": "gone"}]')
    (box,) = parsed.boxes
    assert (box.x1, box.y1, box.x2, box.y2) == (0, 100.5, 800, 900)
    assert box.bbox_2d == [0, 100.5, 800, 900]
    assert parsed.skipped == 1


@pytest.mark.parametrize("key", ["bbox_2d", "bbox", "box_2d"])
def test_box_key_spellings(key):
    parsed = parse_boxes(json.dumps([{key: [1, 2, 3, 4], "label": "a"}]))
    assert parsed.boxes == (Box("a", 1, 2, 3, 4),)


def test_extra_fields_are_kept_and_a_wrapping_object_is_opened():
    text = json.dumps({"boxes": [{"bbox_2d": [0, 0, 10, 10], "label": "car", "color": "red",
                                  "confidence": 0.9}]})
    (box,) = parse_boxes(text).boxes
    assert box.extra == {"color": "red", "confidence": 0.9}
    assert box.as_dict() == {"label": "car", "bbox_2d": [0, 0, 10, 10], "color": "red",
                             "confidence": 0.9}


def test_single_object_and_missing_label():
    (box,) = parse_boxes('{"bbox_2d": [10, 10, 20, 20]}').boxes
    assert box.label == ""


def test_pixel_conversion():
    box = Box("cat", 100, 200, 300, 400)
    assert box.to_pixels(1000, 1000) == (100, 200, 300, 400)
    assert box.to_pixels(640, 480) == (64, 96, 192, 192)
    assert Box("all", 0, 0, 1000, 1000).to_pixels(333, 77) == (0, 0, 333, 77)
    assert box.as_dict((640, 480))["bbox_pixels"] == [64, 96, 192, 192]


def test_boxes_for_export():
    assert boxes_for_export("a plain caption", (10, 10)) is None
    rows = boxes_for_export(VALID, (2000, 1000))
    assert rows[0] == {"label": "cat", "bbox_2d": [100, 200, 300, 400], "bbox_pixels": [200, 200, 600, 400]}
    assert "bbox_pixels" not in boxes_for_export(VALID, None)[0]
