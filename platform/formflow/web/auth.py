"""Signing in and out, and a user's own page (password, language)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..errors import ValidationFailed
from ..people import login as logins
from ..people.models import User
from ..people.service import check_password, set_password
from .i18n import error_text
from .session import current_user, login_required, runtime

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


class ProfileForm(FlaskForm):
    language = SelectField(
        "language", choices=[SelectChoice("zh-CN", "中文"), SelectChoice("en", "English")]
    )
    current_password = PasswordField("current_password", validators=[Optional()])
    new_password = PasswordField("new_password", validators=[Optional(), Length(max=200)])
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
        if result.user is not None:
            # a fresh session: nothing set before signing in (a planted cookie) carries over
            session.clear()
            session["uid"] = result.user.id
            session["sid"] = session_id
            session["stamp"] = logins.session_stamp(result.user)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")))
        if result.retry_minutes is not None:
            error = _(
                "Too many failed attempts. Try again in %(minutes)s minutes.",
                minutes=result.retry_minutes,
            )
            status = 429
        else:
            error = _("Wrong username or password.")
            status = 401
    elif request.method == "POST":
        error = _("Enter your username and password.")
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> object:
    uid, session_id = session.get("uid"), session.get("sid")
    if isinstance(uid, int) and isinstance(session_id, str):
        with runtime().write() as work:
            logins.end_session(work, uid, session_id)
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
            return render_template("auth/profile.html", form=form), 400
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
            return render_template("auth/profile.html", form=form), 400
        flash(_("Saved."))
        return redirect(url_for("auth.profile"))
    if request.method == "POST":
        status = 400
    return render_template("auth/profile.html", form=form), status


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
