"""A form big enough to convert in the background (in tests "big" is more than 10 changed
records), the change that converts it, and a runtime with a real queue: shared by the tests of
background conversions in the services, the API and the builder's pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from formflow import Config, Runtime
from formflow.jobs.queue import queue

THRESHOLD = 10
BATCH = 4
ROWS = {"x-field": "subform", "type": "array", "title": "Lines"}


def deal(budget: dict, stage: list[str], qty: dict, region_required: bool = False) -> dict:
    definition: dict[str, Any] = {
        "title": "Deal",
        "type": "object",
        "properties": {
            "name": {"x-field": "text", "type": "string", "title": "Name"},
            "budget": {**budget, "title": "Budget", "x-index": True},
            "stage": {"x-field": "select", "type": "string", "title": "Stage", "enum": stage},
            "region": {"x-field": "text", "type": "string", "title": "Region"},
            "lines": {
                **ROWS,
                "items": {"type": "object", "properties": {"qty": {**qty, "title": "Qty"}}},
            },
        },
    }
    if region_required:
        definition["required"] = ["region"]
    return definition


BEFORE = deal(
    {"x-field": "text", "type": "string"},
    ["new", "hot", "cold"],
    {"x-field": "text", "type": "string"},
)
#: Every kind of stored-value change at once: a type change (with a default for values that
#: cannot convert), an option taken away (mapped), a sub-field's type change in each row,
#: and a newly required field filled with a default.
AFTER = deal(
    {"x-field": "money", "type": "number"},
    ["new", "hot"],
    {"x-field": "number", "type": "integer"},
    region_required=True,
)
#: Only the budget becomes money: every stored budget of :func:`sample` converts as it is
#: when ``convertible`` (what a publish without fixes, such as the API's, can do).
MONEY = deal(
    {"x-field": "money", "type": "number"},
    ["new", "hot", "cold"],
    {"x-field": "text", "type": "string"},
)
FIXES = {"budget": {"default": "0"}, "stage": {"map": {"cold": "hot"}}, "region": {"default": "n"}}
COUNT = 30


def sample(i: int, *, convertible: bool = False) -> dict:
    """Deal ``i``: most have something to convert, a few do not."""
    data: dict = {"name": f"deal {i}"}
    if i % 7 != 3:
        bad = i % 11 == 5 and not convertible
        data["budget"] = "about a million" if bad else f"{i * 100}.50"
    data["stage"] = ["new", "hot", "cold"][i % 3]
    if i % 5 == 0:
        data["region"] = "south"
    if i % 4 == 1:
        data["lines"] = [{"qty": str(i)}, {"qty": "2"}]
    return data


def background_runtime(db_url: str, instance: Any, clock: Any, redis_url: str) -> Iterator[Runtime]:
    """A runtime with a queue of its own and the small threshold and batches above."""
    name = "conversions-" + uuid.uuid4().hex[:12]
    config = Config(
        instance_path=instance,
        database_url=db_url,
        redis_url=redis_url,
        testing=True,
        conversion_threshold=THRESHOLD,
        conversion_batch=BATCH,
        conversion_queue=name,
    )
    made = Runtime(config, clock=clock)
    yield made
    made.close()
    queue(redis_url, name).empty()
