"""Values written into SQL as literals come back exactly as bound parameters would."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pytest

from warehouse.arrow import FEW_ROWS, value_table
from warehouse.literals import literal, values_clause

AWKWARD_TEXT = [
    "", "it's", "''", "\\", "back\\'slash", "new\nline\ttab", "Ürümqi 乌鲁木齐 🇺🇳", "?", "$1", "$watch",
    "'); DROP TABLE t; --", "NULL", "a\x00b", "x" * 10_000,
]


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_text_comes_back_as_written(text):
    values, params = values_clause([(text,)])
    got = duckdb.connect().execute(f"SELECT * FROM ({values}) AS v(x)", params).fetchone()[0]
    assert got == text


def test_a_nul_stays_a_parameter_and_others_stay_literals():
    values, params = values_clause([("a\x00b", "plain", 3)])
    assert params == ["a\x00b"]
    assert values.count("?") == 1 and "'plain'" in values


@pytest.mark.parametrize("number", [0, -1, 2**63 - 1, -(2**63), 0.1, -0.0, 1e300, 5e-324, math.inf, -math.inf])
def test_numbers_keep_their_value_and_type(number):
    values, params = values_clause([(number,)])
    got, kind = duckdb.connect().execute(f"SELECT x, typeof(x) FROM ({values}) AS v(x)", params).fetchone()
    assert got == number and type(got) is type(number)
    assert kind == ("DOUBLE" if isinstance(number, float) else kind)


def test_nan_none_and_booleans():
    values, _ = values_clause([(math.nan, None, True, False)])
    got = duckdb.connect().execute(f"SELECT * FROM ({values}) AS v(a, b, c, d)").fetchone()
    assert math.isnan(got[0]) and got[1:] == (None, True, False)


def test_ints_beyond_int64_and_other_types_stay_parameters():
    assert literal(2**64) is None
    assert literal(b"bytes") is None
    assert literal([1, 2]) is None


def test_times_and_dates_come_back_as_bound():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    aware = datetime(2022, 8, 31, 23, 47, 5, 123456, tzinfo=timezone(timedelta(hours=8)))
    naive = datetime(2022, 5, 28, 12, 0)
    day = date(2021, 9, 14)
    values, params = values_clause([(aware, naive, day)])
    assert params == []
    got = con.execute(f"SELECT * FROM ({values}) AS v(a, n, d)").fetchone()
    assert got == con.execute("SELECT ?::TIMESTAMPTZ, ?::TIMESTAMP, ?::DATE", [aware, naive, day]).fetchone()


def test_few_rows_through_a_temporary_table_match_the_arrow_path():
    schema = {"url": ("VARCHAR", pa.string()), "n": ("BIGINT", pa.int64()),
              "seen": ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC"))}
    at = datetime(2022, 8, 31, 12, tzinfo=timezone.utc)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for count in (3, FEW_ROWS + 5):
        columns = {"url": [f"https://e.org/{i}?q='{i}'\\" for i in range(count)],
                   "n": list(range(count)), "seen": [at] * count}
        with value_table(con, "vals", schema, columns):
            rows = con.execute("SELECT url, n, seen FROM vals ORDER BY n").fetchall()
        assert rows == list(zip(columns["url"], columns["n"], columns["seen"]))
