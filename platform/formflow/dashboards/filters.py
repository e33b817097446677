"""A dashboard's filters as a viewer sets them — ``period`` (with ``from``/``to`` for a
custom one), ``department`` and ``owner`` from a query string — and where a chart's group
drills down to: the record list filtered to its records.

Shared by the API and the web page, so it knows nothing of Flask: it takes the arguments as
a mapping and raises :class:`BadRequest` naming the parameter that is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..errors import BadRequest, FieldError
from ..people.models import Department, User
from ..people.service import departments_below
from ..records.query import Filter
from ..runtime import Work
from .compile import Filters
from .definition import PERIODS, DashboardSpec
from .periods import resolve

CUSTOM = "custom"


def _bad(parameter: str, message: str, code: str = "invalid") -> BadRequest:
    return BadRequest([FieldError(parameter, message, code)])


def _offered(spec: DashboardSpec, name: str, args: Mapping[str, str]) -> str | None:
    """The parameter's value (None when absent or empty); refused when the dashboard does
    not offer that filter, so a link never seems filtered when it is not."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if name not in spec.filters:
        raise _bad(name, f"dashboard '{spec.name}' has no {name} filter", "unknown")
    return raw


def _whole(parameter: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= 2**31:
        raise _bad(parameter, f"{parameter} must be an id (a whole number)", "type")
    return int(raw)


def _day(parameter: str, raw: str) -> dt.date:
    if not raw:
        raise _bad(parameter, f"a custom period needs '{parameter}'", "required")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise _bad(parameter, f"{parameter} must be a date like 2026-03-31", "format") from None


def today(work: Work) -> dt.date:
    """The date now in the organisation's time zone (periods are calendar periods there)."""
    zone = ZoneInfo(work.config.timezone)
    return work.now.astimezone(zone).date()


def filters_from(
    work: Work, spec: DashboardSpec, args: Mapping[str, str]
) -> tuple[Filters, dict[str, Any]]:
    """The dashboard's filters from query arguments, and the values they resolved to (to
    echo back): ``period`` (the dashboard's own when not given), ``from`` and ``to`` (the
    period's first and last day as ISO dates; None for ``all``), ``department`` and
    ``owner`` (ids or None). ``department`` counts its sub-departments too. ``from`` and
    ``to`` are read only for a ``custom`` period (a page's hidden date inputs are ignored
    otherwise). Raises BadRequest naming the parameter that is wrong."""
    period = _offered(spec, "period", args) or spec.period
    if period not in PERIODS and period != CUSTOM:
        choices = ", ".join((*PERIODS, CUSTOM))
        raise _bad("period", f"period is one of {choices}", "choice")
    if period == CUSTOM:
        first, last = (_day(p, (args.get(p) or "").strip()) for p in ("from", "to"))
        if last < first:
            raise _bad("to", "'to' is before 'from'", "range")
        span = resolve(CUSTOM, today(work), first.isoformat(), last.isoformat())
    else:
        span = resolve(period, today(work))
    department = _offered(spec, "department", args)
    departments = None
    department_id = None
    if department is not None:
        department_id = _whole("department", department)
        if work.session.get(Department, department_id) is None:
            raise _bad("department", f"no department #{department_id}", "unknown")
        departments = tuple(sorted(departments_below(work, {department_id})))
    owner = _offered(spec, "owner", args)
    owner_id = None
    if owner is not None:
        owner_id = _whole("owner", owner)
        if work.session.scalar(select(User.id).where(User.id == owner_id)) is None:
            raise _bad("owner", f"no user #{owner_id}", "unknown")
    resolved = {
        "period": period,
        "from": span.start.isoformat() if span else None,
        "to": span.last_day.isoformat() if span else None,
        "department": department_id,
        "owner": owner_id,
    }
    return Filters(period=span, departments=departments, owner=owner_id), resolved


def _text(value: Any) -> str:
    """A filter's value as the record list's ``fv`` parameter reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def record_list_url(form: str, filters: list[Filter]) -> str:
    """The record list of ``form`` narrowed by ``filters``: ``/f/<form>/?ff=…&fo=…&fv=…``,
    one ``ff``/``fo``/``fv`` triple a filter, in order (what ``web/records.py`` reads)."""
    pairs: list[tuple[str, str]] = []
    for item in filters:
        value = "true" if item.op == "is_empty" and item.value is None else _text(item.value)
        pairs += [("ff", item.field), ("fo", item.op), ("fv", value)]
    path = f"/f/{quote(form, safe='')}/"
    return f"{path}?{urlencode(pairs)}" if pairs else path
