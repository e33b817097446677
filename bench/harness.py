"""Timing helpers and a throwaway Formflow instance for benchmarks."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formflow import Config, Runtime
from formflow.definitions.service import ensure_app, publish
from formflow.migrations import upgrade
from formflow.people.service import create_user


@dataclass
class Instance:
    runtime: Runtime
    user: Any
    folder: Path


def instance(
    database_url: str | None = None,
    form: dict[str, Any] | None = None,
    name: str = "bench.order",
    redis_url: str | None = None,
) -> Instance:
    """A migrated database with one admin and, when given, one published form."""
    folder = Path(tempfile.mkdtemp(prefix="formflow-bench-"))
    url = database_url or f"sqlite:///{folder / 'bench.db'}"
    runtime = Runtime(Config(instance_path=folder, database_url=url, redis_url=redis_url))
    upgrade(runtime.db.engine)
    with runtime.write() as work:
        user = create_user(work, "bench", is_admin=True)
        ensure_app(work, name.split(".")[0], "Bench")
        if form is not None:
            publish(work, name, form)
    return Instance(runtime, user, folder)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def latencies(run: Callable[[], Any], repeat: int) -> dict[str, float]:
    """p50/p95/p99 in milliseconds of ``repeat`` calls (after two warm-up calls)."""
    run()
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": percentile(samples, 0.50),
        "p95_ms": percentile(samples, 0.95),
        "p99_ms": percentile(samples, 0.99),
        "mean_ms": statistics.fmean(samples),
    }


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}×" if baseline else "n/a"
