"""The grid's filter language: a tokenizer, a recursive-descent parser to an AST, an evaluator.

    cat dog                 name or caption contains "cat" and contains "dog" (any case)
    "red car"               ... contains the phrase
    tag:"long hair"         the caption has this tag (glob: tag:*hair)
    caption:beach           the caption contains it (glob, whole caption: caption:a*photo*)
    name:*.png  path:sub/*  the file name / the path in the folder (glob, or contains)
    status:edited           pending, uncaptioned (= todo: pending or failed), queued,
                            generating, done, edited, failed, captioned, truncated (= cut),
                            unfinished (a Thinking model's reasoning ran out of tokens),
                            empty (the model gave no text)
    review:flagged          approved, flagged, none
    tokens:>75  chars:<40   numbers: > >= < <= = or a range 10..20 (tokens: CLIP tokens,
    words:10..20            start and end included, as the "n / 77" under the editor)
    a OR b, a AND b, NOT a, -a, ( ... )   AND binds tighter than OR; juxtaposition is AND

Operators are upper case (a lower-case "or" is a word). Wildcards * and ? work in unquoted
values; quoted values are literal, with backslash escapes (`"say \\"hi\\""`). A value takes
balanced parentheses (`tag:miku_(cosplay)`). A bad query raises `QueryError`: its message
names the 1-based column and what is wrong, its `position` is the 0-based index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

TEXT_FIELDS = ("caption", "name", "path")
NUMBER_FIELDS = ("tokens", "chars", "words")
FIELDS = ("tag", *TEXT_FIELDS, "status", "review", *NUMBER_FIELDS)
#: `status:` values and the statuses (or flag) each one means.
STATUS_VALUES: dict[str, frozenset[str]] = {
    "pending": frozenset({"pending"}),
    "uncaptioned": frozenset({"pending", "failed"}),
    "todo": frozenset({"pending", "failed"}),
    "queued": frozenset({"queued"}),
    "generating": frozenset({"generating"}),
    "done": frozenset({"done"}),
    "edited": frozenset({"edited"}),
    "failed": frozenset({"failed"}),
    "captioned": frozenset({"done", "edited"}),
    "truncated": frozenset(),  # the "cut at the token limit" flag, not a status
    "cut": frozenset(),  # the same flag
    "unfinished": frozenset(),  # these two: why the last generation left no caption text
    "empty": frozenset(),
}
#: `status:` values that test the item's `problem` (a generation without text), not its status.
PROBLEM_VALUES = {"unfinished": "reasoning_unfinished", "empty": "empty"}
REVIEW_VALUES = {"approved": "approved", "flagged": "flagged", "none": ""}
_OPERATORS = {"AND", "OR", "NOT"}
_NUMBER = re.compile(r"(>=|<=|>|<|=)?(\d+)|(\d+)\.\.(\d+)")
_FIELD = re.compile(r"([A-Za-z_]+):")


class QueryError(ValueError):
    """A query that cannot be parsed: `position` is the 0-based index of the fault."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# -- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """A lexical token: kind is one of ( ) AND OR NOT - WORD STRING FIELD END."""

    kind: str
    text: str
    position: int


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens, the last one END (raises QueryError for an unclosed quote)."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        start = i
        if char in "()":
            tokens.append(Token(char, char, i))
            i += 1
        elif char == '"':
            text, i = _string(query, i)
            tokens.append(Token("STRING", text, start))
        elif char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            tokens.append(Token("-", "-", i))
            i += 1
        elif field := _FIELD.match(query, i):
            tokens.append(Token("FIELD", field.group(1), start))
            i = field.end()
            if i < n and query[i] == '"':
                text, end = _string(query, i)
                tokens.append(Token("STRING", text, i))
            else:
                text, end = _word(query, i)
                tokens.append(Token("WORD", text, i))
            i = end
        else:
            text, i = _word(query, i)
            tokens.append(Token(text if text in _OPERATORS else "WORD", text, start))
    tokens.append(Token("END", "", n))
    return tokens


def _string(query: str, i: int) -> tuple[str, int]:
    """The quoted string opening at `query[i]`: its text (backslash escapes applied), its end."""
    start, i = i, i + 1
    out: list[str] = []
    while i < len(query):
        char = query[i]
        if char == "\\" and i + 1 < len(query):
            out.append(query[i + 1])
            i += 2
        elif char == '"':
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise QueryError(f"missing closing quote for the string at {start + 1}", start)


def _word(query: str, i: int) -> tuple[str, int]:
    """A bare word: up to whitespace, a quote or an unbalanced ')' (balanced '()' belong to it)."""
    start, depth = i, 0
    while i < len(query):
        char = query[i]
        if char.isspace() or char == '"':
            break
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        i += 1
    return query[start:i], i


# -- syntax tree ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """Base of the syntax tree's nodes."""


@dataclass(frozen=True)
class And(Node):
    """All children match."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    """Any child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    """The child does not match."""

    child: Node


@dataclass(frozen=True)
class Text(Node):
    """Text of `fields` ("name", "caption", "path") contains `value`, or matches it as a glob."""

    fields: tuple[str, ...]
    value: str  # case-folded
    glob: bool = False


@dataclass(frozen=True)
class Tag(Node):
    """The caption has a tag equal to `value` (compared by the context's tag key), or a glob."""

    value: str
    glob: bool = False


@dataclass(frozen=True)
class Status(Node):
    """The item's status is one of `statuses` (`truncated`: its caption was cut instead;
    `problem`: its last generation left no text for that reason instead)."""

    statuses: frozenset[str]
    truncated: bool = False
    problem: str = ""


@dataclass(frozen=True)
class Review(Node):
    """The item's review mark is `value` ("" : none)."""

    value: str


@dataclass(frozen=True)
class Number(Node):
    """A number of the caption (`field`: tokens, chars or words) lies in [low, high]."""

    field: str
    low: int | None
    high: int | None


# -- parser -----------------------------------------------------------------------------------
def parse(query: str) -> Node | None:
    """The syntax tree of a query; None for an empty one (it matches everything).

    Raises:
        QueryError: With the position and what is wrong.
    """
    return _Parser(query).parse()


class _Parser:
    """Recursive descent:  or := and (OR and)* ;  and := unary ((AND)? unary)* ;
    unary := (NOT | '-') unary | primary ;  primary := '(' or ')' | FIELD value | WORD | STRING."""

    _STARTS = frozenset({"(", "NOT", "-", "WORD", "STRING", "FIELD"})

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node | None:
        if self.peek().kind == "END":
            return None
        node = self.or_()
        token = self.peek()
        if token.kind == ")":
            raise QueryError(f"unexpected ')' at {token.position + 1}: no '(' to close", token.position)
        if token.kind != "END":  # pragma: no cover - or_() stops only at ')' or END
            raise QueryError(f"unexpected {token.text!r} at {token.position + 1}", token.position)
        return node

    def or_(self) -> Node:
        children = [self.and_()]
        while self.peek().kind == "OR":
            self.operand_after(self.take())
            children.append(self.and_())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self) -> Node:
        children = [self.unary()]
        while True:
            token = self.peek()
            if token.kind == "AND":
                self.operand_after(self.take())
            elif token.kind not in self._STARTS:
                break
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        token = self.peek()
        if token.kind in ("NOT", "-"):
            self.operand_after(self.take())
            return Not(self.unary())
        return self.primary()

    def operand_after(self, operator: Token) -> None:
        """Check that a term follows an operator."""
        token = self.peek()
        if token.kind not in self._STARTS:
            where = "the end" if token.kind == "END" else repr(token.text)
            raise QueryError(f"{operator.text} at {operator.position + 1} needs a term after it, "
                             f"not {where}", token.position)

    def primary(self) -> Node:
        token = self.take()
        kind = token.kind
        if kind == "(":
            if self.peek().kind == ")":
                raise QueryError(f"empty parentheses at {token.position + 1}", token.position)
            node = self.or_()
            close = self.peek()
            if close.kind != ")":
                raise QueryError(f"missing ')' at {close.position + 1} to close the '(' at "
                                 f"{token.position + 1}", close.position)
            self.take()
            return node
        if kind == "FIELD":
            return self.field(token, self.take())
        if kind in ("WORD", "STRING"):
            return _text(("name", "caption"), token.text, kind == "WORD")
        if kind in ("AND", "OR"):
            raise QueryError(f"{kind} at {token.position + 1} needs a term before it", token.position)
        if kind == ")":
            raise QueryError(f"unexpected ')' at {token.position + 1}", token.position)
        raise QueryError(f"the query ends where a term should follow (at {token.position + 1})",
                         token.position)

    def field(self, name: Token, value: Token) -> Node:
        field = name.text.lower()
        if field not in FIELDS:
            raise QueryError(_unknown("field", name.text, name.position, FIELDS)
                             + f'; quote it to search for the text: "{name.text}:{value.text}"',
                             name.position)
        text, at = value.text, value.position
        if not text:
            raise QueryError(f"{field}: at {name.position + 1} needs a value, like "
                             f"{_EXAMPLES[field]}", at)
        if field == "tag":
            return Tag(text, value.kind == "WORD" and _is_glob(text))
        if field in TEXT_FIELDS:
            return _text((field,), text, value.kind == "WORD")
        if field == "status":
            key = text.lower()
            if key not in STATUS_VALUES:
                raise QueryError(_unknown("status", text, at, STATUS_VALUES, "statuses"), at)
            return Status(STATUS_VALUES[key], key in ("truncated", "cut"), PROBLEM_VALUES.get(key, ""))
        if field == "review":
            key = text.lower()
            if key not in REVIEW_VALUES:
                raise QueryError(_unknown("review mark", text, at, REVIEW_VALUES), at)
            return Review(REVIEW_VALUES[key])
        return _number(field, text, at, name.position)


_EXAMPLES = {"tag": "tag:1girl or tag:\"long hair\"", "caption": "caption:beach", "name": "name:*.png",
             "path": "path:subfolder/*", "status": "status:edited", "review": "review:flagged",
             "tokens": "tokens:>75", "chars": "chars:<40", "words": "words:10..20"}


def _unknown(what: str, text: str, at: int, known: Iterable[str], plural: str = "") -> str:
    import difflib  # noqa: PLC0415 - only for error messages

    known = list(known)
    close = difflib.get_close_matches(text.lower(), known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{text}' at {at + 1}{hint} — {plural or what + 's'} are {', '.join(known)}"


def _is_glob(text: str) -> bool:
    return "*" in text or "?" in text


def _text(fields: tuple[str, ...], text: str, bare: bool) -> Text:
    return Text(fields, text.casefold(), bare and _is_glob(text))


def _number(field: str, text: str, at: int, start: int) -> Number:
    found = _NUMBER.fullmatch(text)
    if not found:
        raise QueryError(f"{field} needs a number: '{field}:{text}' at {at + 1} (like "
                         f"{field}:>75, {field}:<=20, {field}:=8 or {field}:10..20)", at)
    op, number, low, high = found.groups()
    if low is not None:
        if int(low) > int(high):
            raise QueryError(f"empty range {low}..{high} at {at + 1}: the first number is the larger",
                             at)
        return Number(field, int(low), int(high))
    value = int(number)
    return {None: Number(field, value, value), "=": Number(field, value, value),
            ">": Number(field, value + 1, None), ">=": Number(field, value, None),
            "<": Number(field, None, value - 1), "<=": Number(field, None, value)}[op]


# -- evaluation -------------------------------------------------------------------------------
Predicate = Callable[[Any], bool]


def _plain(value: Any) -> str:
    """A str-enum's value, or the string itself."""
    return value if type(value) is str else str(getattr(value, "value", value) or "")


@dataclass(frozen=True)
class Access:
    """How to read the queried fields of an item (a library record, a grid item, ...)."""

    name: Callable[[Any], str]
    path: Callable[[Any], str]
    caption: Callable[[Any], str]
    status: Callable[[Any], str]
    review: Callable[[Any], str]
    truncated: Callable[[Any], bool]
    problem: Callable[[Any], str] = lambda item: getattr(item, "problem", "") or ""


#: Access to the library's `ItemRecord`s.
RECORD_ACCESS = Access(
    name=lambda r: r.rel_path.rpartition("/")[2],
    path=attrgetter("rel_path"),
    caption=lambda r: r.caption or "",
    status=lambda r: _plain(r.status),
    review=lambda r: _plain(r.review),
    truncated=attrgetter("truncated"),
)


def default_tag_key(tag: str) -> str:
    """Tags compare case-insensitively with whitespace collapsed."""
    return " ".join(tag.split()).casefold()


def uses(node: Node | None, kind: type[Node], field: str | None = None) -> bool:
    """Whether the tree holds a node of `kind` (and, for `Number`, of `field`)."""
    if node is None:
        return False
    if isinstance(node, (And, Or)):
        return any(uses(child, kind, field) for child in node.children)
    if isinstance(node, Not):
        return uses(node.child, kind, field)
    return isinstance(node, kind) and (field is None or getattr(node, "field", None) == field)


class QueryContext:
    """Compiles queries to predicates over items, and caches what they derive from captions.

    Args:
        access: How to read items (default: library records).
        tags_of: A caption's tags (the tag module's `split_tags`, with its separator). A
            `tag:` query without it raises QueryError.
        tag_key: The comparison form of a tag (applied to both sides).
        count_tokens: A caption's CLIP token count (default: the shared counter, cached).
    """

    def __init__(self, access: Access = RECORD_ACCESS, *,
                 tags_of: Callable[[str], Iterable[str]] | None = None,
                 tag_key: Callable[[str], str] = default_tag_key,
                 count_tokens: Callable[[str], int] | None = None) -> None:
        self.access = access
        self.tags_of = tags_of
        self.tag_key = tag_key
        self._count_tokens = count_tokens
        self._tags: dict[str, frozenset[str]] = {}

    def count_tokens(self, caption: str) -> int:
        """The caption's CLIP token count (start and end included)."""
        if self._count_tokens is None:
            from desktop_app.library.clip_tokens import TokenCountCache  # noqa: PLC0415

            self._count_tokens = TokenCountCache().get
        return self._count_tokens(caption)

    def tags(self, caption: str) -> frozenset[str]:
        """The caption's tag keys (cached per caption text)."""
        found = self._tags.get(caption)
        if found is None:
            if self.tags_of is None:
                raise RuntimeError("this context has no tags_of")
            if len(self._tags) > 500_000:
                self._tags = {}
            key = self.tag_key
            found = self._tags[caption] = frozenset(key(t) for t in self.tags_of(caption))
        return found

    def compile(self, query: str | Node | None) -> Predicate:
        """A predicate of items for a query (its text, or a tree from `parse`).

        Raises:
            QueryError: For a bad query, or a `tag:` query in a context without `tags_of`.
        """
        node = parse(query) if isinstance(query, str) else query
        if node is None:
            return lambda item: True
        if self.tags_of is None and uses(node, Tag):
            raise QueryError("tag: filters are not available here", 0)
        return self._compile(node)

    def _compile(self, node: Node) -> Predicate:  # noqa: C901, PLR0911 - one branch per node type
        a = self.access
        if isinstance(node, And):
            parts = [self._compile(child) for child in node.children]
            return lambda item: all(p(item) for p in parts)
        if isinstance(node, Or):
            parts = [self._compile(child) for child in node.children]
            return lambda item: any(p(item) for p in parts)
        if isinstance(node, Not):
            inner = self._compile(node.child)
            return lambda item: not inner(item)
        if isinstance(node, Text):
            getters = [getattr(a, f) for f in node.fields]
            if node.glob:
                match = _glob(node.value)
                return lambda item: any(match(g(item).casefold()) for g in getters)
            value = node.value
            return lambda item: any(value in g(item).casefold() for g in getters)
        if isinstance(node, Tag):
            tags, caption = self.tags, a.caption
            key = self.tag_key(node.value)
            if node.glob:
                match = _glob(key)
                return lambda item: any(match(t) for t in tags(caption(item)))
            return lambda item: key in tags(caption(item))
        if isinstance(node, Status):
            if node.truncated:
                return lambda item: bool(a.truncated(item))
            if node.problem:
                problem_of, wanted = a.problem, node.problem
                return lambda item: problem_of(item) == wanted
            statuses, status = node.statuses, a.status
            return lambda item: status(item) in statuses
        if isinstance(node, Review):
            value, review = node.value, a.review
            return lambda item: review(item) == value
        if isinstance(node, Number):
            measure = {"tokens": self.count_tokens, "chars": len,
                       "words": lambda text: len(text.split())}[node.field]
            low = node.low if node.low is not None else -1
            high = node.high if node.high is not None else float("inf")
            caption = a.caption
            return lambda item: low <= measure(caption(item)) <= high
        raise TypeError(f"not a query node: {node!r}")  # pragma: no cover


def _glob(pattern: str) -> Callable[[str], Any]:
    """A whole-string matcher of a glob where only * and ? are special (brackets are literal)."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL).fullmatch


def matches(query: str, items: Iterable[Any], **context: Any) -> list[Any]:
    """The items a query accepts (a convenience over `QueryContext(**context).compile`)."""
    predicate = QueryContext(**context).compile(query)
    return [item for item in items if predicate(item)]
