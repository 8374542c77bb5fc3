"""The keyword query of a watch.

Syntax
------
A query is matched against an article's title and text. Matching ignores case and accents
(``turk`` matches "Türk", ``"rights chief"`` matches "Rights Chief") and punctuation
(``re-education`` matches "re-education" and "re education").

- ``word``            the word appears (whole words only: ``uyghur`` does not match "Uyghurs")
- ``word*``           a word starting with ``word`` appears (``uyghur*`` matches "Uyghur", "Uyghurs")
- ``"two words"``     the words appear next to each other, in this order; ``"rights chief*"`` too
- ``a AND b``         both; ``a b`` (terms side by side) means the same: AND is implicit
- ``a OR b``          either
- ``NOT a``           a does not appear
- ``a NEAR/n b``      a and b in one sentence, at most n words apart (either order); a and b are
                      terms or parenthesised ORs of terms, e.g. ``(china OR beijing) NEAR/10 bachelet``
- ``( ... )``         grouping

Operators are written in capitals (``AND``, ``OR``, ``NOT``, ``NEAR/n``); in lower case they are
ordinary words. Precedence, from tightest: NEAR, then NOT, then AND (explicit or implicit), then OR;
so ``a b OR c`` means ``(a AND b) OR c`` and ``NOT a b`` means ``(NOT a) AND b``.
NEAR says that two things are related, not merely both mentioned: "China voted against" in one
paragraph and "the High Commissioner said" in the next match ``china AND "high commissioner"``
but not ``china NEAR/10 "high commissioner"``.
A term made of several words, such as ``re-education`` or ``u.n.``, is matched as a phrase.

Example (the Bachelet/Xinjiang watch)::

    (xinjiang OR uyghur* OR uighur*)
    AND (bachelet OR turk OR "high commissioner" OR ohchr OR "rights chief" OR "rights office"
         OR "human rights council")

A query that cannot be parsed raises `QueryError`, whose message names the position
(counted from 1) and the problem, e.g. ``position 9: missing closing parenthesis``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .normalize import normalize_text, split_sentences, words

LOGGER = logging.getLogger(__name__)

__all__ = ["QueryError", "Query", "Match", "parse_query"]

_OPERATORS = ("AND", "OR", "NOT")
_NEAR_RE = re.compile(r"NEAR/(\d+)")


class QueryError(ValueError):
    """A watch query that cannot be parsed; `position` is 1-based."""

    def __init__(self, message: str, position: int, query: str = "") -> None:
        self.message = message
        self.position = position
        self.query = query
        super().__init__(f"position {position}: {message}")


@dataclass(frozen=True)
class Match:
    """Whether a query matched, and which of its (non-negated) terms were found."""

    matched: bool
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Token:
    kind: str  # word | phrase | lparen | rparen | and | or | not | near (text "NEAR/n")
    text: str
    position: int  # 1-based


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    prefix: bool
    label: str

    def found(self, docs: tuple[list[str], ...], vocab: frozenset[str]) -> bool:
        if len(self.words) == 1 and not self.prefix:
            return self.words[0] in vocab
        return any(_contains_sequence(doc, self.words, self.prefix) for doc in docs)

    def spans(self, sentence: list[str]) -> list[tuple[int, int]]:
        """(start, end) word positions of every occurrence in one sentence."""
        n, last = len(self.words), len(self.words) - 1
        out = []
        for i in range(len(sentence) - n + 1):
            if all(sentence[i + j] == self.words[j] for j in range(last)):
                w = sentence[i + last]
                if w == self.words[last] or (self.prefix and w.startswith(self.words[last])):
                    out.append((i, i + n))
        return out


@dataclass(frozen=True)
class _Not:
    child: "_Node"


@dataclass(frozen=True)
class _Near:
    left: tuple[_Term, ...]  # alternatives (an OR of terms)
    right: tuple[_Term, ...]
    distance: int  # most words allowed between the two

    def found(self, sentences: list[list[str]], found: list[str]) -> bool:
        hit = False
        for sentence in sentences:
            lefts = [(t, s) for t in self.left for s in t.spans(sentence)]
            if not lefts:
                continue
            rights = [(t, s) for t in self.right for s in t.spans(sentence)]
            for lt, (a0, a1) in lefts:
                for rt, (b0, b1) in rights:
                    if max(b0 - a1, a0 - b1) <= self.distance:
                        hit = True
                        found.extend(t.label for t in (lt, rt) if t.label not in found)
        return hit


@dataclass(frozen=True)
class _And:
    children: tuple["_Node", ...]


@dataclass(frozen=True)
class _Or:
    children: tuple["_Node", ...]


_Node = _Term | _Not | _And | _Or | _Near


def _contains_sequence(doc: list[str], seq: tuple[str, ...], prefix: bool) -> bool:
    n = len(seq)
    last = n - 1
    for i in range(len(doc) - n + 1):
        if all(doc[i + j] == seq[j] for j in range(last)):
            w = doc[i + last]
            if w == seq[last] or (prefix and w.startswith(seq[last])):
                return True
    return False


_TOKEN_RE = re.compile(r'\s+|\(|\)|"[^"]*"?|[^\s()"]+')


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    text = query.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'}))
    for m in _TOKEN_RE.finditer(text):
        raw, pos = m.group(), m.start() + 1
        if raw.isspace():
            continue
        if raw == "(":
            tokens.append(_Token("lparen", raw, pos))
        elif raw == ")":
            tokens.append(_Token("rparen", raw, pos))
        elif raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise QueryError("unterminated quoted phrase", pos, query)
            tokens.append(_Token("phrase", raw[1:-1], pos))
        elif raw in _OPERATORS:
            tokens.append(_Token(raw.lower(), raw, pos))
        elif raw.startswith("NEAR"):
            if not _NEAR_RE.fullmatch(raw):
                raise QueryError(f"{raw!r}: write NEAR/n with n the most words allowed in between, e.g. NEAR/10",
                                 pos, query)
            tokens.append(_Token("near", raw, pos))
        else:
            tokens.append(_Token("word", raw, pos))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.i = 0

    def error(self, message: str, token: _Token | None = None) -> QueryError:
        position = token.position if token else len(self.query) + 1
        return QueryError(message, position, self.query)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> _Node:
        if not self.tokens:
            raise self.error("the query is empty", None) if self.query.strip() else QueryError(
                "the query is empty", 1, self.query)
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise self.error("unexpected ')' without an opening parenthesis" if tok.kind == "rparen"
                             else f"unexpected {tok.text!r}", tok)
        return node

    def parse_or(self) -> _Node:
        children = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            if self.peek() is None or self.peek().kind in ("or", "and", "rparen", "near"):
                raise self.error("expected a term after OR", self.peek() or None)
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else _Or(tuple(children))

    def parse_and(self) -> _Node:
        children = [self.parse_not()]
        while (tok := self.peek()) is not None and tok.kind in ("and", "word", "phrase", "lparen", "not"):
            if tok.kind == "and":
                self.i += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in ("or", "and", "rparen", "near"):
                    raise self.error("expected a term after AND", nxt)
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else _And(tuple(children))

    def parse_not(self) -> _Node:
        tok = self.peek()
        if tok is not None and tok.kind == "not":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("or", "and", "rparen", "near"):
                raise self.error("expected a term after NOT", nxt)
            return _Not(self.parse_not())
        return self.parse_near()

    def parse_near(self) -> _Node:
        first = self.peek()
        node = self.parse_primary()
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("or", "and", "rparen", "near", "not"):
                raise self.error(f"expected a term after {tok.text}", nxt)
            right = self.parse_primary()
            if isinstance(node, _Near):
                raise self.error("NEAR joins two terms; write (a NEAR/n b) AND (b NEAR/n c) for more", tok)
            distance = int(_NEAR_RE.fullmatch(tok.text).group(1))
            node = _Near(self._alternatives(node, first), self._alternatives(right, nxt), distance)
        return node

    def _alternatives(self, node: _Node, tok: _Token) -> tuple[_Term, ...]:
        if isinstance(node, _Term):
            return (node,)
        if isinstance(node, _Or) and all(isinstance(c, _Term) for c in node.children):
            return tuple(node.children)
        raise self.error("each side of NEAR must be a term or an OR of terms in parentheses", tok)

    def parse_primary(self) -> _Node:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a term at the end of the query", None)
        if tok.kind == "lparen":
            self.i += 1
            nxt = self.peek()
            if nxt is not None and nxt.kind == "rparen":
                raise self.error("empty parentheses", nxt)
            node = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.error("missing closing parenthesis for '(' at position "
                                 f"{tok.position}", close)
            self.i += 1
            return node
        if tok.kind in ("word", "phrase"):
            self.i += 1
            return self._term(tok)
        raise self.error(f"expected a term, found {tok.text!r}", tok)

    def _term(self, tok: _Token) -> _Term:
        raw = tok.text.strip()
        prefix = raw.endswith("*")
        core = raw.rstrip("*")
        if "*" in core:
            raise self.error("'*' is allowed only at the end of a term", tok)
        ws = tuple(words(core))
        if not ws:
            raise self.error(f"{tok.text!r} contains no letters or digits to match"
                             if tok.text.strip() else "empty quoted phrase", tok)
        label = normalize_text(core) + ("*" if prefix else "")
        return _Term(ws, prefix, label)


def _collect(node: _Node, negated: bool, docs: tuple[list[str], ...], vocab: frozenset[str],
             found: list[str], sentences: list[list[str]]) -> bool:
    if isinstance(node, _Near):
        return node.found(sentences, found if not negated else [])
    if isinstance(node, _Term):
        hit = node.found(docs, vocab)
        if hit and not negated and node.label not in found:
            found.append(node.label)
        return hit
    if isinstance(node, _Not):
        return not _collect(node.child, not negated, docs, vocab, found, sentences)
    # Evaluate every child (no short-circuit) so that all matched terms are reported.
    results = [_collect(c, negated, docs, vocab, found, sentences) for c in node.children]
    return all(results) if isinstance(node, _And) else any(results)


def _positive_terms(node: _Node, negated: bool = False) -> list[str]:
    if isinstance(node, _Near):
        return [] if negated else [t.label for t in node.left + node.right]
    if isinstance(node, _Term):
        return [] if negated else [node.label]
    if isinstance(node, _Not):
        return _positive_terms(node.child, not negated)
    return [t for c in node.children for t in _positive_terms(c, negated)]


def _render(node: _Node) -> str:
    if isinstance(node, _Near):
        side = [_render(_Or(x)) if len(x) > 1 else _render(x[0]) for x in (node.left, node.right)]
        return f"({side[0]} NEAR/{node.distance} {side[1]})"
    if isinstance(node, _Term):
        return node.label if len(node.words) == 1 else f'"{node.label}"'
    if isinstance(node, _Not):
        return f"NOT {_render(node.child)}"
    joiner = " AND " if isinstance(node, _And) else " OR "
    return "(" + joiner.join(_render(c) for c in node.children) + ")"


@dataclass(frozen=True)
class Query:
    """A parsed watch query; `match` tests an article against it."""

    source: str
    root: _Node

    def match(self, title: str, text: str) -> Match:
        """Match the query on title and text (case-, accent- and punctuation-insensitive)."""
        docs = (words(title or ""), words(text or ""))
        vocab = frozenset(docs[0]) | frozenset(docs[1])
        found: list[str] = []
        sentences = [words(s) for part in (title or "", text or "") for s in split_sentences(part)]
        matched = _collect(self.root, False, docs, vocab, found, sentences)
        return Match(matched=matched, terms=tuple(found))

    @property
    def terms(self) -> tuple[str, ...]:
        """The terms that count in favour of a match (those not under NOT)."""
        return tuple(dict.fromkeys(_positive_terms(self.root)))

    def __str__(self) -> str:
        return _render(self.root)


def parse_query(text: str) -> Query:
    """Parse a watch query; raises QueryError with position and message on bad syntax."""
    return Query(source=text, root=_Parser(text).parse())
