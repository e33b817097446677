"""The OpenAPI document matches the real routes and the real responses."""

from __future__ import annotations

import re
from decimal import Decimal

import jsonschema
import pytest
from openapi_spec_validator import validate

from formflow import jsoncodec
from formflow.api.openapi import build_document
from tests.platform.definitions_samples import QUOTE


def test_document_is_valid_openapi(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    validate(jsoncodec.loads(jsoncodec.dumps(response.body)))


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((path, method.lower()))
    return out


def test_every_route_is_documented_and_every_documented_path_is_a_route(app):
    documented = {
        (path, method)
        for path, operations in build_document()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert _routes(app) == documented


def _schema_for(document, path, method, status):
    response = document["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def _check(document, path, method, response):
    schema = _schema_for(document, path, method, response.status_code)
    resolver_schema = jsonschema.Draft202012Validator(schema, registry=_registry(document))
    body = jsoncodec.loads(
        jsoncodec.dumps(response.body),
    )
    resolver_schema.validate(_plain(body))


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _registry(document):
    from referencing import Registry, Resource

    resource = Resource.from_contents(
        document, default_specification=__import__("referencing.jsonschema").jsonschema.DRAFT202012
    )
    return Registry().with_resource("", resource)


@pytest.fixture
def document():
    return build_document()


def test_responses_match_their_documented_schemas(api, make_app, document):
    make_app("demo")
    published = api.put("/forms/demo.quote", QUOTE)
    _check(document, "/forms/{form}", "put", published)
    body = {
        "data": {"customer": "ACME", "lines": [{"product": "A", "unit_price": 1, "quantity": 2}]}
    }
    created = api.post("/forms/demo.quote/records", body)
    _check(document, "/forms/{form}/records", "post", created)
    record = f"/forms/demo.quote/records/{created.body['id']}"
    calls = [
        ("/forms", "get", api.get("/forms")),
        ("/forms/{form}", "get", api.get("/forms/demo.quote")),
        ("/forms/{form}/versions", "get", api.get("/forms/demo.quote/versions")),
        ("/forms/{form}/records", "get", api.get("/forms/demo.quote/records?total=true")),
        (
            "/forms/{form}/records/search",
            "post",
            api.post("/forms/demo.quote/records/search", {"filters": []}),
        ),
        ("/forms/{form}/records/{record_id}", "get", api.get(record)),
        (
            "/forms/{form}/records/{record_id}",
            "patch",
            api.patch(record, {"revision": 1, "data": {"customer": "B"}}),
        ),
        (
            "/forms/{form}/records/{record_id}",
            "patch",
            api.patch(record, {"revision": 1, "data": {"customer": "C"}}),
        ),
        ("/forms/{form}/records/{record_id}/revisions", "get", api.get(record + "/revisions")),
        ("/forms/{form}/records/{record_id}", "delete", api.delete(record)),
        ("/forms/{form}/records/{record_id}/restore", "post", api.post(record + "/restore")),
        ("/forms/{form}/records", "post", api.post("/forms/demo.quote/records", {"data": {}})),
        ("/forms/{form}/records", "get", api.get("/forms/demo.quote/records?filter=x:eq:1")),
        ("/me", "get", api.get("/me")),
        ("/field-types", "get", api.get("/field-types")),
        ("/meta-schema", "get", api.get("/meta-schema")),
    ]
    for path, method, response in calls:
        assert str(response.status_code) in document["paths"][path][method]["responses"], (
            path,
            method,
            response.status_code,
        )
        _check(document, path, method, response)


def test_a_non_admin_refused_an_admin_route_gets_a_documented_403(api, make_app, rep, document):
    """Found by the API fuzzer: a rep asking for a form's versions got 403, which the
    document did not list."""
    make_app("demo")
    api.put("/forms/demo.quote", QUOTE)
    refused = api.as_(rep).get("/forms/demo.quote/versions")
    assert refused.status_code == 403
    _check(document, "/forms/{form}/versions", "get", refused)
