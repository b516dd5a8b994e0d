"""Captions as tag lists: round trips keep every byte, edits touch only their tag, sentences stay whole."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from desktop_app.library.tags import (SENTENCE, TAG, TagCaption, TagCounts, TagMatch, TagOp, TagRules, apply_op,
                                      caption_segments, count_tags, duplicate_indexes, join_tags, plan_op,
                                      set_tags, split_tags)

SHAPES = [
    "",
    " ",
    "\n",
    "tag",
    "1girl, solo, long hair",
    "1girl,solo,long hair",
    "1girl , solo , long hair",
    "  1girl,   solo,long hair  \n",
    "a, b, c,",
    "a, b,, c",
    ",a, b",
    ", , ,",
    "A dog runs on the beach.",
    "A dog, sitting on the sand, looks at the sea.",
    "masterpiece, best quality, A woman walks her dog, smiling at the camera.",
    "1girl, solo. A girl stands in the rain, holding an umbrella.",
    "tag1, tag2\n\nA long description follows here. It has two sentences, and a comma.",
    "photo of sks dog, A brown dog lies on grass, its tongue out, looking happy!",
    "Is this a cat? maybe, cat, whiskers",
    "v1.5, st.louis, 3.14, score_9, score_8_up",
    "long_hair, Long Hair, long hair, LONG_HAIR",
    "café, naïve art, 日本, 猫耳, emoji 🎉",
    "\ttab\tseparated\t,\tthing\t",
    "a,\nb,\r\nc\r\n",
    "one two three four five six seven eight, short",
    "x" * 100 + ", short tag",
    "Hatsune Miku, solo, standing on the stage, singing into a microphone.",
    "trailing period tags, red, blue.",
    "…, ellipsis… , wow",
]


@pytest.mark.parametrize("text", SHAPES)
def test_parse_render_is_exact(text: str) -> None:
    assert TagCaption(text).render() == text
    assert set_tags(text, split_tags(text)) == text


@pytest.mark.parametrize("sep", [", ", ",", " , ", ";", "; ", "|", " | ", "\n"])
@pytest.mark.parametrize("text", SHAPES)
def test_round_trip_with_any_separator(text: str, sep: str) -> None:
    assert TagCaption(text, sep).render() == text
    assert set_tags(text, split_tags(text, sep), sep) == text


_ALPHABET = ["a", "b", "Dog", "cat", " ", "  ", ",", ", ", ".", ". ", "!", "?", "\n", "_", "x y z w v u t s",
             "The end.", "é", "1girl", "\t", ";"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 16)))


def test_random_round_trips_and_edits() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        text = _random_text(rng)
        sep = rng.choice([", ", ",", ";"])
        caption = TagCaption(text, sep)
        assert caption.render() == text
        tags = split_tags(text, sep)
        assert set_tags(text, tags, sep) == text
        sentences = [p.body for p in caption.pieces if p.kind == SENTENCE]
        # Any tag-list edit keeps every sentence, in order, unchanged.
        edited = list(tags)
        rng.shuffle(edited)
        if edited and rng.random() < 0.5:
            edited.pop()
        edited.insert(rng.randint(0, len(edited)), "newtag")
        out = set_tags(text, edited, sep)
        assert [p.body for p in TagCaption(out, sep).pieces if p.kind == SENTENCE] == sentences
        assert split_tags(out, sep) == edited


def test_split_leaves_sentences_out() -> None:
    assert split_tags("1girl, solo, long hair") == ["1girl", "solo", "long hair"]
    assert split_tags("A dog, sitting on the sand, looks at the sea.") == []
    text = "masterpiece, best quality, A woman walks her dog, smiling at the camera."
    assert split_tags(text) == ["masterpiece", "best quality"]
    assert caption_segments(text) == [(TAG, "masterpiece"), (TAG, "best quality"),
                                      (SENTENCE, "A woman walks her dog, smiling at the camera.")]
    assert split_tags("v1.5, score_9") == ["v1.5", "score_9"]
    assert split_tags("A dog runs on the beach.") == []
    assert split_tags("one two three four five six seven, short") == ["short"]
    assert split_tags("tag") == ["tag"]


def test_rules_are_configurable() -> None:
    text = "one two three, four"
    assert split_tags(text, rules=TagRules(max_words=2)) == ["four"]
    clause = "A dog, sitting on the sand, looks at the sea."
    assert split_tags(clause, rules=TagRules(join_clauses=False)) == ["A dog", "sitting on the sand"]


def test_join_tags() -> None:
    assert join_tags(["a", " b ", "", "c"]) == "a, b, c"
    assert join_tags(["a", "b"], "|") == "a|b"
    assert join_tags(split_tags("a, b, c")) == "a, b, c"


def test_rename_changes_only_that_tag() -> None:
    text = "  1girl,solo ,  long hair, A girl smiles, then waves at you.\n"
    out = apply_op(text, TagOp("rename", "solo", "alone"))
    assert out == "  1girl,alone ,  long hair, A girl smiles, then waves at you.\n"
    assert apply_op(text, TagOp("rename", "smiles", "x")) == text  # inside a sentence: untouched
    assert apply_op("long_hair, red", TagOp("rename", "long hair", "blonde hair")) == "blonde hair, red"
    strict = TagMatch(keep_underscores=True)
    assert apply_op("long_hair, red", TagOp("rename", "long hair", "x"), match=strict) == "long_hair, red"


def test_delete_add_front_dedupe() -> None:
    assert apply_op("a, b, c", TagOp("delete", "a")) == "b, c"
    assert apply_op("a, b, c", TagOp("delete", "b")) == "a, c"
    assert apply_op("a, b, c\n", TagOp("delete", "c")) == "a, b\n"
    assert apply_op("a,b,c", TagOp("delete", "b")) == "a,c"
    assert apply_op("a", TagOp("delete", "a")) == ""
    assert apply_op("a, b, c", TagOp("front", "c")) == "c, a, b"
    assert apply_op("a,b,c", TagOp("front", "c")) == "c,a,b"
    assert apply_op("A photo of a dog on a lawn., x, y", TagOp("front", "y")) == "y, A photo of a dog on a lawn., x"
    assert apply_op("a, b", TagOp("front", "a")) == "a, b"
    assert apply_op("a, b", TagOp("add", "c")) == "a, b, c"
    assert apply_op("a;b", TagOp("add", "c"), ";") == "a;b;c"
    assert apply_op("a, b, A sentence here.", TagOp("add", "c")) == "a, b, c, A sentence here."
    assert apply_op("a, b", TagOp("add_front", "sks")) == "sks, a, b"
    assert apply_op("", TagOp("add", "sks")) == "sks"
    assert apply_op("a, b", TagOp("add", "A")) == "a, b"  # has it already (case-insensitive)
    assert apply_op("a, b, A, c, b", TagOp("dedupe")) == "a, b, c"
    assert apply_op("a, b, c", TagOp("dedupe")) == "a, b, c"
    with pytest.raises(ValueError):
        apply_op("a", TagOp("rename", "a", " "))
    with pytest.raises(ValueError):
        apply_op("a", TagOp("explode", "a"))


def test_sentences_are_never_deduped_or_moved() -> None:
    text = "It rains. , It rains. , rain, rain"
    assert apply_op(text, TagOp("dedupe")) == "It rains. , It rains. , rain"
    assert apply_op(text, TagOp("front", "rain")) == "rain , It rains. , It rains."  # the caption's own " , " spacing


def test_duplicate_indexes() -> None:
    assert duplicate_indexes(["a", "B", "b", None, "a_b", "a b"]) == [2, 5]
    assert duplicate_indexes(["a", "A"], TagMatch(case_sensitive=True)) == []


def test_plan_skips_captions_without_the_tag() -> None:
    items = [(Path("1.png"), "a, b"), (Path("2.png"), "c, d"), (Path("3.png"), ""), (Path("4.png"), " b ,a")]
    plan = plan_op(items, TagOp("rename", "b", "bee"))
    assert plan == [(Path("1.png"), "a, b", "a, bee"), (Path("4.png"), " b ,a", " bee ,a")]
    assert len(plan_op(items, TagOp("add", "a"))) == 2  # 2.png and the empty 3.png


def test_counts_and_incremental_updates() -> None:
    items = [(Path(f"{i}.png"), text) for i, text in enumerate(
        ["a, b, b", "b, c", "A sentence, with a comma, is not tags.", "", "long_hair, Long hair"])]
    counts = count_tags(items)
    assert dict(counts.most_common()) == {"b": 2, "a": 1, "c": 1, "long_hair": 1}
    assert counts.count("LONG HAIR") == 1
    assert counts.set_caption(Path("0.png"), "c") is True
    assert dict(counts.most_common()) == {"b": 1, "c": 2, "long_hair": 1}
    assert counts.set_caption(Path("0.png"), "c") is False
    counts.forget(Path("1.png"))
    assert dict(counts.most_common()) == {"c": 1, "long_hair": 1}
    assert counts.paths_with("c") == [Path("0.png")]
    fresh = TagCounts()
    for path, text in items:
        fresh.set_caption(path, text)
    assert fresh.most_common() == count_tags(items).most_common()


def test_query_tag_and_has_tag() -> None:
    from desktop_app.library.tags import has_tag, query_tag

    assert query_tag('tag:"long hair"') == "long hair"
    assert query_tag("tag:solo") == "solo"
    assert query_tag(' TAG: "a \\"b\\"" ') == 'a "b"'
    assert query_tag("solo") is None
    assert query_tag("tag:solo caption:x") is None
    assert has_tag("1girl, Long_Hair", "long hair")
    assert not has_tag("A girl with long hair, smiling at you.", "long hair")  # inside a sentence
    assert not has_tag("", "x")
    assert has_tag("a;b", "b", ";")
