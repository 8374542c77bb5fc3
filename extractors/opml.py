"""OPML subscription lists into Sources, with a parser that refuses DTD entities."""
from __future__ import annotations

import logging
from pathlib import Path
from xml.parsers import expat

from extractors.errors import OPMLError
from extractors.types import Source
from extractors.urls import is_http_url

LOGGER = logging.getLogger(__name__)


class _OutlineCollector:
    """expat callbacks that keep every outline with an xmlUrl, at any depth."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources: list[Source] = []
        self.seen: set[str] = set()
        self.root: str | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name
        if name.lower() != "outline":
            return
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not url:
            return  # a folder outline: its children carry the feeds
        if not is_http_url(url):
            LOGGER.warning("%s: skipping outline with non-http xmlUrl %r", self.path, url)
            return
        if url in self.seen:
            return
        self.seen.add(url)
        name_ = (attrs.get("title") or attrs.get("text") or "").strip()
        self.sources.append(Source(url=url, name=name_))


def _refuse_entities(*_args: object) -> None:
    # Entity declarations are how billion-laughs and external-entity attacks start; OPML never needs them.
    raise OPMLError("entity declarations are not allowed in OPML")


def read_opml(path: Path) -> list[Source]:
    """The feeds of an OPML file (nested outlines, xmlUrl + title/text), in document order."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OPMLError(f"cannot read {path}: {exc.strerror or exc}", str(path)) from exc
    collector = _OutlineCollector(path)
    parser = expat.ParserCreate()
    parser.StartElementHandler = collector.start
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = lambda *_: _refuse_entities()  # type: ignore[assignment]
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OPMLError(f"malformed OPML in {path}: {expat.errors.messages.get(exc.code, str(exc))} "
                        f"at line {exc.lineno}", str(path)) from exc
    except OPMLError as exc:
        raise OPMLError(f"{path}: {exc}", str(path)) from exc
    if (collector.root or "").lower() != "opml":
        raise OPMLError(f"{path} is not OPML (root element <{collector.root}>)", str(path))
    return collector.sources
