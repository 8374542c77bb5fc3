"""Text normalisation shared by hashing, shingling, the query language and relevance.

Everything that compares text goes through `normalize_text` first, so that typography
(curly quotes, dashes, ligatures, accents, line breaks) never decides whether two reports differ.
"""
from __future__ import annotations

import logging
import re
import unicodedata


LOGGER = logging.getLogger(__name__)

__all__ = ["normalize_text", "words", "split_sentences", "content_lines"]

# Typographic variants that copy-editors and CMSs swap freely.
_PUNCT_MAP = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "\u0131": "i",  # dotless i has no decomposition; Turkish names are matched without it
    "\u00df": "ss",
    "\u00f8": "o", "\u0142": "l", "\u0111": "d", "\u00e6": "ae", "\u0153": "oe",
})
_PUNCT_PAIRS = tuple((chr(code), replacement) for code, replacement in _PUNCT_MAP.items())
_SPACE_RE = re.compile(r"\s+")
WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
# A sentence ends at . ! ? (possibly followed by a closing quote or bracket) before whitespace and
# an opening quote, bracket, digit or capital letter.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]*[A-Z0-9\u00c0-\u024f])")
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "no", "vs", "inc", "corp", "ltd", "co", "jr", "sr", "u.s", "u.n", "u.k", "e.g", "i.e", "etc",
})


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():  # most news text: nothing to strip
        return decomposed
    # Drop every code point with a combining class, as a per-character walk would: look at each
    # distinct character once, then remove the few marks found with C-speed replaces.
    for mark in [ch for ch in set(decomposed) if unicodedata.combining(ch)]:
        decomposed = decomposed.replace(mark, "")
    return decomposed


def _unify_punctuation(text: str) -> str:
    # str.translate with a dict costs a lookup per character of non-ASCII text; replacing only the
    # mapped characters present gives the same string (no replacement contains a mapped character).
    for ch, replacement in _PUNCT_PAIRS:
        if ch in text:
            text = text.replace(ch, replacement)
    return text


def normalize_text(text: str) -> str:
    """NFKC, casefold, strip accents, unify quotes and dashes, collapse whitespace."""
    if not text:
        return ""
    if text.isascii():
        # NFKC and NFKD leave ASCII as it is, casefold is lower, the backtick is its only mapped character.
        if "`" in text:
            text = text.replace("`", "'")
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKC", text)
    text = _unify_punctuation(text).casefold()
    text = _strip_accents(text)
    # str.split() and the regex \s use the same whitespace definition (str.isspace); split is faster.
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The normalised words of `text` (letters and digits; punctuation separates words)."""
    return WORD_RE.findall(normalize_text(text))


def split_sentences(text: str) -> list[str]:
    """Split `text` into sentences (as written, whitespace collapsed); paragraphs always end one."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n+", text or ""):
        paragraph = _SPACE_RE.sub(" ", paragraph).strip()
        if not paragraph:
            continue
        pending = ""
        last = 0
        for m in _SENTENCE_END_RE.finditer(paragraph):
            piece = paragraph[last:m.start()]
            last_word = piece.rstrip(".!?\"')]\u201d\u2019").rsplit(" ", 1)[-1].lower()
            # "Mr. Türk" or "U.S. officials" must not end a sentence.
            if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
                continue
            pending = paragraph[last:m.end()].strip()
            sentences.append(pending)
            last = m.end()
        tail = paragraph[last:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def content_lines(text: str, min_words: int = 8) -> list[str]:
    """Lines of `text` long enough to be prose: drops bylines, datelines alone, 'Most read' stubs."""
    return [line.strip() for line in (text or "").splitlines() if len(words(line)) >= min_words]
