"""The benchmark's form: 20 fields, one a subform with 5 rows, and deterministic data."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

BENCH_FORM: dict[str, Any] = {
    "title": "Bench order",
    "type": "object",
    "properties": {
        "title": {"x-field": "text", "type": "string", "maxLength": 100},
        "customer": {"x-field": "text", "type": "string", "maxLength": 100, "x-index": True},
        "contact": {"x-field": "text", "type": "string", "maxLength": 50},
        "phone": {"x-field": "phone", "type": "string"},
        "email": {"x-field": "email", "type": "string"},
        "region": {
            "x-field": "select",
            "type": "string",
            "x-index": True,
            "enum": ["north", "south", "east", "west", "central"],
        },
        "status": {
            "x-field": "select",
            "type": "string",
            "x-index": True,
            "enum": ["draft", "open", "won", "lost"],
        },
        "priority": {"x-field": "radio", "type": "string", "enum": ["low", "normal", "high"]},
        "amount": {"x-field": "money", "type": "number", "minimum": 0, "x-index": True},
        "discount": {"x-field": "percent", "type": "number", "minimum": 0, "maximum": 1},
        "quantity": {"x-field": "number", "type": "integer", "minimum": 0},
        "score": {"x-field": "number", "type": "number", "x-precision": 2},
        "signed_on": {"x-field": "date", "type": "string", "format": "date", "x-index": True},
        "due_on": {"x-field": "date", "type": "string", "format": "date"},
        "urgent": {"x-field": "boolean", "type": "boolean"},
        "notes": {"x-field": "textarea", "type": "string", "maxLength": 2000},
        "owner": {"x-field": "member", "type": "integer"},
        "lines": {
            "x-field": "subform",
            "type": "array",
            "maxItems": 50,
            "items": {
                "type": "object",
                "properties": {
                    "product": {"x-field": "text", "type": "string"},
                    "unit_price": {"x-field": "money", "type": "number", "minimum": 0},
                    "qty": {"x-field": "number", "type": "integer", "minimum": 1},
                    "line_total": {
                        "x-field": "formula",
                        "type": "number",
                        "x-result": "money",
                        "x-formula": "unit_price * qty",
                    },
                },
                "required": ["product", "unit_price", "qty"],
            },
        },
        "subtotal": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "x-formula": "SUM(lines.line_total)",
        },
        "total": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "x-formula": "ROUND(subtotal * (1 - discount), 2)",
        },
    },
    "required": ["title", "customer", "status", "lines"],
}

REGIONS = BENCH_FORM["properties"]["region"]["enum"]
STATUSES = BENCH_FORM["properties"]["status"]["enum"]


def record_data(rng: random.Random, owner: int) -> dict[str, Any]:
    """One realistic input record (as a client would send it)."""
    n = rng.randint(1, 9999)
    return {
        "title": f"Order {n} for project {rng.randint(1, 500)}",
        "customer": f"Customer {rng.randint(1, 5000):04d}",
        "contact": rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静"]),
        "phone": f"+86 138{rng.randint(10000000, 99999999)}",
        "email": f"buyer{n}@example.com",
        "region": rng.choice(REGIONS),
        "status": rng.choice(STATUSES),
        "priority": rng.choice(["low", "normal", "high"]),
        "amount": str(Decimal(rng.randint(100, 10_000_000)) / 100),
        "discount": str(Decimal(rng.randint(0, 30)) / 100),
        "quantity": rng.randint(1, 500),
        "score": str(Decimal(rng.randint(0, 10000)) / 100),
        "signed_on": f"20{rng.randint(24, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "due_on": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "urgent": rng.random() < 0.2,
        "notes": "Customer asked for delivery before the end of the quarter. " * rng.randint(0, 3),
        "owner": owner,
        "lines": [
            {
                "product": f"SKU-{rng.randint(1, 300):03d}",
                "unit_price": str(Decimal(rng.randint(100, 500000)) / 100),
                "qty": rng.randint(1, 20),
            }
            for _ in range(5)
        ],
    }
