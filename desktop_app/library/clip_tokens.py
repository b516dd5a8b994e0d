"""Counts CLIP ViT-L/14 text tokens exactly as CLIP's own tokenizer does, fast and offline.

The count convention (the one the caption panel shows as "n / 77" and `tokens:` filters on):
a caption's count is the number of positions it fills in CLIP's 77-token context, the start
and end tokens included, before truncation. So "a cat" is 4 (start, "a", "cat", end), an
empty caption is 2, and a caption fits when its count is at most 77, which leaves 75 tokens
for the text itself, the "75" that kohya-ss sd-scripts and the A1111 prompt box count. Past 77,
CLIP (and every trainer using its text encoder) drops the text's tokens beyond the 75th.

The BPE vocabulary is CLIP's `bpe_simple_vocab_16e6.txt.gz`, which ships inside the
`open_clip_torch` wheel; it is read from there without importing `open_clip` (that imports
torch and timm). The tokenizer is rebuilt with the Rust `tokenizers` library the way CLIP's
`SimpleTokenizer` builds its encoder: the byte-to-unicode table, the `</w>` end-of-word
suffix, the first 48,894 merges, CLIP's pre-tokenising regex; cleaning (ftfy, HTML unescape,
whitespace, lower case) stays in Python so it is the same code path as CLIP's.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import logging
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: CLIP's text context, start and end tokens included.
CONTEXT_LENGTH = 77
#: Tokens of the text itself that fit (the context less the start and end tokens).
CONTENT_LIMIT = CONTEXT_LENGTH - 2
VOCAB_NAME = "bpe_simple_vocab_16e6.txt.gz"
_MERGES = 49152 - 256 - 2  # CLIP keeps merges[1 : 49152-256-2+1] of the file
_SPECIALS = ("<start_of_text>", "<end_of_text>")
# CLIP's pattern, matched case-insensitively as CLIP does (after lower-casing that still
# matters: the long s folds to "s" in "'s", U+0345 to an iota).
_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
# Text of printable ASCII and ordinary whitespace without '&' is left as it is by ftfy and
# html.unescape; anything else takes CLIP's full cleaning path.
# CLIP's pattern on lower-case ASCII (no specials): the same pieces, several times faster.
_ASCII_PIECES = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+""")
_NEEDS_FULL_CLEAN = re.compile(r"[^\t\n\r\x20-\x25\x27-\x7e]")


class ClipVocabMissing(RuntimeError):
    """CLIP's BPE vocabulary is not installed (the `open-clip-torch` package is missing)."""


def vocab_path() -> Path:
    """Where CLIP's BPE vocabulary is installed (inside the `open_clip` package, not imported).

    Raises:
        ClipVocabMissing: If `open_clip` (package `open-clip-torch`) is not installed.
    """
    bundled = getattr(sys, "_MEIPASS", None)  # the PyInstaller build ships the file alone
    if bundled and (Path(bundled) / "open_clip" / VOCAB_NAME).is_file():
        return Path(bundled) / "open_clip" / VOCAB_NAME
    spec = importlib.util.find_spec("open_clip")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / VOCAB_NAME
        if path.is_file():
            return path
    raise ClipVocabMissing(f"CLIP's {VOCAB_NAME} was not found: install the open-clip-torch package")


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map of the 256 byte values to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def clean(text: str) -> str:
    """CLIP's text cleaning: ftfy, HTML unescaped twice, whitespace collapsed, lower case."""
    if _NEEDS_FULL_CLEAN.search(text):
        import ftfy  # noqa: PLC0415 - only text outside plain ASCII needs it

        text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


def _build(path: Path) -> Any:
    """CLIP's BPE as a `tokenizers` model over pre-split pieces (bytes mapped as CLIP does)."""
    from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: PLC0415

    lines = gzip.open(path).read().decode("utf-8").split("\n")[1:_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + list(_SPECIALS)
    bpe = models.BPE(vocab={s: i for i, s in enumerate(vocab)}, merges=merges,
                     continuing_subword_prefix="", end_of_word_suffix="</w>", fuse_unk=False)
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return tokenizer


_unicode_pieces: Any = None


def _pieces(cleaned: str) -> Any:
    """CLIP's pre-tokenisation of cleaned text: an iterator of regex matches.

    ASCII text (the common case) goes through an equivalent stdlib pattern, several times
    faster; the rest through the `regex` module with CLIP's own pattern (a dependency of
    open_clip and transformers), so Unicode classes are those CLIP sees.
    """
    global _unicode_pieces
    if cleaned.isascii() and "_of_text>" not in cleaned:
        return _ASCII_PIECES.finditer(cleaned)
    if _unicode_pieces is None:
        import regex  # noqa: PLC0415

        _unicode_pieces = regex.compile("|".join(_SPECIALS) + "|" + _PATTERN, regex.IGNORECASE)
    return _unicode_pieces.finditer(cleaned)


@dataclass(frozen=True)
class TokenReport:
    """One text's count and, when it is too long, where CLIP cuts it.

    Attributes:
        count: Tokens including start and end (see the module's convention).
        limit: The context length it was measured against (77).
        cut: Character offset in the original text where the first dropped token starts
            (None when everything fits, or when the cleaned text cannot be mapped back).
        overflow: The (cleaned, lower-case) text of the dropped tokens ("" when it fits).
    """

    count: int
    limit: int = CONTEXT_LENGTH
    cut: int | None = None
    overflow: str = ""

    @property
    def over(self) -> bool:
        """Whether CLIP drops part of the text."""
        return self.count > self.limit


class ClipTokenCounter:
    """Counts CLIP tokens of texts; the BPE is built once, on first use (~0.1-0.2 s).

    CLIP applies BPE to each pre-tokenised piece on its own, so a text's count is the sum of
    its pieces' counts: those are cached, and only pieces never seen go through the BPE.
    Safe to use from several threads (the tokenizer is built under a lock; the piece cache
    only grows, or is replaced whole).
    """

    def __init__(self, path: Path | None = None, max_cached_pieces: int = 500_000) -> None:
        self._path = path
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._max = max_cached_pieces
        self._piece_counts: dict[str, int] = dict.fromkeys(_SPECIALS, 1)

    def _get(self) -> Any:
        tokenizer = self._tokenizer
        if tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = _build(self._path or vocab_path())
                tokenizer = self._tokenizer
        return tokenizer

    def _encode(self, cleaned: str) -> tuple[list[int], list[int]]:
        """Token ids of cleaned text and the character offset where each token starts."""
        tokenizer = self._get()
        matches = list(_pieces(cleaned))
        if not matches:
            return [], []
        # A special token is one id; "x" stands in for it (one token) and is swapped back.
        words = ["x" if m.group() in _SPECIALS else m.group() for m in matches]
        encoding = tokenizer.encode(words, is_pretokenized=True, add_special_tokens=False)
        ids, starts = list(encoding.ids), []
        for i, (word, (start, _)) in enumerate(zip(encoding.word_ids, encoding.offsets)):
            match = matches[word]
            if match.group() in _SPECIALS:
                ids[i] = tokenizer.token_to_id(match.group())
            starts.append(match.start() + start)
        return ids, starts

    def encode(self, text: str) -> list[int]:
        """CLIP's token ids of `text`, without start and end tokens (its `SimpleTokenizer.encode`)."""
        return self._encode(clean(text))[0]

    def count(self, text: str) -> int:
        """Tokens of `text` including start and end (CLIP's positions, before truncation)."""
        return self.count_many([text])[0]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """`count` of many texts at once (100k captions in about 2-3 s on one core)."""
        known = self._piece_counts
        if len(known) > self._max:  # replaced, not cleared: another thread may be reading it
            known = self._piece_counts = dict.fromkeys(_SPECIALS, 1)
        lookup = known.__getitem__
        counts = [0] * len(texts)
        retry: list[tuple[int, list[str]]] = []
        for i, text in enumerate(texts):
            cleaned = clean(text)
            if cleaned.isascii() and "_of_text>" not in cleaned:
                pieces = _ASCII_PIECES.findall(cleaned)
            else:
                pieces = [m.group() for m in _pieces(cleaned)]
            try:
                counts[i] = sum(map(lookup, pieces)) + 2
            except KeyError:
                retry.append((i, pieces))
        if retry:
            new = list({p: None for _, pieces in retry for p in pieces if p not in known})
            encodings = self._get().encode_batch_fast([[p] for p in new], is_pretokenized=True,
                                                      add_special_tokens=False)
            known.update(zip(new, (len(e.ids) for e in encodings)))
            for i, pieces in retry:
                counts[i] = sum(map(lookup, pieces)) + 2
        return counts

    def report(self, text: str, limit: int = CONTEXT_LENGTH) -> TokenReport:
        """The count of `text` and, past `limit`, where it is cut and what is dropped."""
        cleaned = clean(text)
        ids, starts = self._encode(cleaned)
        count = len(ids) + 2
        if count <= limit:
            return TokenReport(count, limit)
        start = starts[limit - 2]  # the first content token past the limit
        return TokenReport(count, limit, _original_offset(text, cleaned, start), cleaned[start:])


def _original_offset(text: str, cleaned: str, offset: int) -> int | None:
    """Map a character offset of the cleaned text back to `text`, word by word.

    Cleaning collapses whitespace and lower-cases; when it also changed the words (ftfy,
    HTML entities) and their number no longer matches, there is no mapping: None.
    """
    words = [m for m in re.finditer(r"\S+", text)]
    cleaned_words = cleaned.split(" ")
    if len(words) != len(cleaned_words):
        return None
    position = 0
    for match, word in zip(words, cleaned_words):
        if offset < position + len(word) + 1:
            return match.start() + min(offset - position, len(match.group()))
        position += len(word) + 1
    return len(text)


_default: ClipTokenCounter | None = None


def default_counter() -> ClipTokenCounter:
    """The process-wide counter (its tokenizer is built on first use, ~0.3 s)."""
    global _default
    if _default is None:
        _default = ClipTokenCounter()
    return _default


def count_tokens(text: str) -> int:
    """CLIP ViT-L/14 tokens of `text`, start and end included (fits when <= 77)."""
    return default_counter().count(text)


class TokenCountCache:
    """Token counts per caption text, so filtering 100k items counts each text once.

    Thread-safe enough for one writer thread plus readers (dict operations are atomic).
    """

    def __init__(self, counter: ClipTokenCounter | None = None, max_entries: int = 1_000_000) -> None:
        self._counter = counter
        self._counts: dict[str, int] = {}
        self._max = max_entries

    @property
    def counter(self) -> ClipTokenCounter:
        """The counter behind the cache."""
        return self._counter or default_counter()

    def get(self, text: str) -> int:
        """The count of `text` (counted now when not cached)."""
        count = self._counts.get(text)
        if count is None:
            count = self.counter.count(text)
            self._store({text: count})
        return count

    def cached(self, text: str) -> int | None:
        """The count of `text` if already known."""
        return self._counts.get(text)

    def missing(self, texts: Iterable[str]) -> list[str]:
        """The distinct texts not counted yet."""
        counts = self._counts
        return list({t: None for t in texts if t not in counts})

    def fill(self, texts: Iterable[str], chunk: int = 20_000) -> int:
        """Count every text not cached yet, in batches; returns how many were counted."""
        todo = self.missing(texts)
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            self._store(dict(zip(part, self.counter.count_many(part))))
        return len(todo)

    def _store(self, counts: dict[str, int]) -> None:
        if len(self._counts) + len(counts) > self._max:
            self._counts = {}
        self._counts.update(counts)
