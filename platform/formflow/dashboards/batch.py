"""Every chart of a dashboard at once, its queries run side by side.

A dashboard's charts are independent read queries, so they run on a few threads, each in
its own read-only unit of work (its own connection: SQLite and the driver release the
interpreter while a statement runs, PostgreSQL runs each in its own server process), and
the page waits for the slowest rather than for the sum. Charts over a plugin's data
sources share one unit of work, in the order the dashboard lists them: the sources read
the same month's aggregates (the sales plugin's measures are read once per read-only unit
of work), which one thread computes once and the others would compute again.

Each unit of work sees its own snapshot of the database; the charts of one view can thus
differ by a record saved while they were computed, as they would if each were loaded by
its own request.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..runtime import Work
from .charts import chart_result
from .compile import Filters
from .definition import ChartSpec
from .results import DrillUrl

#: Threads per dashboard view. Two cover a machine's cores on the smallest setup; more
#: would only queue on them and hold more pooled connections.
THREADS = 3


def all_results(
    work: Work,
    charts: Sequence[ChartSpec],
    filters: Filters,
    *,
    language: str,
    drill_url: DrillUrl = None,
    threads: int = THREADS,
) -> list[dict[str, Any]]:
    """Every chart's ChartResult for ``work``'s actor, in the dashboard's order."""
    runtime, actor = work.runtime, work.actor
    tasks: list[list[int]] = []
    sourced = [i for i, chart in enumerate(charts) if chart.source]
    if sourced:
        tasks.append(sourced)
    tasks += [[i] for i, chart in enumerate(charts) if not chart.source]

    def run(indexes: list[int]) -> list[tuple[int, dict[str, Any]]]:
        with runtime.read(actor=actor) as own:
            return [
                (
                    i,
                    chart_result(
                        own,
                        charts[i],
                        filters,
                        language=language,
                        drill_url=drill_url,
                        where=f"charts[{i}]",
                    ),
                )
                for i in indexes
            ]

    if threads <= 1 or len(tasks) <= 1:
        done = [pair for task in tasks for pair in run(task)]
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(tasks))) as pool:
            done = [pair for part in pool.map(run, tasks) for pair in part]
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]
