"""Signing in and out (with a second step for people with a second factor), and a user's own
pages (password, language, two-step sign-in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..errors import ValidationFailed
from ..people import login as logins
from ..people import mfa
from ..people import sessions as browser_sessions
from ..people.models import User
from ..people.service import check_password, set_password
from ..runtime import Work
from .i18n import error_text
from .session import current_user, login_required, runtime, step_left

T = TypeVar("T")

bp = Blueprint("auth", __name__)
#: How long after the password the code may still be given.
CODE_STEP_SECONDS = 300


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField("code", validators=[DataRequired(), Length(max=40)])


class ConfirmForm(FlaskForm):
    """A button's post: nothing to fill in but the CSRF token."""


class ProofForm(FlaskForm):
    proof = PasswordField("proof", validators=[DataRequired(), Length(max=200)])


class ProfileForm(FlaskForm):
    language = SelectField(
        "language", choices=[SelectChoice("zh-CN", "中文"), SelectChoice("en", "English")]
    )
    current_password = PasswordField("current_password", validators=[Optional()])
    new_password = PasswordField("new_password", validators=[Optional(), Length(max=200)])
    confirm = PasswordField("confirm", validators=[EqualTo("new_password")])


class PasswordForm(FlaskForm):
    current_password = PasswordField("current_password", validators=[DataRequired()])
    new_password = PasswordField("new_password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("confirm", validators=[EqualTo("new_password")])


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not bounce people to another site."""
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> object:
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        with runtime().write() as work:
            result = logins.attempt(work, form.username.data, form.password.data, address)
            session_id = logins.new_session_id(work)
            now = int(work.now.timestamp())
            if result.user is not None and not result.needs_code:
                _record(work, result.user, session_id)
        if result.user is not None and result.needs_code:
            # not signed in yet: the session only remembers who passed the password step
            session.clear()
            session["mfa_uid"], session["mfa_at"] = result.user.id, now
            return redirect(url_for("auth.login_code", next=request.args.get("next")))
        if result.user is not None:
            _sign_in(result.user, session_id)
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_minutes is not None:
            error, status = _throttled(result.retry_minutes), 429
        else:
            error = _("Wrong username or password.")
            status = 401
    elif request.method == "POST":
        error = _("Enter your username and password.")
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


def _throttled(minutes: int) -> str:
    return _("Too many failed attempts. Try again in %(minutes)s minutes.", minutes=minutes)


def _record(work: Work, user: User, session_id: str) -> None:
    """Note the browser signing in, for its owner's list of sessions."""
    browser_sessions.record_sign_in(
        work,
        user,
        session_id,
        request.remote_addr or "unknown",
        request.headers.get("User-Agent", ""),
    )


def _sign_in(user: User, session_id: str) -> None:
    # a fresh session: nothing set before signing in (a planted cookie) carries over
    session.clear()
    session["uid"] = user.id
    session["sid"] = session_id
    session["stamp"] = logins.session_stamp(user)
    session.permanent = True


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> object:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    uid, began = session.get("mfa_uid"), session.get("mfa_at")
    if not isinstance(uid, int) or not isinstance(began, int):
        return redirect(url_for("auth.login", next=request.args.get("next")))
    with runtime().read() as work:
        expired = work.now.timestamp() - began > CODE_STEP_SECONDS
    if expired:
        session.clear()
        flash(_("That took too long. Sign in again."))
        return redirect(url_for("auth.login", next=request.args.get("next")))
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        with runtime().write() as work:
            result = logins.second_factor(
                work, uid, form.code.data, request.remote_addr or "unknown"
            )
            session_id = logins.new_session_id(work)
            if result.user is not None:
                _record(work, result.user, session_id)
        if result.user is not None:
            _sign_in(result.user, session_id)
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_minutes is not None:
            error, status = _throttled(result.retry_minutes), 429
        else:
            error, status = _("That code is not right, or was used already."), 401
    elif request.method == "POST":
        error, status = _("Enter the code from your app."), 400
    return render_template("auth/login_code.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> object:
    uid, session_id = session.get("uid"), session.get("sid")
    if isinstance(uid, int) and isinstance(session_id, str):
        with runtime().write() as work:
            logins.end_session(work, uid, session_id)
            browser_sessions.forget(work, uid, session_id)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/me", methods=["GET", "POST"])
@login_required
def profile() -> object:
    user = current_user()
    assert user is not None
    form = ProfileForm(language=user.language)
    status = 200
    if form.validate_on_submit():
        if form.new_password.data and not check_password(user, form.current_password.data or ""):
            form.current_password.errors = [_("This is not your current password.")]
            return _profile_page(form, user), 400
        try:
            with runtime().write(user) as work:
                me = work.session.get(User, user.id)
                assert me is not None
                me.language = form.language.data
                if form.new_password.data:
                    set_password(work, me, form.new_password.data)
                    session["stamp"] = logins.session_stamp(me)
        except ValidationFailed as failure:
            form.new_password.errors = [error_text(e) for e in failure.errors]
            return _profile_page(form, user), 400
        flash(_("Saved."))
        return redirect(url_for("auth.profile"))
    if request.method == "POST":
        status = 400
    return _profile_page(form, user), status


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
def change_password() -> object:
    """Choose one's own password: where someone whose password an administrator set is sent
    when they sign in, before anything else."""
    user = current_user()
    assert user is not None
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        if not check_password(user, form.current_password.data or ""):
            form.current_password.errors = [_("This is not your current password.")]
            return render_template("auth/password.html", form=form), 400
        if form.new_password.data == form.current_password.data:
            form.new_password.errors = [_("Choose a password other than the one you were given.")]
            return render_template("auth/password.html", form=form), 400
        try:
            with runtime().write(user) as work:
                me = work.session.get(User, user.id)
                assert me is not None
                set_password(work, me, form.new_password.data)
                session["stamp"] = logins.session_stamp(me)
        except ValidationFailed as failure:
            form.new_password.errors = [error_text(e) for e in failure.errors]
            return render_template("auth/password.html", form=form), 400
        flash(_("Your password is changed."))
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form), status


def _profile_page(form: ProfileForm, user: User) -> str:
    with runtime().read(user) as work:
        signed_in = browser_sessions.active(work, user, session.get("sid"))
    return render_template(
        "auth/profile.html",
        form=form,
        mfa_on=mfa.enabled(user),
        sessions=signed_in,
        zone=ZoneInfo(runtime().config.timezone),
        confirm=ConfirmForm(),
    )


def _as_confirmed(change: Callable[[Work, User], T]) -> T:
    """``change(work, me)`` for the signed-in user, in one unit of work, once the POST
    carries the confirm form's token (else 400)."""
    user = current_user()
    assert user is not None
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with runtime().write(user) as work:
        me = work.session.get(User, user.id)
        assert me is not None
        return change(work, me)


@bp.post("/me/sessions/<handle>/end")
@login_required
def end_browser_session(handle: str) -> object:
    """End one of one's signed-in browsers (this one too: then sign in again)."""
    if not _as_confirmed(lambda work, me: browser_sessions.end(work, me, handle)):
        abort(404)
    if handle == browser_sessions.handle_of(session.get("sid") or ""):
        session.clear()
        return redirect(url_for("auth.login"))
    flash(_("That browser is signed out."))
    return redirect(url_for("auth.profile"))


@bp.post("/me/sessions/end-others")
@login_required
def end_other_sessions() -> object:
    """End every signed-in browser but this one."""
    sid = session.get("sid")
    count = _as_confirmed(lambda work, me: browser_sessions.end_others(work, me, sid))
    flash(_("Signed out of %(count)s other browsers.", count=count))
    return redirect(url_for("auth.profile"))


@bp.route("/me/mfa", methods=["GET", "POST"])
@login_required
def mfa_setup() -> object:
    """Turn two-step sign-in on: scan the QR code (or type the secret), confirm with a code;
    the recovery codes are shown once, on the page that answers the confirmation."""
    user = current_user()
    assert user is not None
    if mfa.enabled(user):
        with runtime().read(user) as work:
            left = mfa.recovery_codes_left(work, user.id)
        return render_template("auth/mfa.html", on=True, left=left, form=ProofForm())
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            with runtime().write(user) as work:
                me = work.session.get(User, user.id)
                assert me is not None
                codes = mfa.enable(work, me, form.code.data)
        except ValidationFailed as failure:
            form.code.errors = [error_text(e) for e in failure.errors]
            status = 400
        else:
            return render_template("auth/mfa_codes.html", codes=codes)
    elif request.method == "POST":
        status = 400
    with runtime().write(user) as work:
        me = work.session.get(User, user.id)
        assert me is not None
        secret = mfa.pending_secret(work, me)
        qr = Markup(mfa.qr_svg(mfa.provisioning_uri(me, secret)))
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    required = step_left(user) == "auth.mfa_setup"
    page = render_template(
        "auth/mfa.html", on=False, form=form, qr=qr, secret=grouped, required=required
    )
    return page, status


@bp.post("/me/mfa/disable")
@login_required
def mfa_disable() -> object:
    user = current_user()
    assert user is not None
    form = ProofForm()
    if form.validate_on_submit():
        try:
            with runtime().write(user) as work:
                me = work.session.get(User, user.id)
                assert me is not None
                mfa.disable(work, me, form.proof.data)
        except ValidationFailed as failure:
            form.proof.errors = [error_text(e) for e in failure.errors]
        else:
            flash(_("Two-step sign-in is off."))
            return redirect(url_for("auth.profile"))
    elif not form.proof.errors:
        form.proof.errors = [_("Enter a current code or your password.")]
    with runtime().read(user) as work:
        left = mfa.recovery_codes_left(work, user.id)
    return render_template("auth/mfa.html", on=True, left=left, form=form), 400


@bp.post("/language")
def switch_language() -> object:
    """Pick the UI language: remembered on the user, or in a cookie before signing in."""
    chosen = request.form.get("language", "zh-CN")
    if chosen not in ("zh-CN", "en"):
        chosen = "zh-CN"
    user = current_user()
    if user is not None:
        with runtime().write(user) as work:
            me = work.session.get(User, user.id)
            if me is not None:
                me.language = chosen
    back = request.form.get("next") or (request.referrer and urlsplit(request.referrer).path)
    response = redirect(_safe_next(back))
    response.set_cookie(
        "lang", chosen.replace("-", "_"), max_age=365 * 24 * 3600, samesite="Lax", httponly=True
    )
    return response
