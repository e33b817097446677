"""The sales pages a rep uses on the phone: the home (today's and overdue follow-ups, open
quotations and whom their approval waits on, a quick follow-up with a photo and the place)
and one page per customer with everything about it.

Everything is read through the engine's permission-scoped listing (one SQL statement per
section, the viewer's row scope inside it, the fields hidden from them left out) and written
through :func:`formflow.records.service.create`, so these pages show and change exactly what
the engine's own record pages would let the same person show and change.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as engine_gettext
from sqlalchemy import select

from formflow.definitions.service import LoadedForm, get_form
from formflow.definitions.spec import FieldSpec
from formflow.errors import (
    FieldError,
    Forbidden,
    FormflowError,
    NotFound,
    ValidationFailed,
)
from formflow.files import storage
from formflow.flows import service as flows
from formflow.flows.models import Flow, FlowInstance, FlowTask, InstanceState, TaskState
from formflow.people.models import User
from formflow.permissions.models import Action
from formflow.permissions.policy import FormPolicy, policy_for
from formflow.records import service as records
from formflow.records.display import WorkDisplay
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.projection import field_sql
from formflow.records.query import Filter, Query, Sort, form_rows, list_records
from formflow.runtime import Work
from formflow.web.i18n import error_text, language, localized, said
from formflow.web.session import login_required, read, write

APP = "sales_performance"
#: How many rows each list on a page shows; the rest is one tap away in the engine's list.
SECTION_LIMIT = 50
#: The rep's own customers offered by the quick follow-up (a native picker copes with this).
PICKER_LIMIT = 500
#: Quotation statuses that are over: everything else is still open.
CLOSED_QUOTATIONS = frozenset({"won", "lost"})
#: The follow-up fields the quick form has inputs for; errors of others show above it.
QUICK_FIELDS = ("customer", "type", "content", "photo", "location", "next_follow_up_at")
#: The time a next follow-up is planned for when only its day is picked.
DEFAULT_FOLLOW_UP_TIME = "09:00"

blueprint = Blueprint("sales", __name__, url_prefix="/sales", template_folder="templates")

# -- words -----------------------------------------------------------------------------------

#: The pages' own words in both languages. The engine reads only its own message catalog
#: (web/i18n.py), so a plugin cannot add one yet; field, option and form labels come from the
#: definitions' bilingual ``x-label``s, and these few from here. Words missing here are the
#: engine's, translated by its catalog.
WORDS: dict[str, dict[str, str]] = {
    "Sales": {"zh-CN": "销售"},
    "My day": {"zh-CN": "我的今天"},
    "Today": {"zh-CN": "今日跟进"},
    "Today (short)": {"zh-CN": "今日", "en": "Today"},
    "Overdue (short)": {"zh-CN": "逾期", "en": "Overdue"},
    "Quotations (short)": {"zh-CN": "报价", "en": "Quotes"},
    "Overdue": {"zh-CN": "已逾期"},
    "My open quotations": {"zh-CN": "我的报价"},
    "Log a follow-up": {"zh-CN": "记录跟进"},
    "Log": {"zh-CN": "记录"},
    "No follow-up planned for today.": {"zh-CN": "今天没有计划的跟进。"},
    "Nothing overdue.": {"zh-CN": "没有逾期的跟进。"},
    "No open quotations.": {"zh-CN": "没有进行中的报价。"},
    "See all": {"zh-CN": "查看全部"},
    "late": {"zh-CN": "已过时间"},
    "%(days)s day overdue": {"zh-CN": "逾期 %(days)s 天"},
    "%(days)s days overdue": {"zh-CN": "逾期 %(days)s 天"},
    "Waiting for %(people)s": {"zh-CN": "等待审批：%(people)s"},
    "Returned to you for changes": {"zh-CN": "已退回，请修改后重新提交"},
    "Approval": {"zh-CN": "审批"},
    "Pick a customer": {"zh-CN": "选择客户"},
    "Due today": {"zh-CN": "今日待跟进"},
    "All my customers": {"zh-CN": "我的全部客户"},
    "Take a photo": {"zh-CN": "拍照"},
    "Capture my location": {"zh-CN": "获取定位"},
    "Location captured": {"zh-CN": "已定位"},
    "Date": {"zh-CN": "日期"},
    "Time": {"zh-CN": "时间"},
    "Tomorrow": {"zh-CN": "明天"},
    "In 3 days": {"zh-CN": "3 天后"},
    "In a week": {"zh-CN": "一周后"},
    "Save the follow-up": {"zh-CN": "保存跟进"},
    "Follow-up saved for %(name)s.": {"zh-CN": "已保存 %(name)s 的跟进。"},
    "Pick one of your customers.": {"zh-CN": "请选择你负责的客户。"},
    "Please correct the fields marked below. Nothing was saved yet.": {
        "zh-CN": "请修改下面标出的内容，尚未保存。"
    },
    "You have no customers yet.": {"zh-CN": "你还没有客户。"},
    "Add a customer": {"zh-CN": "新建客户"},
    "New quotation": {"zh-CN": "新建报价"},
    "Edit": {"zh-CN": "编辑"},
    "Details": {"zh-CN": "资料"},
    "Nothing yet.": {"zh-CN": "暂无。"},
    "Showing the newest %(n)s.": {"zh-CN": "显示最新 %(n)s 条。"},
    "overdue": {"zh-CN": "逾期"},
    "received": {"zh-CN": "已回款"},
    "planned": {"zh-CN": "计划"},
    "actual": {"zh-CN": "实际"},
    "Decision maker": {"zh-CN": "关键决策人"},
    "Next: %(when)s": {"zh-CN": "下次：%(when)s"},
    "Photo": {"zh-CN": "照片"},
    "Map": {"zh-CN": "地图"},
    "Not available: the form has no field '%(field)s' any more.": {
        "zh-CN": "无法显示：表单中已没有字段“%(field)s”。"
    },
    "The sales app is not installed.": {"zh-CN": "销售应用尚未安装。"},
    "My performance": {"zh-CN": "我的业绩"},
}


def reader_language() -> str:
    """The reader's language, asked of Flask-Babel once a request: a page says hundreds of
    words and labels, and each question costs a locale lookup."""
    if "sales_language" not in g:
        g.sales_language = language()
    return g.sales_language


def say(message: str, **params: Any) -> str:
    """``message`` in the reader's language (see :data:`WORDS`)."""
    found = WORDS.get(message, {}).get(reader_language())
    if found is None:
        return engine_gettext(message, **params)
    return found % params if params else found


@blueprint.context_processor
def _words() -> dict[str, Any]:
    return {"say": say}


# -- reading a form's rows as the viewer may --------------------------------------------------


class Row:
    """One record of a section: values by field key, shown in the reader's language, with
    the fields hidden from the reader left out (they read as empty)."""

    def __init__(
        self, section: Section, record_id: int, values: dict[str, Any], hidden: set[str]
    ) -> None:
        self.section = section
        self.id = record_id
        self._values = values
        self._hidden = hidden

    def value(self, key: str) -> Any:
        if key in self._hidden:
            return None
        return self._values.get(key)

    def show(self, key: str) -> str:
        f = self.section.loaded.spec.by_key.get(key)
        value = self.value(key)
        if f is None or value is None:
            return ""
        return self.section.display.show(f, value)

    def local(self, key: str) -> dt.datetime | None:
        """A date-time value in the organisation's zone."""
        value = self.value(key)
        if not value:
            return None
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.astimezone(self.section.loaded.spec.timezone)

    @property
    def url(self) -> str:
        """The engine's page of this record."""
        return f"{self.section.records_url}{self.id}"


@dataclass
class Section:
    """A list on a page: the newest rows of a form that match, as the viewer may see them."""

    loaded: LoadedForm
    display: WorkDisplay
    filters: list[Filter]
    rows: list[Row] = field(default_factory=list)
    more: bool = False
    #: Why the section cannot be shown (a field it needs was removed), in the reader's words.
    problem: str | None = None

    @functools.cached_property
    def records_url(self) -> str:
        """Where the engine's pages of this form's records are: its list, and each record
        below it (``/f/<form>/<id>``); built once, not once a row."""
        return url_for("records.list_records", form=self.loaded.name)

    @property
    def title(self) -> str:
        return self.loaded.spec.title(self.display.language)

    def label(self, key: str) -> str:
        f = self.loaded.spec.by_key.get(key)
        return f.label(self.display.language) if f is not None else key

    @property
    def list_url(self) -> str:
        """The engine's list of this form, filtered the same way."""
        pairs: list[tuple[str, Any]] = []
        for item in self.filters:
            value = item.value
            if isinstance(value, list | tuple):
                value = ",".join(str(v) for v in value)
            pairs += [("ff", item.field), ("fo", item.op), ("fv", value)]
        return f"{self.records_url}?{urlencode(pairs)}" if pairs else self.records_url


def _form(work: Work, local: str) -> LoadedForm | None:
    try:
        return get_form(work, f"{APP}.{local}")
    except NotFound:
        return None


def _hidden(
    work: Work, policy: FormPolicy, loaded: LoadedForm, ids: list[int]
) -> dict[int, set[str]]:
    """Per row, the fields hidden from the viewer. When every view grant hides the same
    fields (the usual case) that is the answer for every row, without asking the database
    which grants reach which row."""
    if policy.unrestricted:
        return {i: set() for i in ids}
    hidden_sets = {frozenset(policy.hidden([g])) for g in policy.granting(Action.VIEW)}
    if len(hidden_sets) == 1:
        [same] = hidden_sets
        return {i: set(same) for i in ids}
    return records.hidden_fields(work, loaded, ids)


def section(
    work: Work,
    loaded: LoadedForm | None,
    display: WorkDisplay,
    filters: list[Filter],
    sort: list[Sort] | None = None,
    limit: int = SECTION_LIMIT,
) -> Section | None:
    """The newest ``limit`` rows of ``loaded`` matching ``filters`` that the viewer may see
    (one statement, their row scope in it); None when they may not see the form at all."""
    if loaded is None:
        return None
    policy = policy_for(work, loaded)
    if not policy.allows(Action.VIEW):
        return None
    found = Section(loaded, display, filters)
    missing = [
        f.field
        for f in [*filters, *(sort or [])]
        if not f.field.startswith("_") and f.field not in loaded.spec.by_key
    ]
    if missing:
        found.problem = say(
            "Not available: the form has no field '%(field)s' any more.", field=missing[0]
        )
        return found
    query = Query(
        filters=filters,
        sort=sort or [],
        limit=limit,
        forbidden=frozenset(policy.hidden_anywhere()),
    )
    try:
        page = list_records(
            work, loaded.spec, loaded.form.id, query, policy.rows(Action.VIEW, work.dialect)
        )
    except FormflowError as error:  # a field hidden from them, or one being retyped
        found.problem = "; ".join(f"{e.field}: {error_text(e)}" for e in error.errors)
        return found
    hidden = _hidden(work, policy, loaded, [r.id for r in page.records])
    found.rows = [
        Row(found, r.id, dict(from_document(loaded.spec, r.data)), hidden[r.id])
        for r in page.records
    ]
    found.more = page.next_cursor is not None
    return found


def _titles(
    work: Work, loaded: LoadedForm | None, display: WorkDisplay, ids: Iterable[int]
) -> dict[int, str]:
    """The titles of the records ``ids`` the viewer may see (one scoped statement)."""
    wanted = sorted({int(i) for i in ids})
    if loaded is None or not wanted or loaded.spec.title_field is None:
        return {}
    found = section(
        work, loaded, display, [Filter("_id", "in", wanted)], limit=min(len(wanted), 500)
    )
    key = loaded.spec.title_field.key
    return {row.id: row.show(key) for row in (found.rows if found else [])}


# -- time in the organisation's zone ----------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """Today in the organisation's zone, and where it starts and ends."""

    date: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, work: Work, loaded: LoadedForm | None) -> Day:
        zone = loaded.spec.timezone if loaded is not None else dt.UTC
        date = work.now.astimezone(zone).date()
        start = dt.datetime.combine(date, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return cls(date, start, end)


def days_overdue(row: Row, day: Day) -> str:
    planned = row.local("next_follow_up_at")
    days = (day.date - planned.date()).days if planned else 0
    return say("%(days)s day overdue" if days == 1 else "%(days)s days overdue", days=days)


# -- approvals of quotations ------------------------------------------------------------------


@dataclass
class ApprovalState:
    """Where a record's latest approval stands, for a rep: whom it waits on, at which step."""

    instance_id: int
    state: str
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (step title, person)

    def waiting_text(self) -> str:
        if self.state == InstanceState.RETURNED:
            return say("Returned to you for changes")
        if self.state != InstanceState.RUNNING or not self.waiting:
            return ""
        chinese = reader_language() == "zh-CN"
        joiner = "、" if chinese else ", "
        steps: dict[str, list[str]] = {}
        for step, person in self.waiting:
            steps.setdefault(step, []).append(person)
        people = joiner.join(
            f"{joiner.join(names)}（{step}）" if chinese else f"{joiner.join(names)} ({step})"
            for step, names in steps.items()
        )
        return say("Waiting for %(people)s", people=people)


def approval_states(work: Work, record_ids: list[int]) -> dict[int, ApprovalState]:
    """Each record's latest approval and its pending tasks, in one statement."""
    if not record_ids:
        return {}
    rows = work.session.execute(
        select(
            FlowInstance.record_id,
            FlowInstance.id,
            FlowInstance.state,
            FlowInstance.flow_id,
            FlowInstance.version,
            FlowTask.node_id,
            User.display_name,
        )
        .outerjoin(
            FlowTask,
            (FlowTask.instance_id == FlowInstance.id) & (FlowTask.state == TaskState.PENDING.value),
        )
        .outerjoin(User, User.id == FlowTask.assignee_id)
        .where(FlowInstance.record_id.in_(record_ids))
        .order_by(FlowInstance.id, FlowTask.id)
    ).all()
    out: dict[int, ApprovalState] = {}
    for record_id, instance_id, state, flow_id, version, node_id, person in rows:
        current = out.get(record_id)
        if current is None or current.instance_id != instance_id:
            current = out[record_id] = ApprovalState(instance_id, state)
        if node_id is not None:
            current.waiting.append((_step_title(work, flow_id, version, node_id), person or "?"))
    return out


def _step_title(work: Work, flow_id: int, version: int, node_id: str) -> str:
    key = ("sales.step", flow_id, version)
    if key not in work.memo:
        flow = work.session.get(Flow, flow_id)
        work.memo[key] = flows.spec(work, flow, version).nodes if flow else {}
    node = work.memo[key].get(node_id, {})
    return localized(node.get("title"), node_id)


# -- the home --------------------------------------------------------------------------------


@dataclass
class QuickAdd:
    """The quick follow-up as typed (kept when it is refused) and its errors by field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    photos: list[str] = field(default_factory=list)

    def error(self, key: str) -> list[str]:
        return self.errors.get(key, [])


def home_page(work: Work, quick: QuickAdd) -> dict[str, Any]:
    """What the rep's home shows: their follow-ups due today and overdue, their open
    quotations with whom each waits on, and the quick follow-up form."""
    me = work.actor_id
    customer = _form(work, "customer")
    follow_up = _form(work, "follow_up")
    quotation = _form(work, "quotation")
    if customer is None:
        return {"installed": False}
    display = WorkDisplay(work, reader_language(), APP)
    day = Day.of(work, customer)
    mine = Filter("_owner", "eq", me)  # the record's owner: its owner field, else who added it
    planned = "next_follow_up_at"
    today = section(
        work,
        customer,
        display,
        [
            mine,
            Filter(planned, "gte", day.start.isoformat()),
            Filter(planned, "lt", day.end.isoformat()),
        ],
        [Sort(planned)],
    )
    overdue = section(
        work,
        customer,
        display,
        [mine, Filter(planned, "lt", day.start.isoformat()), Filter("status", "ne", "lost")],
        [Sort(planned, descending=True)],
    )
    quotes = None
    if quotation is not None and "status" in quotation.spec.by_key:
        status = quotation.spec.by_key["status"]
        open_ = [v for v in status.schema.get("enum", []) if v not in CLOSED_QUOTATIONS]
        quotes = section(work, quotation, display, [mine, Filter("status", "in", open_)])
    quote_rows = quotes.rows if quotes else []
    approvals = approval_states(work, [q.id for q in quote_rows])
    customer_names = _titles(
        work, customer, display, (q.value("customer") for q in quote_rows if q.value("customer"))
    )
    picker = my_customers(work, customer)
    return {
        "installed": True,
        "day": day,
        "day_label": format_date(day.date, "full"),
        "now": work.now,
        "today": today,
        "overdue": overdue,
        "quotes": quotes,
        "approvals": approvals,
        "customer_names": customer_names,
        "quick": quick,
        "quick_form": _quick_form(work, follow_up, customer, display, picker, today, quick),
        "days_overdue": lambda row: days_overdue(row, day),
    }


def my_customers(work: Work, loaded: LoadedForm) -> list[tuple[int, str]]:
    """(id, title) of the viewer's own customers by title, for the picker: one statement of
    the two columns it shows (not the whole documents), their row scope inside it."""
    policy = policy_for(work, loaded)
    if not policy.allows(Action.VIEW):
        return []
    title = loaded.spec.title_field
    named = (
        title is not None
        and title.key not in policy.hidden_anywhere()
        and title.type.projection(title) == "text"
    )
    name = field_sql(title, work.dialect) if named and title is not None else Record.id
    statement = (
        select(Record.id, name)
        .where(*form_rows(loaded.form.id), Record.owner_id == work.actor_id)
        .order_by(name, Record.id)
        .limit(PICKER_LIMIT)
    )
    scope = policy.rows(Action.VIEW, work.dialect)
    if scope is not None:
        statement = statement.where(scope)
    return [
        (i, str(shown) if named and shown else f"#{i}")
        for i, shown in work.connection.execute(statement)
    ]


def _quick_form(
    work: Work,
    follow_up: LoadedForm | None,
    customer: LoadedForm,
    display: WorkDisplay,
    picker: list[tuple[int, str]],
    today: Section | None,
    quick: QuickAdd,
) -> dict[str, Any] | None:
    """The quick follow-up's inputs: the rep's customers (today's first), the types."""
    if follow_up is None or not policy_for(work, follow_up).allows(Action.CREATE):
        return None
    spec = follow_up.spec
    lang = reader_language()
    due = [(row.id, row.show("name") or f"#{row.id}") for row in (today.rows if today else [])]
    due_ids = {i for i, _ in due}
    others = [(i, name) for i, name in picker if i not in due_ids]
    chosen = quick.values.get("customer")
    known = due_ids | {i for i, _ in others}
    if isinstance(chosen, int) and chosen not in known:
        # a customer of theirs beyond the picker's first page, asked for by its page's link
        title = _titles(work, customer, display, [chosen]).get(chosen)
        if title is not None:
            others.insert(0, (chosen, title))
    kind = spec.by_key.get("type")
    types = (
        [
            (o["value"], localized(o.get("label", o["value"])))
            for o in kind.schema.get("x-options", [])
        ]
        if kind is not None
        else []
    )

    def label(key: str) -> str:
        return spec.by_key[key].label(lang) if key in spec.by_key else key

    return {
        "spec": spec,
        "label": label,
        "has": lambda key: key in spec.by_key,
        "required": lambda key: key in spec.by_key and spec.by_key[key].required,
        "due": due,
        "customers": others,
        "types": types,
        "default_type": (kind.schema.get("default") if kind is not None else None),
        "other_errors": [
            f"{label(key)}: {message}" if key else message
            for key, messages in quick.errors.items()
            if key not in QUICK_FIELDS
            for message in messages
        ],
    }


@blueprint.get("/")
@login_required
def home() -> Any:
    quick = QuickAdd()
    chosen = request.args.get("customer", type=int)
    if chosen:
        quick.values["customer"] = chosen
    with read() as work:
        page = home_page(work, quick)
    return render_template("sales_performance/home.html", **page)


# -- the quick follow-up ----------------------------------------------------------------------


def _typed() -> dict[str, Any]:
    """The quick follow-up as the pipeline takes it (by field key)."""
    form = request.form
    customer = form.get("customer", "").strip()
    location = {
        part: form.get(f"location-{part}", "").strip()
        for part in ("lat", "lng", "accuracy", "address")
    }
    day = form.get("next_follow_up_at", "").strip()
    time = form.get("next_follow_up_at-time", "").strip() or DEFAULT_FOLLOW_UP_TIME
    return {
        "customer": int(customer) if customer.isdigit() else (customer or None),
        "type": form.get("type", "").strip() or None,
        "content": form.get("content", "").strip() or None,
        "location": {k: v for k, v in location.items() if v} or None,
        "next_follow_up_at": f"{day}T{time}" if day else None,
    }


def _store_photos() -> tuple[list[str], list[FieldError]]:
    """Store the photos of this submission first, in their own transaction (as the
    engine's record pages do): if the follow-up is then refused, the photos stay and the
    form keeps them, so nothing taken is lost."""
    kept = [v for v in request.form.getlist("photo") if v]
    uploads = [u for u in request.files.getlist("photo__upload") if u and u.filename]
    problems: list[FieldError] = []
    if not uploads:
        return kept, problems
    with write() as work:
        for upload in uploads:
            try:
                with work.session.begin_nested():
                    stored = storage.save_upload(work, upload.stream, upload.filename)
            except FormflowError as error:
                problems += [
                    FieldError("photo", f"{upload.filename}: {e.message}", e.code, e.params)
                    for e in error.errors
                ]
                continue
            kept.append(stored.id)
    return kept, problems


def create_follow_up(work: Work, data: dict[str, Any]) -> Any:
    """A follow-up of one of the viewer's customers, through the record service (their
    permissions and the form's rules apply). A customer they may not see is refused like a
    missing one: the engine checks only that a linked record exists."""
    follow_up = _form(work, "follow_up")
    customer = _form(work, "customer")
    if follow_up is None or customer is None:
        raise NotFound("the sales app is not installed")
    if isinstance(data.get("customer"), int):
        try:
            records.load(work, customer, data["customer"], Action.VIEW)
        except (NotFound, Forbidden):
            raise ValidationFailed(
                [said("customer", say("Pick one of your customers."), "reference")]
            ) from None
    return records.create(work, follow_up, {k: v for k, v in data.items() if v is not None})


@blueprint.post("/follow-ups")
@login_required
def quick_add() -> Any:
    data = _typed()
    photos, problems = _store_photos()
    data["photo"] = photos or None
    if not problems:
        try:
            with write() as work:
                create_follow_up(work, data)
                name = _customer_name(work, data.get("customer"))
        except (Forbidden, NotFound) as error:
            if not any(e.field for e in error.errors):
                abort(error.status)
            problems = error.errors
        except FormflowError as error:
            problems = error.errors
        else:
            flash(say("Follow-up saved for %(name)s.", name=name))
            return redirect(url_for("sales.home"))
    quick = QuickAdd(data, _by_field(problems), photos)
    with read() as work:
        page = home_page(work, quick)
    return render_template("sales_performance/home.html", **page), 422


def _customer_name(work: Work, customer_id: Any) -> str:
    customer = _form(work, "customer")
    if customer is None or not isinstance(customer_id, int):
        return ""
    display = WorkDisplay(work, reader_language(), APP)
    return _titles(work, customer, display, [customer_id]).get(customer_id, f"#{customer_id}")


def _by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    """Errors by the input they belong beside (a photo's or a location's part by its field)."""
    out: dict[str, list[str]] = {}
    for error in errors:
        key = (error.field or "").split("[")[0].split(".")[0]
        out.setdefault(key, []).append(error_text(error))
    return out


# -- the customer page ------------------------------------------------------------------------


def customer_page(work: Work, customer_id: int) -> dict[str, Any]:
    """A customer with its contacts, follow-ups, opportunities, quotations, contracts and
    payments: each the newest rows the viewer may see, one statement a section."""
    customer = _form(work, "customer")
    if customer is None:
        raise NotFound("the sales app is not installed")
    record, _grants = records.load(work, customer, customer_id, Action.VIEW)
    hidden = records.hidden_fields(work, customer, [record.id])[record.id]
    display = WorkDisplay(work, reader_language(), APP)
    values = from_document(customer.spec, record.data)
    shown: list[tuple[FieldSpec, str]] = [
        (f, display.show(f, values.get(f.key)))
        for f in customer.spec.fields
        if f.stores and f.key not in hidden and values.get(f.key) not in (None, "", [])
    ]
    day = Day.of(work, customer)
    of_it = [Filter("customer", "eq", customer_id)]

    def of(local: str, *sort: Sort) -> Section | None:
        return section(work, _form(work, local), display, of_it, list(sort))

    follow_ups = of("follow_up", Sort("visited_at", descending=True))
    contracts = of("contract", Sort("signed_on", descending=True))
    payments = of("payment", Sort("planned_on", descending=True))
    contract_numbers = {row.id: row.show("number") for row in (contracts.rows if contracts else [])}
    customer_policy = policy_for(work, customer)
    title_field = customer.spec.title_field
    title = display.show(title_field, values.get(title_field.key)) if title_field else ""
    return {
        "customer": customer,
        "record": record,
        "title": title or f"#{record.id}",
        "grade": values.get("grade") if "grade" not in hidden else None,
        "shown": shown,
        "contacts": of("contact", Sort("name")),
        "follow_ups": follow_ups,
        "opportunities": of("opportunity"),
        "quotations": of("quotation"),
        "contracts": contracts,
        "payments": payments,
        "contract_numbers": contract_numbers,
        "overdue": lambda row: _payment_overdue(row, day),
        "can_edit": customer_policy.unrestricted
        or bool(customer_policy.covering(work, Action.EDIT, [record.id])),
        "can_quote": _can_create(work, "quotation"),
        "can_follow_up": _can_create(work, "follow_up"),
    }


def _can_create(work: Work, local: str) -> bool:
    loaded = _form(work, local)
    return loaded is not None and policy_for(work, loaded).allows(Action.CREATE)


def _payment_overdue(row: Row, day: Day) -> bool:
    """Planned before today and nothing received: judged today, not when it was saved (the
    form's own ``overdue`` formula is only as fresh as the record's last save)."""
    planned = row.value("planned_on")
    return bool(planned) and not row.value("received_on") and str(planned) < day.date.isoformat()


@blueprint.get("/customers/<int:customer_id>")
@login_required
def customer(customer_id: int) -> Any:
    try:
        with read() as work:
            page = customer_page(work, customer_id)
    except (NotFound, Forbidden) as error:
        abort(error.status)
    return render_template("sales_performance/customer.html", **page)
