"""Fixtures of the extractors room: local HTTP servers on 127.0.0.1."""
from extractors_testkit import second_server, server  # noqa: F401 (fixtures)
