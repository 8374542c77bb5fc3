"""Export the public views to Parquet or CSV files, one file per view."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from warehouse.connection import open_reader
from warehouse.errors import WarehouseError

LOGGER = logging.getLogger(__name__)

ExportFormat = Literal["parquet", "csv"]
_COPY_OPTIONS = {"parquet": "FORMAT parquet, COMPRESSION zstd", "csv": "FORMAT csv, HEADER true"}


def public_views(con) -> list[str]:
    """The names of the public views (those of views.sql and any added later), sorted."""
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "AND database_name = current_database() ORDER BY view_name"
    ).fetchall()
    return [name for (name,) in rows]


def export_views(path: Path, out_dir: Path, fmt: ExportFormat = "parquet", wait_seconds: float = 5.0) -> list[Path]:
    """Write every public view to `out_dir/<view>.<fmt>`; return the files written."""
    if fmt not in _COPY_OPTIONS:
        raise WarehouseError(f"unknown export format {fmt!r}: use parquet or csv")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = open_reader(Path(path), wait_seconds=wait_seconds)
    written: list[Path] = []
    try:
        for view in public_views(con):
            target = out_dir / f"{view}.{fmt}"
            quoted_target = str(target).replace("'", "''")
            # CSV has no list type: matched_terms and the like become their text form.
            con.execute(f'COPY (SELECT * FROM "{view}") TO \'{quoted_target}\' ({_COPY_OPTIONS[fmt]})')
            written.append(target)
            LOGGER.info("exported view %s to %s", view, target)
    finally:
        con.close()
    return written
