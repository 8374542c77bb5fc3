"""`newswatch serve`: the schedules of prefect.yaml, served from one long-running process."""
from __future__ import annotations

import asyncio
import importlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from flows.config import load_config
from flows.prefect_api import local_prefect_api

LOGGER = logging.getLogger(__name__)

SERVED = ("monitor", "digest")


def read_deployments(prefect_file: Path) -> list[dict[str, Any]]:
    """The deployments of prefect.yaml that newswatch serves, validated."""
    try:
        spec = yaml.safe_load(prefect_file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{prefect_file}: deployments file not found") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{prefect_file}: not valid YAML: {exc}") from None
    found = {d.get("name"): d for d in spec.get("deployments") or [] if isinstance(d, dict)}
    missing = [name for name in SERVED if name not in found]
    if missing:
        raise ValueError(f"{prefect_file}: no deployment named {', '.join(missing)}")
    for name in SERVED:
        d = found[name]
        if ":" not in str(d.get("entrypoint", "")):
            raise ValueError(f"{prefect_file}: deployment {name}: entrypoint must be path/to/file.py:flow")
        if not d.get("schedules"):
            raise ValueError(f"{prefect_file}: deployment {name}: no schedules")
    return [found[name] for name in SERVED]


def schedule_kwargs(deployment: dict[str, Any]) -> dict[str, Any]:
    """to_deployment() keywords for the schedules of one prefect.yaml deployment."""
    from prefect.schedules import Cron, Interval

    schedules = []
    for s in deployment["schedules"]:
        if "interval" in s:
            schedules.append(Interval(timedelta(seconds=float(s["interval"]))))
        elif "cron" in s:
            schedules.append(Cron(s["cron"], timezone=s.get("timezone", "UTC")))
        else:
            raise ValueError(f"deployment {deployment['name']}: schedule needs interval or cron: {s}")
    return {"schedules": schedules}


def _flow(entrypoint: str):
    path, name = entrypoint.split(":", 1)
    module = path.removesuffix(".py").replace("/", ".")
    return getattr(importlib.import_module(module), name)


def serve_deployments(prefect_file: Path, config_path: Path, db_path: Path, out: Console) -> None:
    """Serve the monitor and digest deployments until interrupted.

    The flows are given to the runner itself (Runner.add_flow), so it starts each scheduled run as a
    child of this process rather than as `python -m prefect.engine`. That matters for the pass's
    extraction workers: they re-run the imports of the program that started the run, and under
    prefect.engine each worker imported Prefect (about 0.9 s of CPU and 50 MB more a worker).
    """
    deployments = read_deployments(prefect_file)
    load_config(config_path)  # fail now, not at the first scheduled run
    with local_prefect_api(scheduler=True) as api_url:
        from prefect.exceptions import TerminationSignal
        from prefect.runner import Runner
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            runner = Runner(name="newswatch", pause_on_shutdown=True)
            for d in deployments:
                params = {**(d.get("parameters") or {}), "config_path": str(config_path), "db_path": str(db_path)}
                runner.add_flow(_flow(d["entrypoint"]), name=d["name"], parameters=params,
                                description=d.get("description"), concurrency_limit=d.get("concurrency_limit"),
                                paused=False, **schedule_kwargs(d))
            out.print(f"newswatch: serving {', '.join(d['name'] for d in deployments)} from {prefect_file} "
                      f"(Prefect API {api_url}); Ctrl-C stops")
            try:
                asyncio.run(runner.start())
            except (KeyboardInterrupt, TerminationSignal):
                out.print("newswatch: stopped serving")
