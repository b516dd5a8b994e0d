"""The CLIP token counter gives CLIP's own counts (open_clip's SimpleTokenizer is the reference)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from desktop_app.library.clip_tokens import (
    CONTEXT_LENGTH, ClipTokenCounter, TokenCountCache, clean, count_tokens, vocab_path,
)

WORDS = ("a photo of the cat dog woman man sitting standing on red blue sofa beach under sky with "
         "long hair smiling 1girl solo looking_at_viewer outdoors masterpiece best_quality "
         "highres absurdres photorealistic bokeh depth-of-field 35mm f/1.8 isn't we'll I'M "
         "Don't THEY'RE you've o'clock rock'n'roll").split()
ODD = [
    "", " ", "\t\n", "a", "A", "'s", "'S", "''", "x's", "1girl, 2boys, 3others", "3.14159", "1,000,000",
    "100%", "$5.99", "e-mail@example.com", "https://example.com/a?b=c&d=e", "C:\\path\\file.png",
    "(masterpiece:1.2), [worst quality], {tag}", "score_9, score_8_up, rating:safe", "a__b--c..d",
    "“curly quotes” and ‘single’ — dashes – too…", "café naïve résumé façade", "ﬁnance ﬂower ﬀ ﬃ",
    "ＦＵＬＬ　ＷＩＤＴＨ　１２３", "日本語のテキストです。", "中文字幕，标点。", "한국어 텍스트", "Ελληνικά ΣΟΦΟΣ σοφός",
    "Русский текст, ЁЖИК", "עברית", "العربية", "हिन्दी", "ไทย", "emoji 😀👍🏽🇫🇷 👨‍👩‍👧", "❤️ ★ ☆ ♪",
    "&amp; &lt;b&gt; &amp;amp;amp; &#39;x&#39; &nbsp;", "<start_of_text>", "a<end_of_text>b",
    "x<<start_of_text>>y", "İstanbul ǅemal ß ẞ ſ 'ſ K Å", "a\u0345b", "zero\u200bwidth\u00a0nbsp",
    "control\x00\x01\x1b[31mred\x7f", "line\r\nbreaks\rand\nmore", "\u3000ideographic space",
    "Ⅻ ⅻ Ⓐ ⓐ ① ²³ ½", "mojibake: Ã©tÃ© cafÃ©", "tab\tseparated\tvalues", "a" * 300,
    "supercalifragilisticexpialidocious antidisestablishmentarianism", "🙂" * 40,
    "0123456789" * 10, "!!!???...,,,;;;", "don't won't can't shouldn't y'all ma'am",
]


def _corpus(n: int = 400) -> list[str]:
    rng = random.Random(7)
    texts = list(ODD)
    for _ in range(n):
        kind = rng.random()
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 90))]
        if kind < 0.4:
            texts.append(", ".join(words))  # booru tags
        elif kind < 0.8:
            texts.append(" ".join(words).capitalize() + ".")  # sentences
        else:
            extra = [rng.choice(ODD) for _ in range(rng.randint(1, 4))]
            texts.append(" ".join(words + extra))
    # every 53rd code point of the BMP (and some emoji), alone and inside a word
    for cp in [*range(0x20, 0xD800, 53), *range(0xE000, 0x10000, 53), *range(0x1F300, 0x1FA00, 97)]:
        texts.append(f"a{chr(cp)}b {chr(cp)}{chr(cp)}")
    return texts


@pytest.fixture(scope="module")
def reference():  # noqa: ANN201
    tokenizer = pytest.importorskip("open_clip.tokenizer")  # imports torch: tests only
    return tokenizer.SimpleTokenizer()


@pytest.fixture(scope="module")
def counter() -> ClipTokenCounter:
    return ClipTokenCounter()


def test_ids_and_counts_equal_open_clip(reference, counter: ClipTokenCounter) -> None:  # noqa: ANN001
    texts = _corpus()
    assert len(texts) > 1000
    for text in texts:
        assert counter.encode(text) == reference.encode(text), repr(text)
    assert counter.count_many(texts) == [len(reference.encode(t)) + 2 for t in texts]
    assert ClipTokenCounter().count_many(list(reversed(texts))) == \
        [len(reference.encode(t)) + 2 for t in reversed(texts)]  # a cold piece cache too


def test_count_includes_start_and_end_tokens(reference, counter: ClipTokenCounter) -> None:  # noqa: ANN001
    assert counter.count("") == 2
    assert counter.count("a cat") == 4
    assert count_tokens("a photo of a cat") == 7
    # CLIP's own tensor: the count is the number of non-padding positions before truncation
    ids = reference(["a photo of a cat"])[0].tolist()
    assert sum(1 for i in ids if i) == 7


def test_report_marks_the_overflow(counter: ClipTokenCounter) -> None:
    text = " ".join(["cat"] * 71 + ["x12", "Bird", "fish"])  # x12 is 3 tokens: "x", "1", "2"
    report = counter.report(text)
    assert report.count == 71 + 3 + 1 + 1 + 2 and report.over
    # 75 content tokens fit: 71 cats, x, 1, 2, bird; "fish" is the 76th
    assert report.cut == text.index("fish") and report.overflow == "fish"
    text = " ".join(["cat"] * 73 + ["x12", "Bird"])
    report = counter.report(text)  # the cut falls inside a word: at its "2"
    assert report.count == 79 and text[report.cut:] == "2 Bird" and report.overflow == "2 bird"
    short = counter.report("a short caption")
    assert not short.over and short.cut is None and short.overflow == ""
    fits = counter.report(" ".join(["cat"] * 75))
    assert fits.count == CONTEXT_LENGTH and not fits.over
    over = counter.report("  CAT   " + " ".join(["cat"] * 75))  # whitespace and case are cleaned
    assert over.count == 78 and over.cut == len("  CAT   " + "cat " * 74)


def test_cleaning_is_clips(reference) -> None:  # noqa: ANN001
    from open_clip.tokenizer import _clean_lower

    for text in ODD:
        assert clean(text) == _clean_lower(text), repr(text)


def test_cache_counts_each_text_once(counter: ClipTokenCounter) -> None:
    cache = TokenCountCache(counter)
    texts = ["a cat", "a dog", "a cat", ""]
    assert cache.missing(texts) == ["a cat", "a dog", ""]
    assert cache.fill(texts) == 3
    assert cache.fill(texts) == 0
    assert [cache.get(t) for t in texts] == [4, 4, 4, 2]
    assert cache.cached("unknown") is None and cache.get("unknown") == 3


def test_counting_is_fast(counter: ClipTokenCounter) -> None:
    import time

    rng = random.Random(1)
    texts = [", ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) + f" #{i}" for i in range(20_000)]
    counter.count_many(texts[:100])
    start = time.perf_counter()
    counts = counter.count_many(texts)
    seconds = time.perf_counter() - start
    assert len(counts) == 20_000 and min(counts) > 5
    assert seconds < 5, f"20k captions took {seconds:.2f} s"  # ~0.5 s on an idle core


def test_vocab_comes_from_the_wheel_without_importing_open_clip() -> None:
    assert vocab_path().name == "bpe_simple_vocab_16e6.txt.gz"
    code = ("import sys; from desktop_app.library.clip_tokens import count_tokens;"
            "n = count_tokens('a photo of a cat, café'); "
            "assert not {'open_clip', 'torch', 'timm'} & set(sys.modules), sorted(sys.modules); print(n)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "9"
