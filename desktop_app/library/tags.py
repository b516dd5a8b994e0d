"""Captions as tag lists that keep sentences whole: split, edit and rebuild, byte for byte.

A caption is a sequence of *pieces* split on the separator (", " splits on ","). A piece is a
TAG when it looks like one (a few words, no sentence punctuation); otherwise it is part of a
SENTENCE, which tag operations never split, edit, reorder or dedupe. A comma inside a
sentence ("A dog, sitting on the sand, looks at the sea.") does not make tags of its clauses:
a lowercase clause ending a sentence pulls the pieces before it into that sentence, back to
the piece that starts with a capital letter.

Editing keeps everything it does not touch: `TagCaption.parse(x).render() == x` for every
string, `set_tags(x, split_tags(x)) == x`, and renaming, adding or removing a tag changes only
that tag (and one separator).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_SEPARATOR = ", "

TAG = "tag"
SENTENCE = "sentence"
EMPTY = "empty"

# Sentence punctuation: a terminator followed by whitespace or the end ("v1.5" stays a tag).
_TERMINATOR = re.compile(r"[.!?…](?:\s|$)")


@dataclass(frozen=True)
class TagRules:
    """What counts as a tag.

    Attributes:
        max_words: A piece with more words is a sentence.
        max_chars: A piece with more characters is a sentence.
        join_clauses: A lowercase sentence piece of at least `clause_words` words pulls the
            tag-like pieces before it into its sentence, back to one starting with a capital.
        clause_words: See `join_clauses`.
    """

    max_words: int = 6
    max_chars: int = 64
    join_clauses: bool = True
    clause_words: int = 2


DEFAULT_RULES = TagRules()


@dataclass(frozen=True)
class TagMatch:
    """How tags compare when counting, matching and finding duplicates.

    Attributes:
        case_sensitive: "Red" and "red" differ.
        keep_underscores: "long_hair" and "long hair" differ (off: alike, as in taggui).
    """

    case_sensitive: bool = False
    keep_underscores: bool = False

    def key(self, tag: str) -> str:
        """The form of `tag` used for comparison."""
        text = tag if self.keep_underscores else tag.replace("_", " ")
        text = " ".join(text.split())
        return text if self.case_sensitive else text.casefold()


DEFAULT_MATCH = TagMatch()


def separator_core(separator: str) -> str:
    """The part of a separator that splits (", " splits on ","; "\\n" on "\\n")."""
    if not separator:
        raise ValueError("The tag separator is empty")
    return separator.strip() or separator


@dataclass
class Piece:
    """One piece between separators: whitespace, the text, whitespace, and what it is."""

    lead: str
    body: str
    trail: str
    kind: str = TAG

    def raw(self) -> str:
        """The piece as it stands in the caption."""
        return self.lead + self.body + self.trail


def _split_ws(raw: str) -> Piece:
    body = raw.strip()
    if not body:
        return Piece(raw, "", "", EMPTY)
    start = raw.index(body[0])
    return Piece(raw[:start], body, raw[start + len(body):])


def _base_kind(body: str, rules: TagRules) -> str:
    if not body:
        return EMPTY
    if "\n" in body or len(body) > rules.max_chars or _TERMINATOR.search(body):
        return SENTENCE
    return SENTENCE if len(body.split()) > rules.max_words else TAG


def classify(bodies: list[str], rules: TagRules = DEFAULT_RULES) -> list[str]:
    """The kind (TAG, SENTENCE, EMPTY) of each piece of a caption, in order."""
    kinds = [_base_kind(b, rules) for b in bodies]
    if not rules.join_clauses:
        return kinds
    i = len(bodies) - 1
    while i > 0:
        body = bodies[i]
        if kinds[i] == SENTENCE and body[0].islower() and len(body.split()) >= rules.clause_words:
            j = i - 1
            while j >= 0 and kinds[j] == TAG and bodies[j][0].islower():
                j -= 1
            if j >= 0 and kinds[j] == TAG and bodies[j][0].isupper():
                for k in range(j, i):
                    kinds[k] = SENTENCE
                i = j
                continue
        i -= 1
    return kinds


class TagCaption:
    """A caption parsed into pieces; edit its tags, then `render()` it.

    The caption's outer whitespace (`prefix`, `suffix`) and every untouched piece render
    exactly as they were read. New pieces copy the spacing most used around the caption's
    separators (else the configured separator's).
    """

    def __init__(self, text: str, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES) -> None:
        self.separator = separator
        self.core = separator_core(separator)
        self.rules = rules
        core = text.strip()
        if not core:
            self.prefix, self.suffix, self.pieces = text, "", []
        else:
            start = text.index(core[0])
            self.prefix, self.suffix = text[:start], text[start + len(core):]
            self.pieces = [_split_ws(raw) for raw in core.split(self.core)]
        self._style = self._spacing()
        self.reclassify()

    @classmethod
    def parse(cls, text: str, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES) -> TagCaption:
        """Parse `text` (same as the constructor)."""
        return cls(text, separator, rules)

    def _spacing(self) -> tuple[str, str]:
        """(lead, trail) whitespace for a new piece: the caption's habit, else the separator's."""
        core_at = self.separator.find(self.core)
        default = (self.separator[core_at + len(self.core):], self.separator[:core_at])
        if self.core.isspace():
            default = ("", "")
        leads = Counter(p.lead for p in self.pieces[1:] if p.kind != EMPTY)
        trails = Counter(p.trail for p in self.pieces[:-1] if p.kind != EMPTY)
        lead = leads.most_common(1)[0][0] if leads else default[0]
        trail = trails.most_common(1)[0][0] if trails else default[1]
        return lead, trail

    def reclassify(self) -> None:
        """Recompute every piece's kind (after bodies changed)."""
        for piece, kind in zip(self.pieces, classify([p.body for p in self.pieces], self.rules)):
            piece.kind = kind

    def render(self) -> str:
        """The caption text."""
        return self.prefix + self.core.join(p.raw() for p in self.pieces) + self.suffix

    # -- reading ------------------------------------------------------------------------------
    def tag_indexes(self) -> list[int]:
        """Indexes into `pieces` of the tag pieces, in order."""
        return [i for i, p in enumerate(self.pieces) if p.kind == TAG]

    def tags(self) -> list[str]:
        """The tags, in order (sentences left out)."""
        return [p.body for p in self.pieces if p.kind == TAG]

    def segments(self) -> list[tuple[str, str]]:
        """(kind, text) of each tag and each whole sentence, in order: what a tag view shows.

        Neighbouring sentence pieces make one segment ("A dog, sitting, looks." stays whole).
        """
        out: list[tuple[str, str]] = []
        run: list[Piece] = []
        for piece in self.pieces + [Piece("", "", "", EMPTY)]:
            if piece.kind == SENTENCE:
                run.append(piece)
                continue
            if run:
                out.append((SENTENCE, self.core.join(p.raw() for p in run).strip()))
                run = []
            if piece.kind == TAG:
                out.append((TAG, piece.body))
        return out

    def find(self, tag: str, match: TagMatch = DEFAULT_MATCH) -> list[int]:
        """Indexes into `pieces` of the tags equal to `tag` under `match`."""
        key = match.key(tag)
        return [i for i, p in enumerate(self.pieces) if p.kind == TAG and match.key(p.body) == key]

    # -- primitive edits (piece indexes) ------------------------------------------------------
    def insert(self, index: int, tag: str) -> None:
        """Insert `tag` as a new piece before `pieces[index]` (`len(pieces)`: at the end)."""
        tag = tag.strip()
        if not tag:
            raise ValueError("A tag cannot be empty")
        lead, trail = self._style
        pieces = self.pieces
        if not pieces:
            pieces.append(Piece("", tag, ""))
        elif index <= 0:
            new = Piece(pieces[0].lead, tag, trail)
            pieces[0].lead = lead
            pieces.insert(0, new)
        elif index >= len(pieces):
            new = Piece(lead, tag, pieces[-1].trail)
            pieces[-1].trail = trail
            pieces.append(new)
        else:
            pieces.insert(index, Piece(lead, tag, trail))
        self.reclassify()

    def remove(self, index: int) -> None:
        """Remove `pieces[index]` and one separator beside it."""
        pieces = self.pieces
        gone = pieces.pop(index)
        if pieces and index == 0:
            pieces[0].lead = gone.lead
        elif pieces and index == len(pieces):
            pieces[-1].trail = gone.trail
        self.reclassify()

    def rename_at(self, index: int, tag: str) -> None:
        """Give `pieces[index]` new text, keeping its spacing."""
        tag = tag.strip()
        if not tag:
            raise ValueError("A tag cannot be empty")
        self.pieces[index].body = tag
        self.reclassify()

    # -- tag-level edits ----------------------------------------------------------------------
    def set_tags(self, tags: list[str]) -> None:
        """Make the tag list `tags`, changing only the tags that differ (sentences stay put).

        New tags go where they stand in the list: before the tag they precede, after the last
        tag, or (a caption without tags) at the end.
        """
        tags = [t.strip() for t in tags if t.strip()]
        index = self.tag_indexes()
        old = [self.pieces[i].body for i in index]
        ops = difflib.SequenceMatcher(None, old, tags, autojunk=False).get_opcodes()
        for op, i1, i2, j1, j2 in reversed(ops):  # from the end, so earlier indexes hold
            if op == "equal":
                continue
            common = min(i2 - i1, j2 - j1) if op == "replace" else 0
            for t in range(common):
                self.pieces[index[i1 + t]].body = tags[j1 + t]
            for k in reversed(range(i1 + common, i2)):
                self.remove(index[k])
            extra = tags[j1 + common:j2]
            if extra:
                if common:
                    at = index[i1 + common - 1] + 1
                elif i1 < len(index):
                    at = index[i1]
                else:
                    at = index[-1] + 1 if index else len(self.pieces)
                for tag in reversed(extra):
                    self.insert(at, tag)
        self.reclassify()

    def rename(self, old: str, new: str, match: TagMatch = DEFAULT_MATCH) -> bool:
        """Rename every tag equal to `old`; whether anything changed."""
        hits = self.find(old, match)
        for i in hits:
            self.pieces[i].body = new.strip()
        self.reclassify()
        return bool(hits)

    def delete(self, tag: str, match: TagMatch = DEFAULT_MATCH) -> bool:
        """Remove every tag equal to `tag`; whether anything changed."""
        hits = self.find(tag, match)
        for i in reversed(hits):
            self.remove(i)
        return bool(hits)

    def move_to_front(self, tag: str, match: TagMatch = DEFAULT_MATCH) -> bool:
        """Make `tag` the caption's first piece (before sentences too); other copies go."""
        hits = self.find(tag, match)
        if not hits or hits == [0]:
            return False
        body = self.pieces[hits[0]].body
        for i in reversed(hits):
            if i != 0:
                self.remove(i)
        if not (self.pieces and self.pieces[0].kind == TAG and match.key(self.pieces[0].body) == match.key(body)):
            self.insert(0, body)
        return True

    def add(self, tag: str, front: bool = False, match: TagMatch = DEFAULT_MATCH) -> bool:
        """Add `tag` at the front of the caption or after its last tag, unless it has it."""
        if self.find(tag, match):
            return False
        if front:
            self.insert(0, tag)
        else:
            index = self.tag_indexes()
            self.insert(index[-1] + 1 if index else len(self.pieces), tag)
        return True

    def dedupe(self, match: TagMatch = DEFAULT_MATCH) -> bool:
        """Remove repeated tags (the first stays); whether anything changed."""
        dupes = duplicate_indexes([p.body if p.kind == TAG else None for p in self.pieces], match)
        for i in reversed(dupes):
            self.remove(i)
        return bool(dupes)


def duplicate_indexes(tags: Iterable[str | None], match: TagMatch = DEFAULT_MATCH) -> list[int]:
    """Indexes of tags that repeat an earlier one (None entries are skipped)."""
    seen: set[str] = set()
    out = []
    for i, tag in enumerate(tags):
        if tag is None:
            continue
        key = match.key(tag)
        if key in seen:
            out.append(i)
        seen.add(key)
    return out


# -- string functions -------------------------------------------------------------------------
def split_tags(text: str, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES) -> list[str]:
    """The tags of a caption, in order, stripped; sentence pieces are left out."""
    if not text:
        return []
    # The same pieces as TagCaption's, without building it (counting 100k captions).
    bodies = [piece.strip() for piece in text.split(separator_core(separator))]
    return [b for b, kind in zip(bodies, classify(bodies, rules)) if kind == TAG]


def join_tags(tags: Iterable[str], separator: str = DEFAULT_SEPARATOR) -> str:
    """A new caption of `tags` joined by `separator` (empty tags dropped)."""
    return separator.join(t.strip() for t in tags if t.strip())


def set_tags(text: str, tags: list[str], separator: str = DEFAULT_SEPARATOR,
             rules: TagRules = DEFAULT_RULES) -> str:
    """`text` with its tag list replaced by `tags`, sentences and untouched spacing kept."""
    caption = TagCaption(text, separator, rules)
    caption.set_tags(tags)
    return caption.render()


def caption_segments(text: str, separator: str = DEFAULT_SEPARATOR,
                     rules: TagRules = DEFAULT_RULES) -> list[tuple[str, str]]:
    """(kind, text) of each piece of `text` (TAG or SENTENCE), as a tag view lists them."""
    return TagCaption(text, separator, rules).segments()


# -- batch plans --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TagOp:
    """A tag operation on many captions.

    Attributes:
        kind: "rename", "delete", "front" (move to front), "add", "add_front", "dedupe".
        tag: The tag operated on (unused by "dedupe").
        new: The new name ("rename" only).
    """

    kind: str
    tag: str = ""
    new: str = ""

    def label(self, count: int) -> str:
        """A short description for the undo history."""
        what = {"rename": f"Rename tag “{self.tag}” to “{self.new}”", "delete": f"Delete tag “{self.tag}”",
                "front": f"Move tag “{self.tag}” to the front", "add": f"Add tag “{self.tag}”",
                "add_front": f"Add tag “{self.tag}” at the front", "dedupe": "Remove duplicate tags"}[self.kind]
        return f"{what} in {count:,} caption{'s' if count != 1 else ''}"


OPS = ("rename", "delete", "front", "add", "add_front", "dedupe")


def apply_op(text: str, op: TagOp, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES,
             match: TagMatch = DEFAULT_MATCH) -> str:
    """`text` after `op` (the same string when the op does not apply to it).

    Raises:
        ValueError: For an unknown op or an empty tag name.
    """
    if op.kind not in OPS:
        raise ValueError(f"Unknown tag operation {op.kind!r}")
    if op.kind != "dedupe" and not op.tag.strip():
        raise ValueError("Type a tag")
    if op.kind == "rename" and not op.new.strip():
        raise ValueError("Type the tag's new name")
    if op.kind in ("rename", "delete", "front") and match.key(op.tag) not in text_keys(text, separator, match):
        return text  # fast path: most captions lack the tag
    caption = TagCaption(text, separator, rules)
    changed = {"rename": lambda: caption.rename(op.tag, op.new, match),
               "delete": lambda: caption.delete(op.tag, match),
               "front": lambda: caption.move_to_front(op.tag, match),
               "add": lambda: caption.add(op.tag, False, match),
               "add_front": lambda: caption.add(op.tag, True, match),
               "dedupe": lambda: caption.dedupe(match)}[op.kind]()
    return caption.render() if changed else text


def text_keys(text: str, separator: str, match: TagMatch) -> set[str]:
    """Comparison keys of every piece of `text` (a cheap superset of its tags' keys)."""
    return {match.key(piece) for piece in text.split(separator_core(separator))}


def plan_op(items: Iterable[tuple[Path, str]], op: TagOp, separator: str = DEFAULT_SEPARATOR,
            rules: TagRules = DEFAULT_RULES, match: TagMatch = DEFAULT_MATCH) -> list[tuple[Path, str, str]]:
    """(path, old, new) of every caption `op` changes; captions it leaves alone are skipped."""
    out = []
    for path, text in items:
        if op.kind == "add" or op.kind == "add_front" or text:
            new = apply_op(text or "", op, separator, rules, match)
            if new != text:
                out.append((path, text, new))
    return out


# -- counts ---------------------------------------------------------------------------------------
@dataclass
class TagCounts:
    """How many captions hold each tag (a caption counts once per tag), updated per caption.

    Tags are grouped by `match.key`; each group shows the spelling seen first.
    """

    separator: str = DEFAULT_SEPARATOR
    rules: TagRules = DEFAULT_RULES
    match: TagMatch = DEFAULT_MATCH
    counts: Counter[str] = field(default_factory=Counter)
    names: dict[str, str] = field(default_factory=dict)
    _by_path: dict[Path, tuple[str, ...]] = field(default_factory=dict)

    def keys_of(self, text: str) -> tuple[str, ...]:
        """The distinct tag keys of one caption, in order."""
        out: dict[str, None] = {}
        for tag in split_tags(text, self.separator, self.rules):
            key = self.match.key(tag)
            if key not in out:
                out[key] = None
                self.names.setdefault(key, tag)
        return tuple(out)

    def set_caption(self, path: Path, text: str) -> bool:
        """Count `path`'s caption as `text` now; whether any count changed."""
        new = self.keys_of(text) if text else ()
        old = self._by_path.get(path, ())
        if new == old:
            return False
        self.counts.subtract(old)
        self.counts.update(new)
        for key in old:
            if self.counts[key] <= 0:
                del self.counts[key]
        if new:
            self._by_path[path] = new
        else:
            self._by_path.pop(path, None)
        return True

    def forget(self, path: Path) -> None:
        """`path` left the folder."""
        self.set_caption(path, "")

    def most_common(self) -> list[tuple[str, int]]:
        """(display name, count), most frequent first, then by name."""
        return sorted(((self.names[k], n) for k, n in self.counts.items()), key=lambda kv: (-kv[1], kv[0]))

    def count(self, tag: str) -> int:
        """How many captions hold `tag`."""
        return self.counts.get(self.match.key(tag), 0)

    def paths_with(self, tag: str) -> list[Path]:
        """The files whose caption holds `tag`."""
        key = self.match.key(tag)
        return [p for p, keys in self._by_path.items() if key in keys]

    def __len__(self) -> int:
        return len(self.counts)


def count_tags(items: Iterable[tuple[Path, str]], separator: str = DEFAULT_SEPARATOR,
               rules: TagRules = DEFAULT_RULES, match: TagMatch = DEFAULT_MATCH) -> TagCounts:
    """Count the tags of many captions (run it off the GUI thread for big folders)."""
    counts = TagCounts(separator, rules, match)
    by_path = counts._by_path
    tally: Counter[str] = Counter()
    for path, text in items:
        if text:
            keys = counts.keys_of(text)
            if keys:
                by_path[path] = keys
                tally.update(keys)
    counts.counts = tally
    return counts


def iter_tag_keys(text: str, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES,
                  match: TagMatch = DEFAULT_MATCH) -> Iterator[str]:
    """Comparison keys of a caption's tags (for `tag:x` filters)."""
    return (match.key(t) for t in split_tags(text, separator, rules))


# -- filtering ----------------------------------------------------------------------------------
_QUERY = re.compile(r'^\s*tag:\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$', re.IGNORECASE)


@lru_cache(maxsize=64)
def query_tag(text: str) -> str | None:
    """The tag of a whole-query `tag:x` / `tag:"x y"` filter, else None."""
    found = _QUERY.match(text)
    if not found:
        return None
    tag = found.group(1) if found.group(1) is not None else found.group(2)
    return re.sub(r"\\(.)", r"\1", tag).strip() or None


def has_tag(text: str, tag: str, separator: str = DEFAULT_SEPARATOR, rules: TagRules = DEFAULT_RULES,
            match: TagMatch = DEFAULT_MATCH) -> bool:
    """Whether the caption `text` holds `tag` as a tag (not inside a sentence)."""
    key = match.key(tag)
    if not text or key not in text_keys(text, separator, match):
        return False  # fast: most captions lack the tag
    return any(match.key(t) == key for t in split_tags(text, separator, rules))
