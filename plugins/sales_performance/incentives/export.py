"""Approved bonus statements for payroll: one row per person (CSV), or that sheet plus every
line with its explanation (XLSX, written with openpyxl). The file holds everybody's pay: only
those who run incentives (finance, HR, an admin) export it.

The explanations are written in the exporting user's language (the page's, or the one an API
client asked for), not in both: the file goes from finance or HR to the payroll clerk of the
same organisation, who reads that language, and two explanation columns would double the
widest column of the sheet for no reader. The column names, rule keys and kinds stay the
same in every language, so a payroll import that maps columns keeps working; the CSV holds
no explanations at all."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from formflow.errors import BadRequest, FieldError
from formflow.people.models import User
from formflow.runtime import Work

from ..explanations import DEFAULT_LANGUAGE, LANGUAGES, show
from .statements import check_runs, list_statements

PAYROLL = ("username", "name", "period", "approved_total", "statements")
LINES = ("username", "name", "period", "statement", "rule", "kind", "base", "attainment",
         "rate", "amount", "explanation")  # fmt: skip


def payroll(
    work: Work, period_key: Any, language: str = DEFAULT_LANGUAGE
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(a row per person with their approved total, a row per approved line, its explanation
    in ``language``)."""
    approved = [s for s in list_statements(work, period_key) if s["status"] == "approved"]
    people = {
        user.id: user
        for user in work.session.query(User).filter(
            User.id.in_({s["member"] for s in approved} or {-1})
        )
    }
    totals: dict[int, dict[str, Any]] = {}
    lines = []
    for statement in approved:
        user = people.get(statement["member"])
        who = {
            "username": user.username if user else "",
            "name": user.display_name if user else "",
            "period": statement["period"],
        }
        row = totals.setdefault(
            statement["member"], {**who, "approved_total": Decimal("0.00"), "statements": []}
        )
        row["approved_total"] += Decimal(str(statement["total"] or 0))
        row["statements"].append(str(statement["id"]))
        for line in statement["lines"]:
            lines.append(
                {
                    **who,
                    "statement": statement["id"],
                    **{k: line.get(k) for k in LINES[4:]},
                    "explanation": show(line.get("explanation"), language),
                }
            )
    rows = [
        {
            **row,
            "approved_total": str(row["approved_total"]),
            "statements": " ".join(row["statements"]),
        }
        for _, row in sorted(totals.items(), key=lambda item: item[1]["username"])
    ]
    return rows, lines


def export(
    work: Work, period_key: Any, fmt: str = "csv", language: str | None = None
) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of the period's approved statements (finance, HR or an
    admin only), explained in ``language`` — by default the exporting user's own."""
    check_runs(work)
    if language not in LANGUAGES:
        chosen = work.actor.language if work.actor is not None else None
        language = chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
    rows, lines = payroll(work, period_key, language)
    period = rows[0]["period"] if rows else str(period_key)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=PAYROLL)
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode("utf-8-sig"), "text/csv", f"bonus-{period}.csv"
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = "Payroll"
        sheet.append(list(PAYROLL))
        for row in rows:
            sheet.append([_cell(row[k], k) for k in PAYROLL])
        detail = book.create_sheet("Lines")
        detail.append(list(LINES))
        for line in lines:
            detail.append([_cell(line.get(k), k) for k in LINES])
        out = io.BytesIO()
        book.save(out)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return out.getvalue(), mimetype, f"bonus-{period}.xlsx"
    raise BadRequest([FieldError("format", "must be csv or xlsx")])


def _cell(value: Any, key: str) -> Any:
    if key in ("approved_total", "amount", "base") and value not in (None, ""):
        return Decimal(str(value))
    return value
