"""The dashboards pages: the list of dashboards a user may open, one dashboard with its
filters (period, department, owner) and its charts, each chart's data as CSV or Excel.

Every chart is computed on the server for the viewer (their data permissions applied) and
drawn by ECharts in the browser from the JSON embedded in the page (``static/dashboard.js``);
a click on a bar or slice opens the record list filtered to it. On a phone the charts stack.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from ..dashboards import service as dashboards
from ..dashboards.batch import all_results
from ..dashboards.charts import chart_result
from ..dashboards.definition import PERIODS, DashboardSpec, text_of
from ..dashboards.filters import filters_from, record_list_url
from ..errors import FormflowError, NotFound
from ..people import service as people
from ..records.transfer import neutralise
from ..runtime import Work
from .i18n import language
from .session import current_user, login_required, read

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")

PERIOD_WORDS = {
    "all": ("All time", "全部"),
    "this_month": ("This month", "本月"),
    "last_month": ("Last month", "上月"),
    "this_quarter": ("This quarter", "本季度"),
    "last_quarter": ("Last quarter", "上季度"),
    "this_year": ("This year", "本年"),
    "last_year": ("Last year", "去年"),
    "last_30_days": ("Last 30 days", "近30天"),
    "last_90_days": ("Last 90 days", "近90天"),
    "custom": ("Custom…", "自定义…"),
}


def period_words(lang: str) -> list[tuple[str, str]]:
    index = 1 if lang.startswith("zh") else 0
    return [(key, PERIOD_WORDS[key][index]) for key in (*PERIODS, "custom")]


def _open(work: Work, name: str) -> DashboardSpec:
    try:
        return dashboards.viewable(work, name)[1]
    except NotFound:
        abort(404)


def charts_of(work: Work, spec: DashboardSpec, args: Any, lang: str) -> tuple[list, dict]:
    """Every chart's ChartResult for the viewer, and the filters as resolved."""
    filters, resolved = filters_from(work, spec, args)
    results = all_results(work, spec.charts, filters, language=lang, drill_url=record_list_url)
    return results, resolved


@bp.get("/")
@login_required
def index() -> Any:
    lang = language()
    with read() as work:
        rows = [
            {
                "name": dashboard.name,
                "title": text_of(spec.title, lang) or dashboard.name,
                "description": text_of(spec.description, lang),
                "charts": len(spec.charts),
                "phone": spec.phone,
            }
            for dashboard, spec in dashboards.visible(work)
        ]
    return render_template("dashboards/index.html", rows=rows)


@bp.get("/<name>")
@login_required
def show(name: str) -> Any:
    lang = language()
    with read() as work:
        spec = _open(work, name)
        try:
            results, resolved = charts_of(work, spec, request.args, lang)
            problem = None
        except FormflowError as error:
            results, resolved, problem = [], {}, error.errors
        departments = _departments(work) if "department" in spec.filters else []
        owners = (
            sorted(people.display_names(work).items(), key=lambda kv: kv[1])
            if "owner" in spec.filters
            else []
        )
    user = current_user()
    return render_template(
        "dashboards/show.html",
        spec=spec,
        title=text_of(spec.title, lang) or spec.name,
        description=text_of(spec.description, lang),
        results=results,
        resolved=resolved,
        problem=problem,
        periods=period_words(lang),
        departments=departments,
        owners=owners,
        may_design=bool(user and user.is_admin),
    )


def _departments(work: Work) -> list[tuple[int, str]]:
    """The department tree as (id, indented name), parents before children."""
    tree = people.department_tree(work)
    out: list[tuple[int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for department in tree.get(parent, []):
            out.append((department.id, "\u3000" * depth + department.name))
            walk(department.id, depth + 1)

    walk(None, 0)
    return out


def _chart_table(name: str, chart_id: str) -> tuple[str, list[list[Any]], int]:
    """The chart's title, its table (a header row, then a row a group: the group's labels,
    then its values) and how many label columns lead each row."""
    lang = language()
    with read() as work:
        spec = _open(work, name)
        chart = spec.chart(chart_id)
        if chart is None:
            abort(404)
        filters, _ = filters_from(work, spec, request.args)
        result = chart_result(work, chart, filters, language=lang)
    if result["error"]:
        abort(422, result["error"])
    header = [d["label"] for d in result["dimensions"]] + [m["label"] for m in result["measures"]]
    rows = [[*(_safe(label) for label in row["labels"]), *row["values"]] for row in result["rows"]]
    table = [[_safe(h) for h in header], *rows]
    return result["title"] or chart_id, table, len(result["dimensions"])


def _safe(cell: Any) -> Any:
    """A label a spreadsheet shows as text (values are numbers and stay numbers)."""
    return neutralise(cell) if isinstance(cell, str) else cell


@bp.get("/<name>/charts/<chart_id>.csv")
@login_required
def chart_csv(name: str, chart_id: str) -> Any:
    _, table, _ = _chart_table(name, chart_id)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Chinese correctly with a byte-order mark
    writer = csv.writer(out)
    for row in table:
        writer.writerow(["" if c is None else c for c in row])
    return _download(out.getvalue().encode("utf-8"), f"{chart_id}.csv", "text/csv; charset=utf-8")


@bp.get("/<name>/charts/<chart_id>.xlsx")
@login_required
def chart_xlsx(name: str, chart_id: str) -> Any:
    from decimal import Decimal, InvalidOperation

    from openpyxl import Workbook

    title, table, labels = _chart_table(name, chart_id)
    book = Workbook()
    sheet = book.active
    sheet.title = (title or chart_id)[:31].translate({ord(c): " " for c in "[]:*?/\\"})
    for index, row in enumerate(table):
        cells = []
        for column, cell in enumerate(row):
            if index and column >= labels and isinstance(cell, str):
                try:
                    cells.append(Decimal(cell))
                    continue
                except InvalidOperation:
                    pass
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return _download(
        out.getvalue(),
        f"{chart_id}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_urls(name: str, chart_id: str, args: Any) -> dict[str, str]:
    kept = {k: v for k, v in args.items()}
    return {
        "csv": url_for("dashboards.chart_csv", name=name, chart_id=chart_id, **kept),
        "xlsx": url_for("dashboards.chart_xlsx", name=name, chart_id=chart_id, **kept),
    }
