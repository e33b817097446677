"""TEXT's format codes (formflow.expressions.formatting)."""

from __future__ import annotations

import datetime

import pytest

from .helpers import D, fails, run


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        ("1234.567", "0", "1235"),
        ("1234.567", "0.00", "1234.57"),
        ("2.5", "0", "3"),
        ("-2.5", "0", "-3"),
        ("1234567.891", "#,##0", "1,234,568"),
        ("1234567.891", "#,##0.00", "1,234,567.89"),
        ("-1234.5", "#,##0.00", "-1,234.50"),
        ("0.256", "0%", "26%"),
        ("0.256", "0.0%", "25.6%"),
        ("0", "0.00", "0.00"),
        ("-0.001", "0.00", "0.00"),
        ("7", "000", "007"),
        ("1.5", "#.##", "1.5"),
        ("1234.5", "¥#,##0.00", "¥1,234.50"),
        ("1234.5", "#,##0元", "1,235元"),
        ("1e20", "#,##0", "100,000,000,000,000,000,000"),
        ("1e40", "0.00", "10000000000000000000000000000000000000000.00"),
    ],
)
def test_text_number_formats(value, code, expected):
    assert run(f'TEXT(v, "{code}")', {"v": D(value)}) == expected


def test_text_date_formats():
    scope = {
        "d": datetime.date(2024, 3, 5),
        "t": datetime.datetime(2024, 3, 4, 17, 7, tzinfo=datetime.UTC),  # 01:07 next day
    }
    assert run('TEXT(d, "yyyy-mm-dd")', scope) == "2024-03-05"
    assert run('TEXT(d, "yyyy/mm/dd")', scope) == "2024/03/05"
    assert run('TEXT(d, "yyyy年m月d日")', scope) == "2024年3月5日"
    assert run('TEXT(t, "yyyy-mm-dd hh:mm")', scope) == "2024-03-05 01:07"
    assert run('TEXT(t, "hh:mm:ss")', scope) == "01:07:00"
    assert run('TEXT(d, "yy-m-d")', scope) == "24-3-5"
    assert run('TEXT(d, "dddd, mmmm d")', scope) == "Tuesday, March 5"
    assert run('TEXT(d, "yyyy-mm-dd hh:mm")', scope) == "2024-03-05 00:00"


def test_text_of_text_passes_through_and_blank_date_is_empty():
    assert run('TEXT("abc", "0.00")') == "abc"
    assert run('TEXT(x, "yyyy-mm-dd")', {"x": None}) == ""
    assert run('TEXT(x, "0.00")', {"x": None}) == "0.00"
    assert run('TEXT(TRUE, "0")') == "TRUE"


@pytest.mark.parametrize("code", ["General", "qqq", "0.0" + "0" * 40])
def test_text_rejects_formats_it_does_not_understand(code):
    assert "#VALUE!" in fails(f'TEXT(1, "{code}")').message


def test_text_number_format_on_a_date_is_an_error():
    assert "#VALUE!" in fails('TEXT(d, "0.00")', {"d": datetime.date(2024, 1, 1)}).message


def test_text_date_conversion_uses_the_context_zone():
    scope = {"t": datetime.datetime(2024, 3, 4, 16, 30, tzinfo=datetime.UTC)}
    assert run('TEXT(t, "yyyy-mm-dd")', scope) == "2024-03-05"


def test_text_chinese_time_literals_keep_minutes_apart_from_months():
    scope = {"t": datetime.datetime(2024, 3, 5, 9, 7)}
    assert run('TEXT(t, "hh时mm分")', scope) == "09时07分"
    assert run('TEXT(t, "yyyy年mm月dd日")', scope) == "2024年03月05日"


def test_text_rejects_overlong_format_codes():
    assert "at most 255" in fails('TEXT(1, REPT("0", 300))').message
