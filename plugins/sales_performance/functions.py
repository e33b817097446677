"""What the sales plugin's automations call (``workflows/sales_performance/*.json``): the
rules a definition cannot say — pricing a quotation from its products, keeping a customer's
last and next follow-up, grading customers by the rules admins keep as records, flagging
customers nobody followed up, an opportunity's stage history.

Every function finds fields by their stable keys. When an admin removed or renamed one it
needs, it fails with a message that names the form and the field — shown in the
automation's run log — instead of writing something wrong.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from formflow.automations.functions import Call
from formflow.definitions.service import LoadedForm, get_form
from formflow.notifications.service import notify
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from formflow.records.projection import field_sql
from formflow.runtime import Work

APP = "sales_performance"
#: Used until an admin adds grading rules of their own (they are records of the
#: ``grading_rule`` form, created from these on first use so they can be edited).
DEFAULT_RULES = [
    {"order": 1, "grade": "A", "min_potential": "1000000", "min_deal_amount_12m": "500000"},
    {"order": 2, "grade": "B", "min_potential": "300000", "min_deal_amount_12m": "100000"},
    {"order": 3, "grade": "C", "min_potential": "50000", "min_deal_amount_12m": "0"},
]
LOWEST_GRADE = "D"


class MissingField(LookupError):
    """A field the plugin needs is gone from a form (an admin removed or renamed it)."""


def form(work: Work, local: str, *keys: str, purpose: str) -> LoadedForm:
    """The plugin's form ``local``, checked to still have ``keys``."""
    loaded = get_form(work, f"{APP}.{local}")
    missing = [key for key in keys if key not in loaded.spec.by_key]
    if missing:
        names = ", ".join(f"'{key}'" for key in missing)
        raise MissingField(
            f"form '{loaded.name}' has no field {names} any more (removed or renamed in the "
            f"form builder?); the sales plugin needs it to {purpose}. Restore the field, or "
            "turn this automation off."
        )
    return loaded


def values(work: Work, loaded: LoadedForm, record_id: int) -> dict[str, Any]:
    record = work.session.get(Record, record_id)
    if record is None or record.deleted_at is not None or record.form_id != loaded.form.id:
        raise LookupError(f"{loaded.name} #{record_id} does not exist (any more)")
    return dict(from_document(loaded.spec, record.data))


def _when(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def local_today(work: Work) -> dt.date:
    """Today in the organisation's time zone (a contract signed at 07:00 in Shanghai is
    today's, though it is still yesterday in UTC)."""
    from zoneinfo import ZoneInfo

    return work.now.astimezone(ZoneInfo(work.config.timezone)).date()


def period_argument(work: Work, call: Call) -> str:
    """The period a scheduled run is for: its ``period`` argument, else the ``period_kind``
    (default month) that just ended, in the organisation's time zone."""
    from .periods import Period

    key = call.arguments.get("period")
    if key:
        return str(key)
    kind = str(call.arguments.get("period_kind", "month"))
    return Period.containing(kind, local_today(work)).previous().key


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


# -- quotations ------------------------------------------------------------------------------


def price_quotation(work: Work, call: Call) -> dict[str, Any]:
    """Copy each line's product list and minimum price onto the line (the formulas then
    give the effective discount and the lines below minimum) and mark it in approval."""
    quotation = form(
        work, "quotation", "lines", "status", purpose="price a quotation from its products"
    )
    product = form(work, "product", "list_price", "min_price", purpose="price quotation lines")
    lines = quotation.spec.by_key["lines"]
    needed = {"product", "list_price", "min_price"} - {c.key for c in lines.children}
    if needed:
        raise MissingField(
            f"the lines of form '{quotation.name}' have no "
            + ", ".join(f"'{k}'" for k in sorted(needed))
            + " any more; the sales plugin needs them to price a quotation"
        )
    assert call.record_id is not None
    current = values(work, quotation, call.record_id)
    priced = []
    for row in current.get("lines") or []:
        found = values(work, product, int(row["product"])) if row.get("product") else {}
        priced.append(
            {**row, "list_price": found.get("list_price"), "min_price": found.get("min_price")}
        )
    records.change_as_step(
        work, quotation, call.record_id, {"lines": priced, "status": "in_approval"}, None
    )
    after = values(work, quotation, call.record_id)
    return {
        "lines": len(priced),
        "effective_discount": after.get("effective_discount"),
        "lines_below_min": after.get("lines_below_min"),
        "total": after.get("total"),
    }


def quotation_locked(work: Work, loaded: LoadedForm, record: Any, action: str) -> None:
    """A records guard: an approved quotation is not changed or deleted, except by an
    admin (what was approved is what goes to the customer)."""
    from formflow.errors import Forbidden

    if loaded.name != f"{APP}.quotation" or "status" not in loaded.spec.by_key:
        return
    if work.actor is None or work.actor.is_admin:
        return
    status = loaded.spec.by_key["status"]
    if record.data.get(status.id) == "approved":
        raise Forbidden(
            f"quotation #{record.id} is approved: it is locked (an admin may still change it)"
        )


# -- follow-ups ------------------------------------------------------------------------------


def follow_up_saved(work: Work, call: Call) -> dict[str, Any]:
    """A follow-up moves its customer's last follow-up to it (unless a later one exists)
    and its next follow-up to what it plans; a prospect becomes one being followed up."""
    follow_up = form(
        work,
        "follow_up",
        "customer",
        "visited_at",
        "next_follow_up_at",
        purpose="update the customer a follow-up belongs to",
    )
    customer = form(
        work,
        "customer",
        "last_follow_up_at",
        "next_follow_up_at",
        purpose="keep a customer's last and next follow-up",
    )
    assert call.record_id is not None
    saved = values(work, follow_up, call.record_id)
    if not saved.get("customer"):
        return {"customer": None}
    customer_id = int(saved["customer"])
    current = values(work, customer, customer_id)
    visited = _when(saved.get("visited_at"))
    last = _when(current.get("last_follow_up_at"))
    on_time = _on_time(work, visited, _when(current.get("next_follow_up_at")))
    if on_time is not None and "on_time" in follow_up.spec.by_key:
        records.change_as_step(work, follow_up, call.record_id, {"on_time": on_time}, None)
    if visited is not None and last is not None and visited < last:
        return {"customer": customer_id, "updated": False, "why": "a later follow-up exists"}
    data: dict[str, Any] = {
        "last_follow_up_at": saved.get("visited_at"),
        "next_follow_up_at": saved.get("next_follow_up_at"),
    }
    if "stale" in customer.spec.by_key:
        data["stale"] = False
    if "status" in customer.spec.by_key and current.get("status") == "prospect":
        data["status"] = "following"
    _, changes = records.change_as_step(work, customer, customer_id, data, None)
    return {"customer": customer_id, "updated": sorted(changes)}


def _on_time(work: Work, visited: dt.datetime | None, planned: dt.datetime | None) -> bool | None:
    """A follow-up is on time when it came on or before the day the customer's next
    follow-up was planned for (in the organisation's time zone), or nothing was planned."""
    if visited is None:
        return None
    if planned is None:
        return True
    zone = get_form(work, f"{APP}.follow_up").spec.timezone
    return visited.astimezone(zone).date() <= planned.astimezone(zone).date()


def sync_contacts(work: Work, call: Call) -> dict[str, Any]:
    """A customer's contacts field lists its live contacts: kept when a contact is added,
    moved to another customer (both are updated) or deleted."""
    from formflow.records.query import Filter, filter_clause, form_rows

    contact = form(work, "contact", "customer", purpose="keep customers' contact lists")
    customer = form(work, "customer", "contacts", purpose="keep customers' contact lists")
    assert call.record_id is not None
    touched = {int(call.values["customer"])} if call.values.get("customer") else set()
    holding = filter_clause(customer.spec, Filter("contacts", "in", [call.record_id]), work.dialect)
    touched |= set(
        work.session.scalars(select(Record.id).where(*form_rows(customer.form.id), holding))
    )
    link = field_sql(contact.spec.by_key["customer"], work.dialect)
    updated = {}
    for customer_id in sorted(touched):
        ids = list(
            work.session.scalars(
                select(Record.id)
                .where(*form_rows(contact.form.id), link == customer_id)
                .order_by(Record.id)
            )
        )
        records.change_as_step(work, customer, customer_id, {"contacts": ids or None}, None)
        updated[str(customer_id)] = ids
    return {"customers": updated}


def flag_stale_customers(work: Work, call: Call) -> dict[str, Any]:
    """Flag the customers with no follow-up in ``days`` days (clear the flag of the others)
    and tell each owner how many of theirs are flagged."""
    customer = form(
        work,
        "customer",
        "last_follow_up_at",
        "stale",
        "owner",
        purpose="flag customers not followed up",
    )
    days = int(call.arguments.get("days", 30))
    cutoff = work.now - dt.timedelta(days=days)
    flagged: dict[int, int] = {}
    changed = 0
    for record_id, data, created_at in work.session.execute(
        select(Record.id, Record.data, Record.created_at).where(
            Record.form_id == customer.form.id, Record.deleted_at.is_(None)
        )
    ):
        current = from_document(customer.spec, data)
        if current.get("status") == "lost":
            continue
        last = _when(current.get("last_follow_up_at")) or created_at
        stale = last < cutoff
        if stale and current.get("owner"):
            flagged[int(current["owner"])] = flagged.get(int(current["owner"]), 0) + 1
        if bool(current.get("stale")) != stale:
            records.change_as_step(work, customer, record_id, {"stale": stale}, None)
            changed += 1
    from formflow.flows import approvers

    by_manager: dict[int, int] = {}
    for owner, count in flagged.items():
        notify(
            work,
            owner,
            f"{count} 个客户超过 {days} 天未跟进 · {count} customers not followed up "
            f"in {days} days",
            None,
            f"/f/{customer.name}/",
        )
        for manager in approvers.resolve(work, [{"manager": 1}], owner, {}):
            if manager != owner:
                by_manager[manager] = by_manager.get(manager, 0) + count
    for manager, count in by_manager.items():
        notify(
            work,
            manager,
            f"团队有 {count} 个客户超过 {days} 天未跟进 · {count} of your team's customers "
            f"not followed up in {days} days",
            None,
            f"/f/{customer.name}/",
        )
    return {
        "flagged": sum(flagged.values()),
        "changed": changed,
        "owners": len(flagged),
        "managers": len(by_manager),
    }


def refresh_overdue(work: Work, call: Call) -> dict[str, Any]:
    """Nightly: a payment's ``overdue`` formula reads TODAY(), so it is recomputed for the
    unpaid payments whose planned date has passed (a record's formulas are computed when
    it is written)."""
    payment = form(
        work, "payment", "planned_on", "received_on", "overdue", purpose="flag overdue payments"
    )
    today = local_today(work)
    refreshed = 0
    for record_id, data in work.session.execute(
        select(Record.id, Record.data).where(
            Record.form_id == payment.form.id, Record.deleted_at.is_(None)
        )
    ):
        row = from_document(payment.spec, data)
        planned = row.get("planned_on")
        due = bool(planned) and not row.get("received_on") and str(planned)[:10] < str(today)
        if due != (str(row.get("overdue")) == "1"):
            _, changes = records.change_as_step(work, payment, record_id, {}, None)
            refreshed += bool(changes)
    return {"refreshed": refreshed}


# -- grading ---------------------------------------------------------------------------------


def grading_rules(work: Work) -> list[dict[str, Any]]:
    """The rules in order (created from :data:`DEFAULT_RULES` when there are none)."""
    rules = form(
        work,
        "grading_rule",
        "order",
        "grade",
        "min_potential",
        "min_deal_amount_12m",
        purpose="grade customers",
    )
    rows = work.session.execute(
        select(Record.data).where(Record.form_id == rules.form.id, Record.deleted_at.is_(None))
    ).all()
    found = [dict(from_document(rules.spec, data)) for (data,) in rows]
    if not found:
        for rule in DEFAULT_RULES:
            records.create_as_step(work, rules, dict(rule))
        found = [dict(rule) for rule in DEFAULT_RULES]
    return sorted(found, key=lambda rule: int(rule.get("order") or 0))


def grade_of(rules: list[dict[str, Any]], potential: Any, deal_amount: Any) -> str:
    """The grade of the first rule whose thresholds are all met (both at least)."""
    potential, deal_amount = _money(potential), _money(deal_amount)
    for rule in rules:
        if potential >= _money(rule.get("min_potential")) and deal_amount >= _money(
            rule.get("min_deal_amount_12m")
        ):
            return str(rule["grade"])
    return LOWEST_GRADE


def regrade_customer(work: Work, call: Call) -> dict[str, Any]:
    customer = form(
        work, "customer", "potential", "deal_amount_12m", "grade", purpose="grade a customer"
    )
    assert call.record_id is not None
    return regrade(work, customer, call.record_id, grading_rules(work), None)


def contract_signed(work: Work, call: Call) -> dict[str, Any]:
    """A contract changes its customer's last-12-months amount, and so perhaps its grade."""
    contract = form(work, "contract", "customer", purpose="credit a contract to its customer")
    customer = form(
        work, "customer", "potential", "deal_amount_12m", "grade", purpose="grade a customer"
    )
    assert call.record_id is not None
    signed = values(work, contract, call.record_id)
    if not signed.get("customer"):
        return {"customer": None}
    customer_id = int(signed["customer"])
    amounts = signed_amounts(work, local_today(work))
    return regrade(
        work, customer, customer_id, grading_rules(work), amounts.get(customer_id, Decimal(0))
    )


def signed_amounts(
    work: Work, today: dt.date, *, customers: list[int] | None = None
) -> dict[int, Decimal]:
    """Contract amounts signed in the 12 months up to ``today``, by customer (only
    ``customers``' contracts when given: a batch of the nightly regrading)."""
    contract = form(
        work, "contract", "customer", "amount", "signed_on", purpose="sum signed contracts"
    )
    since = (
        today.replace(year=today.year - 1)
        if not (today.month == 2 and today.day == 29)
        else (today - dt.timedelta(days=365))
    )
    query = select(Record.data).where(
        Record.form_id == contract.form.id, Record.deleted_at.is_(None)
    )
    if customers is not None:
        query = query.where(
            field_sql(contract.spec.by_key["customer"], work.dialect).in_(customers)
        )
    out: dict[int, Decimal] = {}
    for (data,) in work.session.execute(query):
        row = from_document(contract.spec, data)
        signed_on = row.get("signed_on")
        if not row.get("customer") or not signed_on:
            continue
        if since < dt.date.fromisoformat(str(signed_on)[:10]) <= today:
            key = int(row["customer"])
            out[key] = out.get(key, Decimal(0)) + _money(row.get("amount"))
    return out


def regrade(
    work: Work,
    customer: LoadedForm,
    customer_id: int,
    rules: list[dict[str, Any]],
    deal_amount: Decimal | None,
) -> dict[str, Any]:
    """Set one customer's last-12-months amount (``None``: keep the stored one) and grade,
    writing only what changed (the nightly regrading, :mod:`.regrading`, does it in batches)."""
    current = values(work, customer, customer_id)
    data: dict[str, Any] = {}
    if deal_amount is not None and _money(current.get("deal_amount_12m")) != deal_amount:
        data["deal_amount_12m"] = str(deal_amount)
    amount = deal_amount if deal_amount is not None else current.get("deal_amount_12m")
    grade = grade_of(rules, current.get("potential"), amount)
    if current.get("grade") != grade:
        data["grade"] = grade
    if data:
        records.change_as_step(work, customer, customer_id, data, None)
    return {"customer": customer_id, "grade": grade, "changed": sorted(data)}


# -- opportunities ---------------------------------------------------------------------------


def record_stage(work: Work, call: Call) -> dict[str, Any]:
    """Append the opportunity's stage, with the time it entered it, to its stage history
    (for conversion rates and cycle length)."""
    opportunity = form(
        work, "opportunity", "stage", "stage_history", purpose="keep an opportunity's stages"
    )
    assert call.record_id is not None
    current = values(work, opportunity, call.record_id)
    history = list(current.get("stage_history") or [])
    stage = current.get("stage")
    if stage is None or (history and history[-1].get("stage") == stage):
        return {"stage": stage, "recorded": False}
    history.append({"stage": stage, "entered_at": work.now.isoformat()})
    records.change_as_step(work, opportunity, call.record_id, {"stage_history": history}, None)
    return {"stage": stage, "recorded": True}


FUNCTIONS = {
    f"{APP}.price_quotation": price_quotation,
    f"{APP}.follow_up_saved": follow_up_saved,
    f"{APP}.flag_stale_customers": flag_stale_customers,
    f"{APP}.sync_contacts": sync_contacts,
    f"{APP}.regrade_customer": regrade_customer,
    f"{APP}.contract_signed": contract_signed,
    f"{APP}.record_stage": record_stage,
    f"{APP}.refresh_overdue": refresh_overdue,
}
