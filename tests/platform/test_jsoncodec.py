"""JSON in and out: exact decimals, and numbers kept to what can be stored and written back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from formflow import jsoncodec


def test_fractions_are_exact_decimals_and_small_whole_numbers_ints():
    assert jsoncodec.loads("[0.1, 12, -3, 1.5e-3]") == [Decimal("0.1"), 12, -3, Decimal("0.0015")]
    assert jsoncodec.dumps(jsoncodec.loads("[0.10, 9223372036854775807]")) == (
        "[0.10,9223372036854775807]"
    )


@pytest.mark.parametrize("text", ["9223372036854775808", "-9223372036854775809", "1" + "0" * 40])
def test_a_whole_number_past_64_bits_is_a_decimal_and_writes_back_exactly(text):
    value = jsoncodec.loads(text)
    assert value == Decimal(text) and not isinstance(value, int)
    assert jsoncodec.dumps(value) == text


@pytest.mark.parametrize(
    "text", ["1e999999999", "1e-999999999", "0e-99999", "1e1001", "1" * 1001, "-" + "9" * 1001]
)
def test_a_number_that_would_write_out_as_thousands_of_digits_is_unreadable(text):
    with pytest.raises(ValueError, match="out of range"):
        jsoncodec.loads(f'{{"x": [{text}]}}')


def test_the_largest_numbers_allowed_still_round_trip():
    assert jsoncodec.dumps(jsoncodec.loads("1e1000")) == "1" + "0" * 1000
    assert jsoncodec.loads("1e-1000") == Decimal("1e-1000")


@pytest.mark.parametrize(
    "text",
    ["12.50", "-0.00", "0", "0.000001", "0.0000001", "1E+2", "-1.5E-9", "123456789012.34"],
)
def test_every_decimal_is_written_out_as_plain_digits(text):
    value = Decimal(text)
    assert jsoncodec.dumps([value]) == f"[{value:f}]"
    assert jsoncodec.loads(jsoncodec.dumps(value)) == value


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "Infinity", "sNaN", "NaN123", "-sNaN7"])
def test_nan_and_infinity_are_refused(text):
    with pytest.raises(TypeError):
        jsoncodec.dumps({"x": Decimal(text)})
