"""Date functions: the clock from the context, zone conversion, DATEDIF and friends."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from formflow.expressions import EvalContext

from ..helpers import CONTEXT, D, fails, run

UTC = datetime.UTC
date = datetime.date


def test_today_and_now_come_from_the_context():
    assert run("TODAY()") == date(2024, 3, 15)
    assert run("NOW()") == CONTEXT.now


def test_today_without_a_context_reads_the_clock_in_shanghai():
    from formflow.expressions import compile_expression

    expected = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert compile_expression("TODAY()").evaluate({}) in (
        expected,
        expected + datetime.timedelta(1),
    )


def test_date_builds_dates_and_rolls_over_like_excel():
    assert run("DATE(2024, 2, 29)") == date(2024, 2, 29)
    assert run("DATE(2024, 1, 32)") == date(2024, 2, 1)
    assert run("DATE(2024, 13, 1)") == date(2025, 1, 1)
    assert run("DATE(2024, 0, 1)") == date(2023, 12, 1)
    assert run("DATE(2024, 3, 0)") == date(2024, 2, 29)
    assert run("DATE(2024, -1, 1)") == date(2023, 11, 1)


@pytest.mark.parametrize(
    "source", ["DATE(0, 1, 1)", "DATE(10000, 1, 1)", "DATE(9999, 12, 32)", "DATE(2024, 1, 1e20)"]
)
def test_date_out_of_range_is_num_error(source):
    assert "#NUM!" in fails(source).message


def test_year_month_day():
    scope = {"d": date(2024, 3, 5)}
    assert (run("YEAR(d)", scope), run("MONTH(d)", scope), run("DAY(d)", scope)) == (2024, 3, 5)


def test_date_parts_of_a_datetime_use_the_context_zone():
    scope = {"t": datetime.datetime(2024, 12, 31, 16, 30, tzinfo=UTC)}  # 00:30 on 1 Jan
    assert run("YEAR(t)", scope) == 2025
    assert run("DAY(t)", scope) == 1
    assert run("HOUR(t)", scope) == 0
    assert run("MINUTE(t)", scope) == 30


def test_context_timezone_changes_the_day_of_an_instant():
    new_york = EvalContext(CONTEXT.today, CONTEXT.now, ZoneInfo("America/New_York"))
    scope = {"t": datetime.datetime(2024, 1, 1, 2, 0, tzinfo=UTC)}
    assert run("DAY(t)", scope, new_york) == 31


def test_hour_of_a_date_is_zero():
    assert run("HOUR(d)", {"d": date(2024, 1, 1)}) == 0


def test_date_functions_accept_iso_text():
    assert run('YEAR("2024-03-05")') == 2024
    assert run('MONTH("2024/3/5")') == 3
    assert run('DAY("2024年3月5日")') == 5
    assert run('HOUR("2024-03-05T10:20:00+08:00")') == 10
    assert run('HOUR("2024-03-05T02:20:00Z")') == 10


def test_date_functions_of_blank_are_blank():
    scope = {"d": None}
    for source in [
        "YEAR(d)",
        "WEEKDAY(d)",
        "EDATE(d, 1)",
        'DATEDIF(d, TODAY(), "D")',
        "DAYS(d, d)",
    ]:
        assert run(source, scope) is None
    assert run("YEAR(d) = 2024", scope) is False


def test_date_functions_reject_numbers_and_other_text():
    assert "expected a date" in fails("YEAR(45000)").message
    assert "expected a date" in fails('YEAR("soon")').message
    assert "expected a date" in fails('YEAR("2024-02-30")').message


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("", 6), (", 1", 6), (", 2", 5), (", 3", 4), (", 11", 5), (", 17", 6)],
)
def test_weekday_return_types(kind, expected):
    # 15 March 2024 is a Friday.
    assert run(f"WEEKDAY(TODAY(){kind})") == expected


def test_weekday_of_sunday():
    assert run("WEEKDAY(DATE(2024, 3, 17))") == 1
    assert run("WEEKDAY(DATE(2024, 3, 17), 2)") == 7


def test_weekday_rejects_unknown_return_types():
    assert "#NUM!" in fails("WEEKDAY(TODAY(), 4)").message


@pytest.mark.parametrize(
    ("day", "kind", "expected"),
    [
        (date(2024, 1, 1), 1, 1),  # a Monday
        (date(2024, 1, 6), 1, 1),  # Saturday, same Sunday-started week
        (date(2024, 1, 7), 1, 2),  # Sunday starts week 2
        (date(2024, 1, 7), 2, 1),  # ... but not when weeks start on Monday
        (date(2024, 1, 8), 2, 2),
        (date(2023, 1, 1), 1, 1),
        (date(2023, 1, 1), 2, 1),
        (date(2023, 1, 2), 2, 2),
        (date(2024, 12, 31), 1, 53),
        (date(2021, 1, 1), 21, 53),  # ISO: belongs to 2020's week 53
    ],
)
def test_weeknum(day, kind, expected):
    assert run(f"WEEKNUM(d, {kind})", {"d": day}) == expected


def test_isoweeknum():
    assert run("ISOWEEKNUM(d)", {"d": date(2021, 1, 3)}) == 53
    assert run("ISOWEEKNUM(d)", {"d": date(2021, 1, 4)}) == 1


@pytest.mark.parametrize(
    ("start", "end", "unit", "expected"),
    [
        (date(2020, 1, 15), date(2024, 1, 14), "Y", 3),
        (date(2020, 1, 15), date(2024, 1, 15), "Y", 4),
        (date(2024, 1, 31), date(2024, 2, 29), "M", 0),
        (date(2024, 1, 31), date(2024, 3, 31), "M", 2),
        (date(2024, 1, 15), date(2024, 3, 14), "M", 1),
        (date(2024, 1, 1), date(2024, 12, 31), "D", 365),
        (date(2024, 1, 1), date(2024, 1, 1), "D", 0),
        (date(2024, 1, 15), date(2024, 3, 20), "MD", 5),
        (date(2024, 1, 20), date(2024, 3, 15), "MD", 24),
        (date(2024, 1, 31), date(2024, 3, 1), "MD", 1),
        (date(2020, 1, 15), date(2024, 3, 14), "YM", 1),
        (date(2020, 5, 15), date(2024, 3, 14), "YM", 9),
        (date(2020, 1, 15), date(2024, 3, 14), "YD", 59),
        (date(2020, 5, 15), date(2024, 3, 14), "YD", 304),
        (date(2020, 2, 29), date(2023, 3, 1), "YD", 0),
        (date(2020, 2, 29), date(2023, 2, 28), "YD", 364),
        (date(2020, 2, 29), date(2024, 2, 29), "Y", 4),
    ],
)
def test_datedif(start, end, unit, expected):
    assert run(f'DATEDIF(a, b, "{unit}")', {"a": start, "b": end}) == expected


def test_datedif_unit_is_case_insensitive():
    assert run('DATEDIF(DATE(2020,1,1), DATE(2021,1,1), "y")') == 1


def test_datedif_start_after_end_is_num_error():
    assert "#NUM!" in fails('DATEDIF(DATE(2024,2,1), DATE(2024,1,1), "D")').message


def test_datedif_unknown_unit_is_num_error():
    assert "#NUM!" in fails('DATEDIF(DATE(2024,1,1), DATE(2024,2,1), "W")').message


def test_datedif_of_datetimes_uses_their_local_dates():
    scope = {
        "a": datetime.datetime(2024, 1, 1, 23, 0, tzinfo=UTC),  # 2 Jan in Shanghai
        "b": datetime.datetime(2024, 1, 3, 1, 0, tzinfo=UTC),
    }
    assert run('DATEDIF(a, b, "D")', scope) == 1


def test_days():
    assert run("DAYS(DATE(2024,3,1), DATE(2024,2,1))") == 29
    assert run("DAYS(DATE(2024,2,1), DATE(2024,3,1))") == -29
    assert run('DAYS("2024-03-01", "2024-02-01")') == 29


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 1, 31), -2, date(2023, 11, 30)),
        (date(2024, 3, 15), 12, date(2025, 3, 15)),
        (date(2024, 3, 15), 0, date(2024, 3, 15)),
        (date(2024, 3, 15), D("1.9"), date(2024, 4, 15)),
    ],
)
def test_edate(start, months, expected):
    assert run("EDATE(d, m)", {"d": start, "m": months}) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 15), 0, date(2024, 1, 31)),
        (date(2024, 1, 15), 1, date(2024, 2, 29)),
        (date(2023, 1, 15), 1, date(2023, 2, 28)),
        (date(2024, 1, 15), -1, date(2023, 12, 31)),
    ],
)
def test_eomonth(start, months, expected):
    assert run("EOMONTH(d, m)", {"d": start, "m": months}) == expected


def test_edate_out_of_range_is_num_error():
    assert "#NUM!" in fails("EDATE(DATE(9999, 12, 1), 1)").message
    assert "#NUM!" in fails("EOMONTH(DATE(2024, 1, 1), 1e20)").message


def test_datevalue():
    assert run('DATEVALUE("2024-03-05")') == date(2024, 3, 5)
    assert run('DATEVALUE(" 2024/3/5 ")') == date(2024, 3, 5)
    assert run('DATEVALUE("2024年3月5日")') == date(2024, 3, 5)
    assert run('DATEVALUE("2024-03-04T20:00:00Z")') == date(2024, 3, 5)
    assert "#VALUE!" in fails('DATEVALUE("next week")').message
