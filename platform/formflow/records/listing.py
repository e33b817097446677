"""Browsing a form's records as the acting user may: their rows, their fields.

The one listing path behind the API's list and search, the web list, exports and relation
pickers: the user's row scope is part of the SQL, fields hidden from them cannot be
filtered, sorted or searched on (or a filter would reveal them row by row), and each
returned record comes with the fields to leave out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..definitions.service import LoadedForm
from ..errors import Forbidden
from ..permissions.models import Action
from ..permissions.policy import policy_for
from ..runtime import Work
from .models import RecordRow
from .query import Query, count_records, list_records
from .service import hidden_fields


@dataclass
class Listing:
    records: list[RecordRow]
    next_cursor: str | None
    hidden: dict[int, set[str]] = field(default_factory=dict)
    total: int | None = None


def browse(
    work: Work,
    loaded: LoadedForm,
    query: Query,
    *,
    action: Action = Action.VIEW,
    total: bool = False,
) -> Listing:
    """One page of the records the acting user may ``action`` (the recycle bin needs
    ``manage``), with the fields hidden from them per record."""
    policy = policy_for(work, loaded)
    if query.deleted:
        action = Action.MANAGE
    if not policy.allows(action):
        raise Forbidden(f"you may not {action.value} the records of this form")
    query = replace(query, forbidden=frozenset(policy.hidden_anywhere()))
    scope = policy.rows(action, work.dialect)
    page = list_records(work, loaded.spec, loaded.form.id, query, scope)
    listing = Listing(page.records, page.next_cursor)
    listing.hidden = hidden_fields(work, loaded, [r.id for r in page.records], action)
    if total:
        listing.total = count_records(work, loaded.form.id, query, loaded.spec, scope)
    return listing
