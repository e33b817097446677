"""V7.4 error handling: outside debug, a failure is an apology and a log line — never a
traceback, a query or a file path."""

from __future__ import annotations

import logging

import pytest

from formflow import create_app

SECRET = "the-secret-detail-of-the-crash"


@pytest.fixture
def crashing(runtime):
    app = create_app(runtime=runtime)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production (testing would re-raise)

    @app.get("/crash")
    def crash():
        raise RuntimeError(SECRET)

    return app


def test_a_crashing_page_shows_an_apology_and_logs_the_details(crashing, caplog):
    caplog.set_level(logging.ERROR)
    response = crashing.test_client().get("/crash", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert SECRET not in text and "Traceback" not in text and ".py" not in text
    assert "Something is wrong" in text
    assert response.headers["Content-Security-Policy"]
    assert any(SECRET in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_a_crashing_api_call_answers_json_without_details(runtime, admin, caplog, monkeypatch):
    from formflow.api import forms

    def boom(*args, **kwargs):
        raise RuntimeError(SECRET)

    app = create_app(runtime=runtime)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(forms, "usable_forms", boom)
    response = app.test_client().get("/api/v1/forms", headers=admin.headers)
    assert response.status_code == 500
    assert response.get_json() == {
        "errors": [
            {
                "field": None,
                "message": "something went wrong on our side; it has been logged",
                "code": "internal",
            }
        ]
    }
    assert SECRET not in response.get_data(as_text=True)


def test_the_app_never_runs_in_debug_mode(app):
    assert app.debug is False
