"""Dashboard definitions parsed into specs: every refusal names where it is."""

from __future__ import annotations

import pytest

from formflow.dashboards.definition import parse
from formflow.errors import ValidationFailed


@pytest.mark.parametrize("document", [None, [], "board", {}, {"charts": []}])
def test_a_problem_with_the_whole_document_is_named_by_the_empty_path(document):
    """Found by the definition fuzzer: these came with no path at all (``field`` None),
    where form and flow definitions name the whole document ``""``."""
    with pytest.raises(ValidationFailed) as refused:
        parse(document)
    assert refused.value.errors
    assert all(isinstance(error.field, str) for error in refused.value.errors)
