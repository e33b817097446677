"""Security headers on every response: what the browser may load, frame, sniff and send.

Pages get a Content-Security-Policy that allows only this site's own scripts, styles,
images and connections; the JSON API and uploaded files are not documents at all, so they
get ``default-src 'none'`` (a file shown inline, such as a photo, cannot run anything even
if a browser were talked into rendering it as HTML).
"""

from __future__ import annotations

from flask import Response, request

#: Pages. ``'unsafe-inline'``/``'unsafe-eval'`` on scripts remain while a few templates
#: carry inline scripts and handlers and htmx ``js:`` values (docs/security.md, V14.4.3);
#: everything else is this origin only. Frames: the form builder previews a form in an
#: iframe of this site, so ``'self'`` rather than ``'none'``.
PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
#: JSON and files: nothing to load, nothing to run, never framed by another site.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: One year, sent only when the instance says it is served over HTTPS.
HSTS = "max-age=31536000; includeSubDomains"


def add_security_headers(response: Response, *, https: bool) -> Response:
    """Set the headers a response lacks; a view that chose its own keeps it."""
    headers = response.headers
    is_page = response.mimetype == "text/html"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", PAGE_POLICY if is_page else DATA_POLICY)
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if is_page else "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if (
        request.path.startswith("/api/")
        and response.mimetype == "application/json"
        and request.endpoint != "api.openapi_document"
    ):
        # a JSON answer opened directly in a browser is a download, never a page
        headers.setdefault("Content-Disposition", 'attachment; filename="api.json"')
    if not request.path.startswith("/static/"):
        # pages and API answers hold people's data: not kept by the browser or a proxy,
        # so "back" after signing out shows nothing
        headers.setdefault("Cache-Control", "no-store")
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
