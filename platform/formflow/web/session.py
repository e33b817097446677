"""Who is signed in: the session cookie, and the guards views use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from flask import abort, current_app, g, redirect, request, session, url_for

from ..people import mfa
from ..people import sessions as browser_sessions
from ..people.login import session_stamp
from ..people.models import User
from ..runtime import Runtime, Work


def runtime() -> Runtime:
    return current_app.extensions["formflow"]


def load_user() -> None:
    """Before every request: the signed-in user (or None), checked against the database."""
    g.user = None
    uid = session.get("uid")
    if uid is None or request.path.startswith(("/api/", "/static/")):
        return
    session_id = session.get("sid")
    with runtime().read() as work:
        user = work.session.get(User, uid)
        check = browser_sessions.check_request(work, uid, session_id)
    g.password_change_due = user is not None and check.password_change_due
    if (
        user is None
        or not user.is_active
        or check.ended
        or session.get("stamp") != session_stamp(user)
    ):
        session.clear()
        return
    if check.stale:
        with runtime().write() as work:
            browser_sessions.touch(work, uid, session_id)
    g.user = user


def current_user() -> User | None:
    return g.get("user")


#: Where someone whose sign-in has a step left may go besides that step: the way out.
ALWAYS_OPEN_ENDPOINTS = frozenset({"auth.logout", "auth.switch_language", "static"})


def step_left(user: User) -> str | None:
    """The page someone signed in must go through before any other, if any: choosing
    their own password when an administrator set it, then, where the instance asks it of
    administrators, turning on two-step sign-in."""
    if g.get("password_change_due"):
        return "auth.change_password"
    if user.is_admin and runtime().config.admin_mfa_required and not mfa.enabled(user):
        return "auth.mfa_setup"
    return None


def finish_sign_in() -> Any:
    """Before every request, after :func:`load_user`: hold someone at the step their
    sign-in has left (:func:`step_left`)."""
    user = current_user()
    if user is None or request.endpoint in ALWAYS_OPEN_ENDPOINTS:
        return None
    step = step_left(user)
    if step is not None and request.endpoint != step:
        return redirect(url_for(step, next=request.full_path.rstrip("?")))
    return None


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user().is_admin:  # type: ignore[union-attr]
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@contextmanager
def write() -> Any:
    with runtime().write(current_user()) as work:
        yield work


@contextmanager
def read() -> Any:
    with runtime().read(current_user()) as work:
        yield work


__all__ = ["Work", "admin_required", "current_user", "login_required", "read", "write"]
