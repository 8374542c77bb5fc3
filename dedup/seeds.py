"""Seed files of a watch: plain text, optionally opening with a `date YYYY-MM-DD` header."""
from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from .types import Document

LOGGER = logging.getLogger(__name__)

__all__ = ["parse_seed_text", "seed_document"]

_HEADER_RE = re.compile(r"\s*date\s+(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?\s+", re.IGNORECASE)


def parse_seed_text(text: str) -> tuple[datetime | None, str]:
    """Split a seed file into its publication time (UTC, from a `date ...` header) and its body."""
    m = _HEADER_RE.match(text or "")
    if not m:
        return None, (text or "").strip()
    stamp = m.group(1) + "T" + (m.group(2) or "00:00")
    published = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)
    return published, text[m.end():].strip()


def seed_document(key: str, text: str, title: str = "") -> Document:
    """A seed as a Document: body and publication time parsed from the seed file's text."""
    published, body = parse_seed_text(text)
    if not title:
        first = body.split("\n", 1)[0]
        title = first if len(first) <= 120 else ""
    return Document(key=key, title=title, text=body, published_at=published, status="seed")
