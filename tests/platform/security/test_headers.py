"""V14.4 HTTP security headers on pages, the API and static files; V8.2.1 no caching of
people's data."""

from __future__ import annotations

from dataclasses import replace

from formflow import Runtime, create_app
from formflow.headers import DATA_POLICY, HSTS, PAGE_POLICY

from .conftest import login


def test_pages_carry_a_content_security_policy_and_refuse_sniffing_and_framing(browser, li):
    login(browser)
    page = browser.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    headers = page.headers
    assert headers["Content-Security-Policy"] == PAGE_POLICY
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ):
        assert directive in PAGE_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # not over plain HTTP


def test_the_login_page_and_error_pages_carry_them_too(browser):
    for response in (browser.get("/login"), browser.get("/no/such/page")):
        assert response.headers["Content-Security-Policy"] == PAGE_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_api_answers_cannot_be_run_framed_or_cached(api):
    for response in (api.get("/forms"), api.get("/nothing-here")):
        assert response.mimetype == "application/json"
        assert response.headers["Content-Security-Policy"] == DATA_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Content-Disposition"] == 'attachment; filename="api.json"'
        assert "Access-Control-Allow-Origin" not in response.headers  # no CORS at all


def test_no_origin_is_trusted_for_cross_site_calls(api):
    preflight = api.call(
        "OPTIONS", "/forms", headers={"Origin": "https://evil.example", "Authorization": ""}
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    asked = api.get("/forms", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in asked.headers


def test_static_files_stay_cacheable_but_are_never_sniffed(browser):
    response = browser.get("/static/app.js")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(runtime, li):
    secure = Runtime(replace(runtime.config, secure_cookies=True), clock=runtime.clock)
    try:
        app = create_app(runtime=secure)
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        signed_in = login(client)
        cookie = signed_in.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        assert client.get("/").status_code == 200
        assert signed_in.headers["Strict-Transport-Security"] == HSTS
    finally:
        secure.close()
