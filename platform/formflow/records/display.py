"""Showing stored values to people: names for ids, titles for linked records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..definitions import conversions
from ..definitions.service import get_form, target_form_id
from ..definitions.spec import FieldSpec
from ..errors import NotFound
from ..fields import DisplayContext
from ..people.models import Department, User
from ..runtime import Work
from .models import Record


class WorkDisplay(DisplayContext):
    """Looks names up in the unit of work's database, each id once."""

    def __init__(self, work: Work, language: str, app: str = "") -> None:
        self.work = work
        self.language = language
        self.app = app
        self._users: dict[int, str] = {}
        self._departments: dict[int, str] = {}
        self._titles: dict[tuple[str, int], str] = {}

    def user_name(self, user_id: int) -> str:
        if user_id not in self._users:
            name = self.work.session.scalar(select(User.display_name).where(User.id == user_id))
            self._users[user_id] = name or f"#{user_id}"
        return self._users[user_id]

    def department_name(self, department_id: int) -> str:
        if department_id not in self._departments:
            name = self.work.session.scalar(
                select(Department.name).where(Department.id == department_id)
            )
            self._departments[department_id] = name or f"#{department_id}"
        return self._departments[department_id]

    def record_title(self, form: str, record_id: int) -> str:
        key = (form, record_id)
        if key not in self._titles:
            self._titles[key] = self._title(form, record_id)
        return self._titles[key]

    def _title(self, form: str, record_id: int) -> str:
        name = form if "." in form else f"{self.app}.{form}"
        try:
            loaded = get_form(self.work, name)
        except NotFound:
            return f"#{record_id}"
        record = self.work.session.get(Record, record_id)
        title_field = loaded.spec.title_field
        if record is None or title_field is None:
            return f"#{record_id}"
        conversions.read_record(self.work, record)
        value = record.data.get(title_field.id)
        return f"{value}" if value not in (None, "") else f"#{record_id}"

    def show(self, field: FieldSpec, stored: Any) -> str:
        if stored is None:
            return ""
        return field.type.display(stored, field, self)


def relation_target(work: Work, field: FieldSpec) -> int | None:
    return target_form_id(work, field.form.app, field.type.target(field))  # type: ignore[attr-defined]
