"""The `newswatch` script is re-run by every extraction worker, so it must import next to nothing.

multiprocessing starts each worker by running the importing lines of the program that started the
pass (`runpy.run_path(script, run_name="__mp_main__")`, which skips the `if __name__ == "__main__"`
block). A script that imported the CLI cost every worker of a `newswatch run` about 0.24 s of CPU
and 70 MB before its first page (1,000 pages: peak memory 633 MB against 482 MB).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "newswatch"
HEAVY = ("typer", "rich", "prefect", "duckdb", "trafilatura", "httpx", "flows.cli")

AS_A_WORKER = f"""
import json, runpy, sys
runpy.run_path(sys.argv[1], run_name="__mp_main__")
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


@pytest.fixture(scope="module")
def script() -> Path:
    if not SCRIPT.exists():
        pytest.skip("no installed newswatch script (run `make install`)")
    return SCRIPT


def test_a_worker_rerunning_the_script_imports_no_heavy_module(script: Path) -> None:
    done = subprocess.run([sys.executable, "-c", AS_A_WORKER, str(script)], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout) == []


def test_the_script_still_runs_the_cli(script: Path) -> None:
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "One monitor pass" in done.stdout and "serve" in done.stdout
