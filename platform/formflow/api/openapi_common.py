"""Pieces the parts of the OpenAPI document share."""

from __future__ import annotations

from typing import Any

TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}


def json_response(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": "#/components/responses/Errors"} for code in codes}
