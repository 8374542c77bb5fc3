"""Values written into SQL text as literals, for statements that carry a few of them.

DuckDB's Python binding spends about 150 µs binding each parameter (it looks for pandas first,
on this machine in vain), where a literal in the statement costs about 7 µs to parse. A pass's
source states, polls and run counts are a hundred-odd values, most of its database time when
every feed answers 304. Anything that has no exact literal here stays a `?` parameter.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

_INT64 = (-(2**63), 2**63 - 1)


def literal(value: object) -> str | None:
    """`value` as an exact DuckDB SQL literal, or None when it should stay a bound parameter."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value) if _INT64[0] <= value <= _INT64[1] else None
    if kind is float:
        if math.isfinite(value):
            return repr(value) + "::DOUBLE"  # repr round-trips; the cast keeps 0.1 from becoming DECIMAL
        return f"'{value}'::DOUBLE"  # 'inf', '-inf', 'nan'
    if kind is str:
        # Inside '...' only the quote is special (DuckDB reads backslashes as they are); a NUL cannot
        # travel in statement text, so such a string stays a parameter.
        return None if "\x00" in value else "'" + value.replace("'", "''") + "'"
    if kind is datetime:
        return f"TIMESTAMPTZ '{value.isoformat()}'" if value.tzinfo is not None else f"TIMESTAMP '{value.isoformat()}'"
    if kind is date:
        return f"DATE '{value.isoformat()}'"
    return None


def values_clause(rows: Sequence[Sequence[object]]) -> tuple[str, list[object]]:
    """`VALUES (...), (...)` for `rows`, literals where exact and `?` elsewhere, with those parameters."""
    params: list[object] = []
    tuples = []
    for row in rows:
        cells = []
        for value in row:
            text = literal(value)
            if text is None:
                params.append(value)
                text = "?"
            cells.append(text)
        tuples.append("(" + ", ".join(cells) + ")")
    return "VALUES " + ", ".join(tuples), params
