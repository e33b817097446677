"""The nightly regrading of every customer, in batches that commit one by one.

Grading everyone in the run's one transaction outlasted RQ's job timeout at 10× (50,000
customers) and, on SQLite, held the one writer the whole time. So the nightly run
(``sales_performance.regrade_all``) grades nobody itself: it starts a *chain* of reminders
of kind ``sales_performance.regrade``. Each link grades the next :data:`BATCH` customers in
record-id order, in its own delivering unit of work, and in that same transaction schedules
the link after it (the key names the chain and the last id graded). The link that finds
no customer after its batch ends the chain.

Why a chain of reminders, rather than RQ jobs enqueueing each other or one job looping over
transactions:

* a batch's writes and the existence of the next batch commit together, in the database
  (the truth; Redis only carries work): a worker killed or timed out mid-batch rolls that
  batch back, its reminder is still queued, and the sweep hands it out again once its lease
  expires — at most one batch is redone, nothing is skipped, and a Redis that restarts
  empty loses nothing either;
* every batch is a job of its own, far inside RQ's timeout, so no job ever holds the whole
  regrade, and on SQLite web requests get the writer between batches;
* a batch that keeps failing is retried with backoff and then marked ``failed`` with its
  error, listed with every other reminder; the next night's run starts a fresh chain.
  One job looping over transactions would still be one job as long as the whole regrade
  (the timeout again), and a killed one would leave nobody to continue.

Rerunning is safe: a batch reads each customer's current values and writes only what
changed, so a batch delivered again, a retried one or a whole second chain reaches the same
end state and gives no new revision to a customer whose amount and grade stayed. Each
customer is graded exactly as before (:func:`.functions.regrade`, the
automation's owner acting, automations it triggers one level deeper); the chain grades as of
the run's day, kept in its payload, so batches either side of midnight count the same
contracts. Each link records what it did on its reminder (``payload["result"]``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from formflow.automations import runs
from formflow.automations.functions import Call
from formflow.people.models import User
from formflow.records.models import Record
from formflow.records.query import form_rows
from formflow.reminders.delivery import handler
from formflow.reminders.models import Reminder
from formflow.reminders.service import hand_over_after_commit, schedule
from formflow.runtime import Work

from .functions import APP, form, grading_rules, local_today, regrade, signed_amounts

log = logging.getLogger(__name__)

#: The reminder kind of one batch.
KIND = f"{APP}.regrade"
#: Customers one batch grades (one transaction): at 10×, 1 s when none changes, about 5 s
#: when most do — far inside RQ's job timeout (180 s).
BATCH = 1000


def regrade_all(work: Work, call: Call) -> dict[str, Any]:
    """Nightly: start regrading every customer's last-12-months amount (contracts age out)
    and grade, a batch at a time (the action's ``arguments.batch``: customers a batch,
    default :data:`BATCH`); the run log says how many customers and batches."""
    customer = _customer_form(work)
    grading_rules(work)  # the default rules are created once, here, not by a batch
    count = work.session.scalar(select(func.count()).where(*form_rows(customer.form.id)))
    size = max(1, int(call.arguments.get("batch", BATCH)))
    chain = f"{call.run_id}-{uuid.uuid4().hex[:12]}"  # a retried run starts a chain anew
    _schedule_batch(
        work,
        {
            "chain": chain,
            "today": local_today(work).isoformat(),
            "after": 0,
            "batch": size,
            "actor_id": work.actor_id,
            "depth": work.memo.get(runs.DEPTH),
            "done": {"batches": 0, "customers": 0, "changed": 0},
        },
    )
    return {"customers": count, "batches": -(-count // size), "chain": chain}


def regrade_batch(work: Work, today: dt.date, after: int, size: int = BATCH) -> dict[str, Any]:
    """Grade the first ``size`` live customers with an id above ``after`` (as of ``today``):
    how many, how many changed, the last id (None: there were none) and whether any
    customer comes after it."""
    customer = _customer_form(work)
    ids = list(
        work.session.scalars(
            select(Record.id)
            .where(*form_rows(customer.form.id), Record.id > after)
            .order_by(Record.id)
            .limit(size + 1)
        )
    )
    more, ids = len(ids) > size, ids[:size]
    if not ids:
        return {"customers": 0, "changed": 0, "last": None, "more": False}
    # One query for the batch's records; each customer's own read then finds it loaded.
    list(work.session.scalars(select(Record).where(Record.id.in_(ids))))
    rules = grading_rules(work)
    amounts = signed_amounts(work, today, customers=ids)
    changed = 0
    for customer_id in ids:
        result = regrade(work, customer, customer_id, rules, amounts.get(customer_id, Decimal(0)))
        changed += bool(result["changed"])
    return {"customers": len(ids), "changed": changed, "last": ids[-1], "more": more}


@handler(KIND)
def _deliver_batch(work: Work, reminder: Reminder) -> None:
    payload = dict(reminder.payload)
    size = int(payload["batch"])
    actor = payload.get("actor_id")
    depth = payload.get("depth")
    with runs.acting(
        work,
        work.session.get(User, int(actor)) if actor is not None else work.actor,
        int(depth) if depth is not None else None,
    ):
        result = regrade_batch(
            work, dt.date.fromisoformat(payload["today"]), int(payload["after"]), size
        )
    done = payload["done"]
    done = {
        "batches": done["batches"] + 1,
        "customers": done["customers"] + result["customers"],
        "changed": done["changed"] + result["changed"],
    }
    reminder.payload = {**payload, "result": result}
    if result["more"]:
        _schedule_batch(work, {**payload, "after": result["last"], "done": done})
    else:
        log.info("regrading %s finished: %s", payload["chain"], done)
        reminder.payload = {**reminder.payload, "finished": done}


def _schedule_batch(work: Work, payload: dict[str, Any]) -> None:
    key = f"{KIND}:{payload['chain']}:{payload['after']}"
    reminder = schedule(work, KIND, key, work.now, payload)
    if reminder is not None:
        work.session.flush()
        hand_over_after_commit(work, reminder.id)


def _customer_form(work: Work) -> Any:
    return form(
        work, "customer", "potential", "deal_amount_12m", "grade", purpose="grade customers"
    )


FUNCTIONS = {f"{APP}.regrade_all": regrade_all}
