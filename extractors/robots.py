"""robots.txt, fetched once per origin and kept for the life of a Fetcher."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from extractors.errors import ExtractorError, RobotsDisallowedError

LOGGER = logging.getLogger(__name__)

# (status, body) of GET robots_url; raises ExtractorError when it cannot be fetched.
RobotsGetter = Callable[[str], Awaitable[tuple[int, bytes]]]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """The robots.txt rules of every origin we asked, following RFC 9309 for missing or failing files."""

    def __init__(self, user_agent: str, get: RobotsGetter) -> None:
        self._user_agent = user_agent
        self._get = get
        self._rules: dict[str, RobotFileParser | str] = {}  # str: why everything is disallowed
        self._locks: dict[str, asyncio.Lock] = {}

    async def check(self, url: str) -> None:
        """Raise RobotsDisallowedError when robots.txt of the URL's origin forbids it."""
        origin = _origin(url)
        rules = self._rules.get(origin)
        if rules is None:
            async with self._locks.setdefault(origin, asyncio.Lock()):
                rules = self._rules.get(origin)
                if rules is None:
                    rules = self._rules[origin] = await self._load(origin)
        if isinstance(rules, str):
            raise RobotsDisallowedError(f"robots.txt {rules}: not fetching", url)
        if not rules.can_fetch(self._user_agent, url):
            raise RobotsDisallowedError("disallowed by robots.txt", url)

    async def _load(self, origin: str) -> RobotFileParser | str:
        robots_url = f"{origin}/robots.txt"
        parser = RobotFileParser(robots_url)
        try:
            status, body = await self._get(robots_url)
        except ExtractorError as exc:
            LOGGER.info("robots.txt of %s unavailable: %s", origin, exc)
            return f"unavailable ({exc})"
        if 200 <= status < 300:
            parser.parse(body.decode("utf-8", errors="replace").splitlines())
        elif 400 <= status < 500:
            parser.allow_all = True  # no robots.txt: everything is allowed
        else:
            return f"unavailable (HTTP {status})"  # RFC 9309: a server error means disallow all
        return parser
