"""What a chart shows for a group's key: a person's name for a member id, a department's
name, a linked record's title, an option's label; each kind looked up in one query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ..definitions.spec import FieldSpec
from ..fields.choices import option_label
from ..people.models import Department
from ..people.service import display_names
from ..records.display import WorkDisplay
from ..runtime import Work

EMPTY = {"en": "(empty)", "zh-CN": "(空)"}


def empty_label(language: str) -> str:
    return EMPTY["zh-CN"] if language.startswith("zh") else EMPTY["en"]


def department_names(work: Work, ids: set[int]) -> dict[int, str]:
    rows = work.session.execute(
        select(Department.id, Department.name).where(Department.id.in_(sorted(ids) or [-1]))
    )
    return {row.id: row.name for row in rows}


def labels_for(
    work: Work, kind: str, field: FieldSpec | None, keys: Iterable[Any], language: str
) -> dict[Any, str]:
    """Key → label for every key of one dimension."""
    keys = set(keys)
    present = {k for k in keys if k is not None}
    out: dict[Any, str] = {None: empty_label(language)} if None in keys else {}
    if kind == "user":
        names = display_names(work, {int(k) for k in present})
        out.update({k: names.get(int(k), f"#{k}") for k in present})
    elif kind == "department":
        names = department_names(work, {int(k) for k in present})
        out.update({k: names.get(int(k), f"#{k}") for k in present})
    elif kind == "option" and field is not None:
        out.update({k: option_label(field, str(k), language) for k in present})
    elif kind == "record" and field is not None:
        display = WorkDisplay(work, language, field.form.app)
        target = field.type.target(field)  # type: ignore[attr-defined]
        out.update({k: display.record_title(target, int(k)) for k in present})
    elif kind == "value" and field is not None:
        display = WorkDisplay(work, language, field.form.app)
        out.update({k: field.type.display(k, field, display) or str(k) for k in present})
    else:
        out.update({k: str(k) for k in present})
    return out


def option_order(field: FieldSpec | None) -> dict[Any, int]:
    """A select field's options in the order the form lists them (a funnel's stages)."""
    if field is None:
        return {}
    values = field.schema.get("enum") or [o.get("value") for o in field.schema.get("x-options", ())]
    return {value: i for i, value in enumerate(values)}
