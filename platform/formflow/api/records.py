"""Records: create, read, list with filters and sort, update, delete, restore, history."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..definitions import service as definitions
from ..errors import BadRequest, FieldError
from ..permissions.models import Action
from ..records import service as records
from ..records.listing import browse
from ..records.query import OPERATORS, Filter, Query, Sort
from .blueprint import MAX_ID, api, json_body, read, respond, write
from .representation import record_json, revision_json


@api.get("/forms/<form>/records")
def list_form_records(form: str) -> Response:
    return _list(form, query_from_args())


@api.post("/forms/<form>/records/search")
def search_form_records(form: str) -> Response:
    return _list(form, query_from_body(json_body()))


def _list(form: str, query: Query) -> Response:
    with read() as work:
        loaded = definitions.get_form(work, form)
        listing = browse(work, loaded, query, total=_flag(request.args.get("total")))
        body: dict[str, Any] = {
            "records": [
                record_json(loaded, r, listing.hidden.get(r.id, set())) for r in listing.records
            ],
            "next_cursor": listing.next_cursor,
        }
        if listing.total is not None:
            body["total"] = listing.total
    return respond(body)


@api.post("/forms/<form>/records")
def create_record(form: str) -> Response:
    body = json_body()
    _only(body, {"data"})
    with write() as work:
        loaded = definitions.get_form(work, form)
        record = records.create(work, loaded, body.get("data", {}))
        payload = record_json(loaded, record, _hidden(work, loaded, record.id))
    return respond(payload, 201, {"Location": f"/api/v1/forms/{form}/records/{record.id}"})


def _hidden(work: Any, loaded: Any, record_id: int, action: Action = Action.VIEW) -> set[str]:
    return records.hidden_fields(work, loaded, [record_id], action)[record_id]


@api.get("/forms/<form>/records/<id:record_id>")
def get_record(form: str, record_id: int) -> Response:
    deleted = _flag(request.args.get("deleted"))
    action = Action.MANAGE if deleted else Action.VIEW
    with read() as work:
        loaded = definitions.get_form(work, form)
        record, _ = records.load(work, loaded, record_id, action, deleted=deleted)
        payload = record_json(loaded, record, _hidden(work, loaded, record.id, action))
    return respond(payload)


@api.patch("/forms/<form>/records/<id:record_id>")
def patch_record(form: str, record_id: int) -> Response:
    return _update(form, record_id, partial=True)


@api.put("/forms/<form>/records/<id:record_id>")
def put_record(form: str, record_id: int) -> Response:
    return _update(form, record_id, partial=False)


def _update(form: str, record_id: int, *, partial: bool) -> Response:
    body = json_body()
    _only(body, {"data", "revision"})
    revision = _revision(body.get("revision"))
    with write() as work:
        loaded = definitions.get_form(work, form)
        record = records.update_record(
            work, loaded, record_id, body.get("data", {}), revision=revision, partial=partial
        )
        payload = record_json(loaded, record, _hidden(work, loaded, record.id))
    return respond(payload)


@api.delete("/forms/<form>/records/<id:record_id>")
def delete_record(form: str, record_id: int) -> Response:
    raw = request.args.get("revision")
    revision = _revision(raw) if raw is not None else None
    with write() as work:
        loaded = definitions.get_form(work, form)
        hidden = _hidden(work, loaded, record_id)
        record = records.delete(work, loaded, record_id, revision=revision)
        payload = record_json(loaded, record, hidden)
    return respond(payload)


@api.post("/forms/<form>/records/<id:record_id>/restore")
def restore_record(form: str, record_id: int) -> Response:
    with write() as work:
        loaded = definitions.get_form(work, form)
        record = records.restore(work, loaded, record_id)
        payload = record_json(loaded, record, _hidden(work, loaded, record.id))
    return respond(payload)


@api.get("/forms/<form>/records/<id:record_id>/revisions")
def record_revisions(form: str, record_id: int) -> Response:
    deleted = _flag(request.args.get("deleted"))
    action = Action.MANAGE if deleted else Action.VIEW
    with read() as work:
        loaded = definitions.get_form(work, form)
        record, _ = records.load(work, loaded, record_id, action, deleted=deleted)
        hidden = _hidden(work, loaded, record.id, action)
        payload = {
            "revisions": [
                revision_json(loaded.spec, r, hidden) for r in records.revisions(work, record)
            ]
        }
    return respond(payload)


# -- parsing ---------------------------------------------------------------------------------


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest([FieldError(extra[0], "is not part of this request", "unknown")])


def _revision(raw: Any) -> int:
    if raw is None:
        raise BadRequest(
            [FieldError("revision", "is required: send the revision you last read", "required")]
        )
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest([FieldError("revision", "must be a whole number", "type")]) from None
    if not 1 <= value <= MAX_ID:
        raise BadRequest([FieldError("revision", "must be a whole number from 1", "minimum")])
    return value


def _flag(raw: str | None) -> bool:
    return raw is not None and raw.lower() in ("1", "true", "yes")


def _limit(raw: Any) -> int:
    if raw is None:
        return 50
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest([FieldError("limit", "must be a whole number", "type")]) from None
    if not 1 <= value <= 500:
        raise BadRequest([FieldError("limit", "must be between 1 and 500", "range")])
    return value


def parse_sort(raw: Any) -> list[Sort]:
    """``"-amount,name"`` or ``[{"field": "amount", "desc": true}]``."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        items = [part.strip() for part in raw.split(",") if part.strip()]
        return [Sort(item.lstrip("-+"), item.startswith("-")) for item in items]
    if isinstance(raw, list):
        out = []
        for i, item in enumerate(raw):
            if isinstance(item, str):
                out.append(Sort(item.lstrip("-+"), item.startswith("-")))
            elif isinstance(item, dict) and isinstance(item.get("field"), str):
                out.append(Sort(item["field"], bool(item.get("desc", False))))
            else:
                raise BadRequest(
                    [
                        FieldError(
                            f"sort[{i}]", 'must be a field name or {"field": …, "desc": …}', "sort"
                        )
                    ]
                )
        return out
    raise BadRequest([FieldError("sort", "must be text like -amount,name or a list", "sort")])


def query_from_args() -> Query:
    filters = []
    for raw in request.args.getlist("filter"):
        field, sep, rest = raw.partition(":")
        op, sep2, value = rest.partition(":")
        if not sep or not field:
            raise BadRequest(
                [FieldError("filter", f"'{raw}' is not field:operator:value", "filter")]
            )
        if op == "is_empty" and not sep2:
            value = "true"
        elif not sep2:
            raise BadRequest([FieldError(field, f"'{raw}' is not field:operator:value", "filter")])
        if op not in OPERATORS:
            raise BadRequest(
                [
                    FieldError(
                        field, f"unknown operator '{op}' (use {', '.join(OPERATORS)})", "operator"
                    )
                ]
            )
        filters.append(Filter(field, op, value))
    return Query(
        filters=filters,
        sort=parse_sort(request.args.get("sort")),
        limit=_limit(request.args.get("limit")),
        cursor=request.args.get("cursor") or None,
        search=request.args.get("q") or None,
        deleted=_flag(request.args.get("deleted")),
    )


def query_from_body(body: dict[str, Any]) -> Query:
    _only(body, {"filters", "sort", "limit", "cursor", "q", "deleted"})
    raw_filters = body.get("filters", [])
    if not isinstance(raw_filters, list):
        raise BadRequest([FieldError("filters", "must be a list", "type")])
    filters = []
    for i, item in enumerate(raw_filters):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("field"), str)
            or not isinstance(item.get("op"), str)
        ):
            raise BadRequest(
                [FieldError(f"filters[{i}]", 'must be {"field", "op", "value"}', "filter")]
            )
        filters.append(Filter(item["field"], item["op"], item.get("value")))
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise BadRequest([FieldError("cursor", "must be text", "type")])
    search = body.get("q")
    if search is not None and not isinstance(search, str):
        raise BadRequest([FieldError("q", "must be text", "type")])
    return Query(
        filters=filters,
        sort=parse_sort(body.get("sort")),
        limit=_limit(body.get("limit")),
        cursor=cursor,
        search=search,
        deleted=bool(body.get("deleted", False)),
    )
