"""The prompt catalogue: every type x length x option composes a stable, non-empty prompt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from desktop_app.engine import catalogue as cat
from desktop_app.engine.catalogue import (LANGUAGES, LENGTHS, OPTIONS, TYPES, CatalogueError,
                                          PromptChoice, applicable_options, compose)
from desktop_app.engine.prompts import DEFAULT_PRESET, PRESETS, render_prompt

LENGTH_CHOICES = [*LENGTHS, "50"]
VALUE = "Anna Petrova"


def option_arg(key: str) -> str:
    return f"{key}={VALUE}" if OPTIONS[key].takes_value else key


def option_text(key: str, lang: str) -> str:
    return OPTIONS[key].text[lang].replace("{value}", VALUE)


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize("type_key", list(TYPES))
def test_every_type_length_option_combination(type_key: str, lang: str) -> None:
    kind = TYPES[type_key]
    seen: set[str] = set()
    for length in LENGTH_CHOICES:
        plain = compose(type_key, length, [], lang)
        assert plain.strip() and plain == compose(type_key, length, [], lang)  # stable
        assert plain.startswith(kind.text[lang])
        if not kind.takes_length:
            assert plain == compose(type_key, "any", [], lang)  # the length is ignored cleanly
        seen.add(plain)
        for key in OPTIONS:
            text = compose(type_key, length, [option_arg(key)], lang)
            assert text.strip() and text == compose(type_key, length, {key: VALUE}, lang)
            if key in applicable_options(type_key):
                assert option_text(key, lang) in text and text != plain
            else:
                assert text == plain  # an option that does not apply changes nothing
            assert "{value}" not in text and "{n}" not in text
    # lengths change the prompt of a type that takes one, and each differently
    assert len(seen) == (len(LENGTH_CHOICES) if kind.takes_length else 1)


@pytest.mark.parametrize("type_key", list(TYPES))
def test_all_applicable_options_at_once_in_catalogue_order(type_key: str) -> None:
    keys = applicable_options(type_key)
    forward = compose(type_key, "long", [option_arg(k) for k in keys], "en")
    backward = compose(type_key, "long", [option_arg(k) for k in reversed(keys)], "en")
    assert forward == backward  # the order the options were given in never matters
    positions = [forward.index(option_text(k, "en")) for k in keys]
    assert positions == sorted(positions)


def test_length_sentences_and_word_counts() -> None:
    assert "one sentence" in compose("detailed", "very_short")
    assert "about 120 words" in compose("casual", 120)
    assert "about 120 words" in compose("casual", "120 words")
    assert "about 30 tags" in compose("tags", "30")
    assert "10 tags" in compose("tags", "very_short")
    assert compose("detailed", "medium-length") == compose("detailed", "medium")
    assert "120" not in compose("ocr", "120")


def test_languages_write_the_prompt_in_that_language() -> None:
    assert re.search("[а-я]", compose("detailed", "short", ["lighting"], "ru"))
    assert "русском" in compose("detailed", language="ru")
    assert "中文" in compose("social", language="zh")
    ocr = compose("ocr", language="ru")
    assert "русском" not in ocr  # text is read as written, not translated
    for key in ("ocr", "table_html", "document_json"):
        assert compose(key, language="zh") != compose(key, language="en")


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_grounding_asks_for_the_bbox_json_shape(lang: str) -> None:
    text = compose("grounding", "long", ["objects=cat, dog"], lang)
    example = re.search(r"\[\{.*?\}\]", text).group(0)
    shape = json.loads(example.replace("x1, y1, x2, y2", "1, 2, 3, 4"))
    assert shape == [{"bbox_2d": [1, 2, 3, 4], "label": "..."}]
    assert "1000" in text and "cat, dog" in text
    assert render_prompt(text, Path("/a/b.png")) == text  # the JSON braces survive filling


def test_bad_names_list_the_valid_ones() -> None:
    with pytest.raises(CatalogueError, match="unknown prompt type 'nope'.*detailed.*grounding"):
        compose("nope")
    with pytest.raises(CatalogueError, match="unknown length.*very_short.*word count"):
        compose("detailed", "huge")
    with pytest.raises(CatalogueError, match="word count must be"):
        compose("detailed", "0")
    with pytest.raises(CatalogueError, match="unknown option 'shiny'.*lighting"):
        compose("detailed", options=["shiny"])
    with pytest.raises(CatalogueError, match="option 'name' needs a value"):
        compose("detailed", options=["name="])
    with pytest.raises(CatalogueError, match="unknown caption language 'de'.*en, ru, zh"):
        compose("detailed", language="de")


def test_option_values_stay_on_one_line() -> None:
    text = compose("detailed", options=["name=Anna\n\nIgnore that   and"])
    assert "Anna Ignore that and" in text and "\n" not in text


def test_prompt_choice_normalises() -> None:
    choice = PromptChoice.make("tags", "Very-Short", ["SFW", "name=Bo", "lighting"], "ZH")
    assert choice == PromptChoice("tags", "very_short", ("name=Bo", "lighting", "sfw"), "zh")
    assert choice.prompt() == compose("tags", "very_short", ["lighting", "sfw", "name=Bo"], "zh")


def test_prompts_module_keeps_its_api() -> None:
    assert set(TYPES) <= set(PRESETS) and "short" in PRESETS
    assert PRESETS[DEFAULT_PRESET] == compose(DEFAULT_PRESET)
    assert "one sentence" in PRESETS["short"]
    assert cat.describe_catalogue().count("\n") > len(TYPES) + len(OPTIONS)
    for lang in LANGUAGES:
        for table in (TYPES, LENGTHS, OPTIONS):
            assert all(item.label[lang].strip() for item in table.values())
