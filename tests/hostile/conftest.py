"""Hostile-server tests share the local servers of the extractors room's tests."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extractors"))

from extractors_testkit import second_server, server  # noqa: E402,F401 (fixtures)
