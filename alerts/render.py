"""Rendering a digest: Markdown, HTML email, plain text, JSON and Atom, every feed-borne string escaped."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from alerts.build import one_line
from alerts.errors import UnknownFormat
from alerts.model import Digest, Story

LOGGER = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("markdown", "html", "text", "json", "atom")
JSON_SCHEMA = "newswatch.digest/1"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Characters that carry meaning anywhere in CommonMark/GFM inline text: emphasis, code, links,
# raw HTML and entities, tables, strikethrough. Backslash-escaping them makes them literal.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>&|~])")
# Block markers that only matter at the start of a line: headings, lists, quotes, ordered lists.
_MD_LINE_START = re.compile(r"^(\s*)(?:([#+\->=])|(\d+)([.)]))")


def markdown_text(text: str | None) -> str:
    """`text` as literal Markdown: brackets, asterisks, underscores, backticks and angle brackets escaped."""
    escaped = _MD_INLINE.sub(r"\\\1", one_line(text))
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    # '# x' -> '\# x'; an ordered-list marker is escaped at its dot: '1. x' -> '1\. x'.
    if match.group(2):
        return match.group(1) + "\\" + match.group(2)
    return match.group(1) + match.group(3) + "\\" + match.group(4)


def safe_url(url: str | None) -> str:
    """The URL when it is http(s), else "": a feed must not smuggle javascript: or data: links into a digest."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def markdown_url(url: str | None) -> str:
    """A link destination for Markdown: http(s) only, with spaces, parentheses and angle brackets percent-encoded."""
    return quote(safe_url(url), safe=":/?#[]@!$&'*+,;=%~")


def format_date(moment: datetime | None) -> str:
    """A date for people: '31 Aug 2022'."""
    return f"{moment.day} {moment:%b %Y}" if moment else ""


def format_time(moment: datetime | None) -> str:
    """A moment for people: '31 Aug 2022, 14:05 UTC'."""
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC" if moment else ""


def period_text(digest: Digest) -> str:
    """The period in words: 'since 30 Nov 2026, 08:00 UTC' or 'everything so far'."""
    if digest.period_start is None:
        return f"everything found up to {format_time(digest.period_end)}"
    return f"{format_time(digest.period_start)} to {format_time(digest.period_end)}"


def shows_story(story: Story) -> bool:
    """Whether a story needs its own heading: several updates, or an update of an earlier article's story."""
    return len(story.items) > 1 or story.title != story.items[0].title


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 update', '2 updates'."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def subject(digest: Digest) -> str:
    """The email subject / notification title: one line, no CR or LF whatever the feed said."""
    if digest.is_empty:
        text = f"{digest.title}: no new updates"
    else:
        lead = digest.items[0].title
        more = digest.counts.updates - 1
        text = f"{digest.title}: {plural(digest.counts.updates, 'update')}: {lead}" + (f" (+{more} more)" if more else "")
    return one_line(text)[:250]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # HTML and Atom escape every value unless a template says otherwise; Markdown and text use filters.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml", "atom"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=markdown_text, md_url=markdown_url, safe_url=safe_url, one_line=one_line,
                       date=format_date, time=format_time)
    env.globals.update(plural=plural, period_text=period_text, shows_story=shows_story)
    return env


_ENV = _environment()


def _render_template(name: str, digest: Digest, **extra: Any) -> str:
    return _ENV.get_template(name).render(digest=digest, subject=subject(digest), **extra)


def render_markdown(digest: Digest) -> str:
    """The digest as Markdown (CommonMark), safe to render: feed text cannot become markup."""
    return _render_template("digest.md.j2", digest)


def render_text(digest: Digest) -> str:
    """The digest as plain text."""
    return _render_template("digest.txt.j2", digest)


def render_html(digest: Digest) -> str:
    """The digest as an HTML email: one self-contained page, inline CSS, autoescaped."""
    return _render_template("digest.html", digest)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def digest_document(digest: Digest) -> dict[str, Any]:
    """The digest as JSON-ready data (schema `newswatch.digest/1`, documented in the README)."""
    return {
        "schema": JSON_SCHEMA,
        "id": digest.id,
        "watch": digest.watch,
        "title": digest.title,
        "generated_at": _iso(digest.generated_at),
        "period": {"start": _iso(digest.period_start), "end": _iso(digest.period_end)},
        "counts": {
            "updates": digest.counts.updates,
            "copies_suppressed": digest.counts.copies_suppressed,
            "off_topic": digest.counts.off_topic,
            "sources_failing": digest.counts.sources_failing,
        },
        "stories": [
            {
                "story_id": story.story_id,
                "title": story.title,
                "updates": [
                    {
                        "id": item.article_id,
                        "title": item.title,
                        "outlet": item.outlet,
                        "url": item.url,
                        "published_at": _iso(item.published_at),
                        "first_seen_at": _iso(item.first_seen_at),
                        "novel_sentences": list(item.novel_sentences),
                        "extract": item.extract,
                        "also_run_by": [
                            {"id": c.article_id, "outlet": c.outlet, "title": c.title, "url": c.url,
                             "published_at": _iso(c.published_at)}
                            for c in item.copies
                        ],
                    }
                    for item in story.items
                ],
            }
            for story in digest.stories
        ],
        "omitted_ids": list(digest.omitted_ids),
        "failing_sources": [
            {"name": s.name, "url": s.url, "error": s.error, "consecutive_failures": s.consecutive_failures}
            for s in digest.failing_sources
        ],
    }


def render_json(digest: Digest) -> str:
    """The digest as JSON; <, > and & are \\u-escaped so the text is inert even if pasted into HTML."""
    text = json.dumps(digest_document(digest), ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def render_atom(digest: Digest) -> str:
    """The updates as an Atom 1.0 feed, one entry per update, for feed readers."""
    return _render_template("digest.atom", digest, iso=_iso)


_RENDERERS = {
    "markdown": render_markdown,
    "html": render_html,
    "text": render_text,
    "json": render_json,
    "atom": render_atom,
}


def render(digest: Digest, fmt: str) -> str:
    """The digest in one of FORMATS; raises UnknownFormat for anything else."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise UnknownFormat(f"unknown digest format {fmt!r} (choose one of {', '.join(FORMATS)})") from None
    return renderer(digest)
