"""Flow definitions in the database: publish a version, read one, find a form's flows.

Publishing checks the definition against its form (:func:`definition.check_flow`) and saves
it as the flow's next version, kept as the exact JSON text published so export gives back
the file; nothing is saved when anything is wrong. Running instances keep the version they
started under.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import jsoncodec
from ..definitions import attached
from ..definitions.service import LoadedForm, get_form, split_name
from ..errors import FieldError, NotFound, ValidationFailed
from ..runtime import Work
from .definition import check_flow
from .models import Flow, FlowVersion


@dataclass(frozen=True)
class FlowSpec:
    """One version of a flow, read: its nodes by id."""

    name: str
    version: int
    form: str
    title: Any
    trigger: str
    nodes: dict[str, dict[str, Any]]

    @property
    def start(self) -> dict[str, Any]:
        return next(node for node in self.nodes.values() if node["type"] == "start")

    def parallel_of(self, join_id: str) -> dict[str, Any]:
        return next(
            n for n in self.nodes.values() if n["type"] == "parallel" and n["join"] == join_id
        )


def publish(work: Work, definition: Any, *, note: str | None = None) -> Flow:
    """Publish ``definition`` as the next version of the flow it names (created if new)."""
    if not isinstance(definition, dict):
        raise ValidationFailed([FieldError("", "a flow definition must be a JSON object")])
    loaded: LoadedForm | None = None
    form_name = definition.get("form")
    if isinstance(form_name, str):
        try:
            loaded = get_form(work, form_name)
        except NotFound:
            raise ValidationFailed(
                [FieldError("/form", f"no form named '{form_name}'", "unknown_form")]
            ) from None
    problems = check_flow(
        definition,
        loaded.spec if loaded is not None else None,
        form_exists=lambda name: _exists(work, name),
        spec_of=lambda name: _spec_or_none(work, name),
    )
    if problems:
        raise ValidationFailed(problems)
    assert loaded is not None
    name = definition["name"]
    flow = work.session.scalar(select(Flow).where(Flow.name == name))
    title = definition.get("title", name)
    if flow is None:
        flow = Flow(
            name=name, form_id=loaded.form.id, title="", trigger="submit", current_version=0
        )
        work.session.add(flow)
    elif flow.form_id != loaded.form.id:
        raise ValidationFailed(
            [FieldError("/form", f"flow '{name}' belongs to another form", "form_changed")]
        )
    flow.title = title if isinstance(title, str) else next(iter(title.values()), name)
    flow.trigger = definition.get("trigger", "submit")
    flow.current_version += 1
    work.session.flush()
    work.session.add(
        FlowVersion(
            flow_id=flow.id,
            version=flow.current_version,
            definition=jsoncodec.dumps_pretty(definition),
            note=note,
            created_at=work.now,
            created_by=work.actor_id,
        )
    )
    work.session.flush()
    return flow


def get_flow(work: Work, name: str) -> Flow:
    flow = work.session.scalar(select(Flow).where(Flow.name == name))
    if flow is None:
        raise NotFound(f"no flow named '{name}'")
    return flow


def all_flows(work: Work) -> list[Flow]:
    return list(work.session.scalars(select(Flow).order_by(Flow.name)))


_SUBMIT_FLOWS = attached.statement(
    Flow.__table__,
    (Flow.current_version > 0) & (Flow.trigger == "submit"),
    Flow.name,
)


def submit_flows(work: Work, loaded: LoadedForm) -> tuple[str, ...]:
    """Names of the flows a submit of the form starts (wanted on every record created, so
    read once per change of the form's setup)."""
    return attached.read(
        work, loaded, "submit_flows", _SUBMIT_FLOWS, lambda rows: tuple(r[0] for r in rows)
    )


def definition_text(work: Work, flow: Flow, version: int | None = None) -> str:
    """The exact JSON text of a version (the current one by default)."""
    version = flow.current_version if version is None else version
    text = work.session.scalar(
        select(FlowVersion.definition).where(
            FlowVersion.flow_id == flow.id, FlowVersion.version == version
        )
    )
    if text is None:
        raise NotFound(f"flow '{flow.name}' has no version {version}")
    return text


def spec(work: Work, flow: Flow, version: int) -> FlowSpec:
    """The flow as it was at ``version`` (read once per process: versions never change)."""
    return _parsed(flow.id, version, definition_text(work, flow, version))


@functools.lru_cache(maxsize=256)
def _parsed(flow_id: int, version: int, text: str) -> FlowSpec:
    document = jsoncodec.loads(text)
    return FlowSpec(
        name=document["name"],
        version=version,
        form=document["form"],
        title=document.get("title", document["name"]),
        trigger=document.get("trigger", "submit"),
        nodes={node["id"]: node for node in document["nodes"]},
    )


def _exists(work: Work, name: str) -> bool:
    try:
        split_name(name)
        get_form(work, name)
    except NotFound:
        return False
    return True


def _spec_or_none(work: Work, name: str) -> Any:
    try:
        return get_form(work, name).spec
    except NotFound:
        return None
