"""Coverage-guided fuzzing of the expression language with atheris (libFuzzer), under the
same checks as ``test_expression_fuzz.py``: only ExpressionError, within the time bound,
only the language's values, nothing outside the sandbox. Not part of the test suite; run
it by hand, for as long as you like (atheris is not a test dependency):

    .venv/bin/pip install atheris
    .venv/bin/python -m tests.platform.fuzz.atheris_expressions -max_total_time=300

A crash prints the input and the failed check; libFuzzer saves it as ``crash-…``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["formflow.expressions"]):
    from formflow.expressions import compile_expression

from tests.platform.fuzz.test_expression_fuzz import check

SEEDS = ["ROUND(a * 2, 2)", 'REPT("x", 3) & s', "IF(a > b, SUM(xs), lines.x)", "9^9^9"]


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    if provider.ConsumeBool():
        source = provider.ConsumeUnicodeNoSurrogates(400)
    else:
        # Splice fuzzed text into a known-good expression, so the parser gets past its start.
        base = SEEDS[provider.ConsumeIntInRange(0, len(SEEDS) - 1)]
        cut = provider.ConsumeIntInRange(0, len(base))
        source = base[:cut] + provider.ConsumeUnicodeNoSurrogates(200) + base[cut:]
    check(source)


def main() -> None:
    compile_expression("1")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
