"""ASVS 13.2.5: a body the API would read as JSON must say it is JSON; uploads stay multipart."""

from __future__ import annotations

import pytest

from formflow import jsoncodec
from formflow.api.openapi import build_document
from tests.conftest import snapshot
from tests.platform.api.test_openapi import _check
from tests.platform.files.test_uploads import PDF, upload

BODY = jsoncodec.dumps({"data": {"name": "ACME"}})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        None,
    ],
)
def test_a_body_that_is_not_said_to_be_json_is_refused_with_415_and_nothing_is_stored(
    api, notes, runtime, content_type
):
    before = snapshot(runtime)
    headers = {"Content-Type": content_type} if content_type else {}
    refused = api.call("POST", notes, data=BODY, headers=headers)
    assert refused.status_code == 415
    assert refused.body == {
        "errors": [
            {
                "field": "Content-Type",
                "message": "send the body as JSON with 'Content-Type: application/json'",
                "code": "content_type",
            }
        ]
    }
    _check(build_document(), "/forms/{form}/records", "post", refused)
    assert snapshot(runtime) == before


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_json_and_json_suffixed_bodies_are_read(api, notes, content_type):
    created = api.call("POST", notes, data=BODY, headers={"Content-Type": content_type})
    assert created.status_code == 201, created.body


def test_a_request_without_a_body_needs_no_content_type(api, notes):
    record = api.post(notes, {"data": {"name": "ACME"}}).body["id"]
    assert api.call("DELETE", f"{notes}/{record}").status_code == 200
    restored = api.call("POST", f"{notes}/{record}/restore", headers={"Content-Type": "text/plain"})
    assert restored.status_code == 200


def test_the_unauthenticated_are_told_to_sign_in_before_anything_about_the_body(app, notes):
    response = app.test_client().post(
        "/api/v1/forms/crm.note/records", data=BODY, content_type="text/plain"
    )
    assert response.status_code == 401


def test_uploads_keep_accepting_multipart(api):
    assert upload(api, PDF, "contract.pdf").status_code == 201


def test_a_plugin_route_refuses_a_body_that_is_not_json(api):
    refused = api.call("POST", "/sales/targets/1/decompose", data='{"into": "month"}', headers={})
    assert refused.status_code == 415
    assert refused.body["errors"][0]["field"] == "Content-Type"


def test_every_operation_reading_json_documents_the_415():
    for path, operations in build_document()["paths"].items():
        for method, operation in operations.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert "415" in operation["responses"], (method, path)
