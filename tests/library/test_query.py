"""The filter language: parsing (valid and invalid queries, with positions) and evaluation."""

from __future__ import annotations

import time
from types import SimpleNamespace
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.library import Library, Review
from desktop_app.library.query import (
    And, Not, Number, Or, QueryContext, QueryError, Status, Tag, Text, matches, parse, tokenize,
)
from tests.library.conftest import make_files

OpenLibrary = Callable[..., Library]
BARE = ("name", "caption")


def comma_tags(text: str) -> list[str]:
    """A stand-in tag splitter for these tests (the app wires the tag module's split_tags)."""
    return [t.strip() for t in text.split(",") if t.strip()]


@pytest.mark.parametrize(("query", "tree"), [
    ("cat", Text(BARE, "cat")),
    ("  CAT  ", Text(BARE, "cat")),
    ("cat dog", And((Text(BARE, "cat"), Text(BARE, "dog")))),
    ("cat AND dog", And((Text(BARE, "cat"), Text(BARE, "dog")))),
    ("cat OR dog", Or((Text(BARE, "cat"), Text(BARE, "dog")))),
    ("cat or dog", And((Text(BARE, "cat"), Text(BARE, "or"), Text(BARE, "dog")))),  # lower case: words
    ("a b OR c", Or((And((Text(BARE, "a"), Text(BARE, "b"))), Text(BARE, "c")))),
    ("a (b OR c)", And((Text(BARE, "a"), Or((Text(BARE, "b"), Text(BARE, "c")))))),
    ("NOT a", Not(Text(BARE, "a"))),
    ("-a", Not(Text(BARE, "a"))),
    ("-(a OR b)", Not(Or((Text(BARE, "a"), Text(BARE, "b"))))),
    ("NOT NOT a", Not(Not(Text(BARE, "a")))),
    ("well-lit", Text(BARE, "well-lit")),
    ("-", Text(BARE, "-")),
    ('"red car"', Text(BARE, "red car")),
    ('"say \\"hi\\" \\\\ ok"', Text(BARE, 'say "hi" \\ ok')),
    ('"*.png"', Text(BARE, "*.png")),  # quoted: literal
    ("*.png", Text(BARE, "*.png", glob=True)),
    ("img1.jpg", Text(BARE, "img1.jpg")),
    ("12:30", Text(BARE, "12:30")),
    ("tag:1girl", Tag("1girl")),
    ('tag:"long hair"', Tag("long hair")),
    ("tag:*hair", Tag("*hair", glob=True)),
    ("tag:miku_(cosplay)", Tag("miku_(cosplay)")),
    ("(tag:a OR tag:b)", Or((Tag("a"), Tag("b")))),
    ("TAG:x", Tag("x")),
    ("tag:rating:safe", Tag("rating:safe")),
    ('caption:"A Photo"', Text(("caption",), "a photo")),
    ("caption:beach", Text(("caption",), "beach")),
    ("name:*.png", Text(("name",), "*.png", glob=True)),
    ("path:sub/*", Text(("path",), "sub/*", glob=True)),
    ("status:edited", Status(frozenset({"edited"}))),
    ("status:Uncaptioned", Status(frozenset({"pending", "failed"}))),
    ("status:truncated", Status(frozenset(), truncated=True)),
    ("tokens:>75", Number("tokens", 76, None)),
    ("tokens:>=75", Number("tokens", 75, None)),
    ("tokens:<=20", Number("tokens", None, 20)),
    ("chars:<40", Number("chars", None, 39)),
    ("words:=10", Number("words", 10, 10)),
    ("words:10", Number("words", 10, 10)),
    ("words:10..20", Number("words", 10, 20)),
    ("status:done -review:approved tokens:>77",
     And((Status(frozenset({"done"})), Not(parse("review:approved")), Number("tokens", 78, None)))),
])
def test_valid_queries(query: str, tree: object) -> None:
    assert parse(query) == tree


def test_empty_query_matches_everything() -> None:
    assert parse("") is None and parse("   ") is None
    assert QueryContext().compile("   ")(object())


@pytest.mark.parametrize(("query", "position", "words"), [
    ("stauts:edited", 0, ["unknown field 'stauts' at 1", "did you mean 'status'", "fields are tag,"]),
    ("cat http://x", 4, ["unknown field 'http' at 5", '"http://x"']),
    ("status:edted", 7, ["unknown status 'edted' at 8", "'edited'", "statuses are pending"]),
    ("review:maybe", 7, ["unknown review mark 'maybe' at 8", "approved, flagged, none"]),
    ("(tag:a OR tag:b AND (c)", 23, ["missing ')' at 24", "'(' at 1"]),
    ("(cat OR dog", 11, ["missing ')' at 12"]),
    ("cat)", 3, ["unexpected ')' at 4"]),
    ("()", 0, ["empty parentheses at 1"]),
    ("tokens:>abc", 7, ["tokens needs a number: 'tokens:>abc' at 8"]),
    ("chars:<", 6, ["chars needs a number"]),
    ("words:1.5", 6, ["words needs a number"]),
    ("words:20..10", 6, ["empty range 20..10 at 7"]),
    ("tag:", 4, ["tag: at 1 needs a value"]),
    ('tag:"" x', 4, ["tag: at 1 needs a value"]),
    ('"unclosed', 0, ["missing closing quote for the string at 1"]),
    ('cat tag:"a b', 8, ["missing closing quote for the string at 9"]),
    ("OR cat", 0, ["OR at 1 needs a term before it"]),
    ("cat OR", 6, ["OR at 5 needs a term after it, not the end"]),
    ("cat AND AND dog", 8, ["AND at 5 needs a term after it, not 'AND'"]),
    ("NOT", 3, ["NOT at 1 needs a term after it"]),
    ("a NOT)", 5, ["NOT at 3 needs a term after it, not ')'"]),
    ("-)", 1, ["unexpected ')' at 2"]),
])
def test_invalid_queries_say_where_and_what(query: str, position: int, words: list[str]) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    assert info.value.position == position
    for word in words:
        assert word in str(info.value)


def test_tokenizer_positions() -> None:
    kinds = [(t.kind, t.text, t.position) for t in tokenize('a (tag:"x y" OR -b)')]
    assert kinds == [("WORD", "a", 0), ("(", "(", 2), ("FIELD", "tag", 3), ("STRING", "x y", 7),
                     ("OR", "OR", 13), ("-", "-", 16), ("WORD", "b", 17), (")", ")", 18), ("END", "", 19)]


# -- evaluation on a real library ---------------------------------------------------------------
CAPTIONS = {
    "a.png": "1girl, long hair, smile, outdoors",
    "b.jpg": "A photo of a red car parked on a beach at sunset.",
    "c.png": "1boy, short hair, hat",
    "sub/d.jpg": "long hair, 1girl, " + ", ".join(["detailed background"] * 30),
    "sub/e.png": "",
    "f.webp": "cat",
}


@pytest.fixture
def records(media: Path, open_library: OpenLibrary) -> list:  # noqa: ANN201
    make_files(media, list(CAPTIONS))
    library = open_library(media, recursive=True)
    for rel, caption in CAPTIONS.items():
        if caption:
            library.record_result(rel, caption)
    library.record_edit("c.png", "1boy, short hair, hat, glasses")
    library.record_failure("sub/e.png", "could not decode")
    library.set_review("a.png", Review.APPROVED)
    library.set_review("b.jpg", Review.FLAGGED)
    return library.items()


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["a.png", "b.jpg", "c.png", "sub/d.jpg", "sub/e.png", "f.webp"]),
    ("hair", ["a.png", "c.png", "sub/d.jpg"]),
    ("HAIR -short", ["a.png", "sub/d.jpg"]),
    ("png", ["a.png", "c.png", "sub/e.png"]),  # bare words search the file name too
    ("sub", []),  # ... the name, not the folder
    ("tag:1girl", ["a.png", "sub/d.jpg"]),
    ('tag:"LONG  hair"', ["a.png", "sub/d.jpg"]),
    ("tag:hair", []),  # a tag is a whole tag
    ("tag:*hair", ["a.png", "c.png", "sub/d.jpg"]),
    ("tag:glasses", ["c.png"]),
    ('caption:"red car"', ["b.jpg"]),
    ("caption:a*sunset.", ["b.jpg"]),
    ('caption:"a photo*"', []),  # quoted: the * is literal
    ("name:*.png", ["a.png", "c.png", "sub/e.png"]),
    ("name:?.jpg", ["b.jpg", "sub/d.jpg"]),
    ("path:sub/*", ["sub/d.jpg", "sub/e.png"]),
    ("status:edited", ["c.png"]),
    ("status:done", ["a.png", "b.jpg", "sub/d.jpg", "f.webp"]),
    ("status:failed OR status:edited", ["c.png", "sub/e.png"]),
    ("status:uncaptioned", ["sub/e.png"]),
    ("status:captioned NOT tag:1girl", ["b.jpg", "c.png", "f.webp"]),
    ("review:approved", ["a.png"]),
    ("review:none status:done", ["sub/d.jpg", "f.webp"]),
    ("tokens:>77", ["sub/d.jpg"]),
    ("tokens:<=3", ["sub/e.png", "f.webp"]),
    ("tokens:3", ["f.webp"]),
    ("chars:<40", ["a.png", "c.png", "sub/e.png", "f.webp"]),
    ("words:>10", ["b.jpg", "sub/d.jpg"]),
    ("words:1..5", ["a.png", "c.png", "f.webp"]),
    ("(tag:1girl OR tag:1boy) -review:approved", ["c.png", "sub/d.jpg"]),
    ("NOT (png OR jpg)", ["f.webp"]),
])
def test_queries_on_a_generated_folder(records: list, query: str, expected: list[str]) -> None:
    found = matches(query, records, tags_of=comma_tags)
    assert sorted(r.rel_path for r in found) == sorted(expected)


def test_tags_from_the_tag_module(records: list) -> None:
    from desktop_app.library.tags import DEFAULT_MATCH, split_tags

    items = [SimpleNamespace(rel_path=f"{i}.png", caption=c, status="done", review="", truncated=False)
             for i, c in enumerate(["1girl, long_hair, smile", "A girl with long hair, smiling, looks away.",
                                    "Long Hair, 1girl"])]
    context = QueryContext(tags_of=split_tags, tag_key=DEFAULT_MATCH.key)
    assert [i.rel_path for i in items if context.compile('tag:"long hair"')(i)] == ["0.png", "2.png"]
    assert [i.rel_path for i in items if context.compile("tag:long_hair -tag:smile")(i)] == ["2.png"]
    assert [i.rel_path for i in items if context.compile('caption:"long hair"')(i)] == ["1.png", "2.png"]


def test_tag_queries_need_a_tag_splitter(records: list) -> None:
    with pytest.raises(QueryError, match="tag: filters are not available"):
        QueryContext().compile("tag:x")


def test_tags_are_split_once_per_caption_text(records: list) -> None:
    calls: list[str] = []

    def tags_of(text: str) -> list[str]:
        calls.append(text)
        return comma_tags(text)

    context = QueryContext(tags_of=tags_of)
    predicate = context.compile("tag:1girl OR tag:hat")
    [predicate(r) for r in records * 3]
    assert len(calls) == len({r.caption for r in records})


def test_filtering_100k_items_is_quick() -> None:
    from dataclasses import dataclass

    @dataclass
    class Item:
        rel_path: str
        caption: str
        status: str = "done"
        review: str = ""
        truncated: bool = False

    words = "a photo of cat dog woman on red blue sofa beach under the sky long hair".split()
    items = [Item(f"img{i}.png", " ".join(words[(i + k) % len(words)] for k in range(5 + i % 50)))
             for i in range(100_000)]
    context = QueryContext(tags_of=comma_tags)
    timings = {}
    for query in ("cat", "tag:cat OR caption:beach", "name:img1*.png -status:edited", "tokens:>40"):
        predicate = context.compile(query)
        start = time.perf_counter()
        hits = sum(map(predicate, items))
        timings[query] = time.perf_counter() - start
        assert 0 < hits < len(items)
    # tokens: the first pass counts 100k captions; later passes read the cache
    start = time.perf_counter()
    sum(map(context.compile("tokens:>40"), items))
    cached = time.perf_counter() - start
    assert max(timings.values()) < 15 and cached < 3, (timings, cached)
