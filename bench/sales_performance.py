"""The sales plugin's performance computations, each beside a baseline measured in the same
run: the aggregates the computation needs, written by hand as ONE SQL query and run on the
driver with its rows fetched.

* KPI scorecards of everybody for a month (``scorecards(work, "2026-06", everyone=True)``)
  and for a year (``"2026"``, scored by copies of the shipped plans with ``period_kind``
  year). Baseline: one query giving, per person, every measure the plans read — signed
  contract amounts with their credit splits, collected payments, follow-ups, visits,
  follow-ups on time, the sum and count of satisfaction ratings;
* the incentives of a month: the pure computation (``compute(work, Period.parse(…))``) and
  a whole run that stores the statements (``run_period`` as a system unit of work, rerun
  before approval so each run replaces the drafts; the first run, which creates them, is
  timed once). Baseline for both: the scorecards' query plus new grade-A customers per
  owner and the records behind each commission and SPIF line (``GROUP_CONCAT`` of
  ``id=value``); the run's baseline does not store the 36 statements.

Each figure's calls alternate with its baseline's (two warm-up calls each, then
``--repeat``); the report gives the p50 wall times, their ratio, and the ratio of the
process's CPU times, which on SQLite (all the work in-process) the machine's other load
does not move.

Before timing, each figure's numbers are checked against its baseline's: every person's
actuals on every scorecard line (their own, or their team's), every statement's commission
base and the contracts listed under it, SPIF counts and manager override bases.

**Data.** The demo company's organisation (30 reps with the ``sales_rep`` role in 4 teams
of 2 regions; managers and directors with ``sales_manager``; a VP and finance) and the
demo's record counts times ``--scale``: 5,000 customers, 50,000 follow-ups, 3,000
opportunities, and 2,000 contracts (8 % cancelled or refunded, 15 % with a credit split
between two or three reps of a team) and their 2–3 payments each — at 100× that is 5
million follow-ups. Records are spread over the 18 months from May 2025 to October 2026
(June 2026 holds 1/18 of them, the year 2026 10/18), by rep strength, on working days.

Those records are bulk-loaded in the very shapes the record service writes (documents keyed
by each field's stable id, money as exact decimals, times as UTC ``…Z`` text; the columns
``_insert`` fills: form version, revision 1, owner, the owner's primary department, creator
and times), with ``executemany`` (PostgreSQL: ``COPY``) in transactions of 50,000 rows — not
through the service, which validates and writes a revision per record at about 1,000
records/s (``seed-demo --scale 10`` takes 35 minutes, 100× would take hours). Revision rows
are not written: nothing measured reads them. The first rows of every form are also run
through the engine's input pipeline (``prepare`` + ``to_document``), and the load stops
unless they come out exactly as loaded. The forms' expression indexes (made when the app is
installed) are set aside during the load and rebuilt after it from their own DDL, as a bulk
import would do it (every insert otherwise evaluates every form's partial-index condition),
and the load checks that every index ``planned_indexes`` wants for the loaded forms is
there; then ``formflow analyze``'s statistics refresh runs. The plans and measures, the
sales targets (each rep's target of signed contracts and collections for the month and the
year, each team's for the month, set around what they did so attainments spread over the
tiers) and managers' manual scores are created through the services.

Run: ``python -m bench.sales_performance --scale 10 --json bench/results/sales_performance.json``
(SQLite in a temporary folder; ``--postgres`` starts a throwaway PostgreSQL server as the
test suite does, ``--database URL`` uses one; ``--reuse FOLDER`` measures an SQLite instance
this bench loaded before).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import itertools
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bench.harness import Instance, instance, percentile, ratio
from bench.records import _raw_connection
from bench.sales_pages import _installed
from formflow import Config, Runtime, jsoncodec
from formflow.automations.triggers import QUIET
from formflow.db import refresh_statistics
from formflow.definitions.service import LoadedForm, get_form
from formflow.people import service as people
from formflow.people.models import Membership
from formflow.records import service as records
from formflow.records.indexes import existing_indexes, planned_indexes
from formflow.records.models import Record
from formflow.records.prepare import prepare, to_document
from formflow.runtime import Work

APP = "sales_performance"
MONTH = "2026-06"
YEAR = "2026"
#: The demo's 548 days of history, fixed so the figures do not move with the calendar.
HISTORY = (dt.date(2025, 5, 1), dt.date(2026, 11, 1))
CUSTOMERS, FOLLOW_UPS, OPPORTUNITIES, CONTRACTS = 5_000, 50_000, 3_000, 2_000
#: (team, region, reps), as in the demo company.
TEAMS = (("华东一组", "east", 8), ("华东二组", "east", 7), ("华南一组", "south", 8),
         ("华南二组", "south", 7))  # fmt: skip
REGIONS = {"east": "华东大区", "south": "华南大区"}
FOLLOW_UP_TYPES = (("visit", 40), ("call", 35), ("demo", 10), ("email", 15))
RATINGS = ((5, 35), (4, 40), (3, 15), (2, 7), (1, 3))
GRADES = (("A", 15), ("B", 35), ("C", 50))
CONTRACT_STATUSES = (("signed", 92), ("cancelled", 5), ("refunded", 3))
SPLITS = ((60, 40), (50, 50), (70, 30), (50, 30, 20), (40, 30, 30))
STAGES = (("initial", 14), ("needs", 14), ("proposal", 10), ("negotiation", 7), ("won", 30),
          ("lost", 25))  # fmt: skip
PATH = ("initial", "needs", "proposal", "negotiation")
INSTALMENTS = {
    "hardware": (("预付款", "0.3", 10), ("到货款", "0.6", 45), ("尾款", None, 180)),
    "software": (("首付款", "0.5", 15), ("验收款", "0.4", 90), ("质保金", None, 365)),
    "service": (("首期款", "0.5", 30), ("尾款", None, 120)),
}
CONTENT = (
    "拜访{c}，与IT部沟通网络改造需求，客户对方案整体认可，希望下周安排产品演示。",
    "电话回访{c}，确认上次报价的交付周期与付款方式，客户将在内部评审后答复。",
    "为{c}做数据分析平台演示，参会的采购经理关注价格与实施周期，需补充案例。",
    "邮件发送{c}所需的资质文件与合同草案，约定周五前反馈修改意见。",
)
CHUNK = 50_000
CENT = Decimal("0.01")
ISO = "%Y-%m-%dT%H:%M:%SZ"
SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"


# -- the organisation ------------------------------------------------------------------------


@dataclass
class Rep:
    id: int
    team: int
    department: int
    strength: float


@dataclass
class Org:
    reps: list[Rep]
    #: user id → primary department id (records carry their owner's).
    departments: dict[int, int]
    teams: list[int]


def _organisation(work: Work, rng: random.Random) -> Org:
    """The demo's people, departments, heads and roles, with the reps holding ``sales_rep``
    (the role the shipped plans assess)."""
    make = people.create_user
    roles = {
        name: people.ensure_role(work, name, title).id
        for name, title in (("sales_vp", "销售副总裁"), ("finance", "财务"),
                            ("sales_manager", "销售经理/总监"), ("sales_rep", "销售"))
    }  # fmt: skip
    vp, finance = (
        make(work, "vp", display_name="赵总"),
        make(work, "finance", display_name="钱会计"),
    )
    company = people.create_department(work, "星海科技", head_id=vp.id)
    accounts = people.create_department(work, "财务部", parent_id=company.id, head_id=finance.id)
    people.set_memberships(work, vp.id, [company.id])
    people.set_memberships(work, finance.id, [accounts.id])
    people.set_roles(work, vp.id, [roles["sales_vp"]])
    people.set_roles(work, finance.id, [roles["finance"]])
    departments = {vp.id: company.id, finance.id: accounts.id}
    regions = {}
    for n, (region, title) in enumerate(REGIONS.items()):
        director = make(work, f"director{n + 1}", display_name=f"{title}总监")
        regions[region] = people.create_department(
            work, title, parent_id=company.id, head_id=director.id
        ).id
        people.set_memberships(work, director.id, [regions[region]])
        people.set_roles(work, director.id, [roles["sales_manager"]])
        departments[director.id] = regions[region]
    reps, teams = [], []
    for t, (title, region, count) in enumerate(TEAMS):
        manager = make(work, f"manager{t + 1}", display_name=f"{title}经理")
        team = people.create_department(
            work, title, parent_id=regions[region], head_id=manager.id
        ).id
        teams.append(team)
        people.set_memberships(work, manager.id, [team])
        people.set_roles(work, manager.id, [roles["sales_manager"]])
        departments[manager.id] = team
        for _ in range(count):
            user = make(work, f"rep{len(reps) + 1:02d}", display_name=f"销售{len(reps) + 1:02d}")
            people.set_memberships(work, user.id, [team])
            people.set_roles(work, user.id, [roles["sales_rep"]])
            departments[user.id] = team
            reps.append(Rep(user.id, t, team, round(rng.uniform(0.5, 1.6), 3)))
    return Org(reps, departments, teams)


# -- the forms as stored ---------------------------------------------------------------------


@dataclass
class Form:
    """A form's id, version and field ids, as the loader and the hand-written SQL use them."""

    loaded: LoadedForm
    ids: dict[str, str]
    children: dict[str, dict[str, str]]

    @classmethod
    def of(cls, work: Work, name: str) -> Form:
        loaded = get_form(work, f"{APP}.{name}")
        by_key = loaded.spec.by_key
        return cls(
            loaded,
            {key: f.id for key, f in by_key.items()},
            {key: {c.key: c.id for c in f.children} for key, f in by_key.items() if f.children},
        )

    @property
    def id(self) -> int:
        return self.loaded.form.id

    def document(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values by key as the stored document (by field id); subform rows likewise."""
        out = {}
        for key, value in values.items():
            if key in self.children:
                value = [{self.children[key][k]: v for k, v in row.items()} for row in value]
            out[self.ids[key]] = value
        return out


# -- generating the history ------------------------------------------------------------------


@dataclass
class History:
    """What the loader wrote that the targets are set from: each rep's credited contract
    amount and collections per period key."""

    signed: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    collected: dict[tuple[int, str], Decimal] = field(default_factory=dict)

    @staticmethod
    def add(book: dict[tuple[int, str], Decimal], member: int, day: dt.date, amount: Any) -> None:
        for key in (f"{day:%Y-%m}", f"{day:%Y}"):
            book[(member, key)] = book.get((member, key), Decimal(0)) + amount


class Generator:
    """Draws the records from one seeded random generator, in time order per form."""

    def __init__(self, org: Org, scale: float, zone: ZoneInfo, today: dt.date) -> None:
        self.rng = random.Random(2026)
        self.org = org
        self.scale = scale
        self.zone = zone
        self.today = today
        self.reps = org.reps
        self.weights = list(itertools.accumulate(r.strength for r in self.reps))
        self.days = [
            HISTORY[0] + dt.timedelta(days=n) for n in range((HISTORY[1] - HISTORY[0]).days)
        ]
        self.customers: dict[int, list[int]] = {}
        self.history = History()

    def count(self, base: int) -> int:
        return max(1, round(base * self.scale))

    def rep(self) -> Rep:
        return self.rng.choices(self.reps, cum_weights=self.weights)[0]

    def moments(self, total: int) -> Iterator[dt.datetime]:
        """``total`` working-hours moments over the history, in order (weekends quiet)."""
        weights = [1.0 if day.weekday() < 5 else 0.15 for day in self.days]
        for day, n in zip(self.days, _apportion(total, weights), strict=True):
            opening = dt.datetime.combine(day, dt.time(9), self.zone).astimezone(dt.UTC)
            for second in sorted(self.rng.randrange(9 * 3600) for _ in range(n)):
                yield opening + dt.timedelta(seconds=second)

    def local(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.zone).date()

    # each generator yields (values by key, owner, created_at, updated_at)

    def customer_rows(self) -> Iterator[tuple[dict[str, Any], Rep, dt.datetime, dt.datetime]]:
        rng = self.rng
        start = dt.datetime.combine(HISTORY[0], dt.time(), self.zone) - dt.timedelta(days=180)
        span = (dt.datetime.combine(HISTORY[1], dt.time(), self.zone) - start).total_seconds()
        created = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in
                         range(self.count(CUSTOMERS)))  # fmt: skip
        for n, at in enumerate(created):
            owner = self.rep()
            size = _weighted(rng, (("small", 50), ("medium", 35), ("large", 15)))
            values = {
                "name": f"客户{n + 1:07d}",
                "industry": rng.choice(("manufacturing", "retail", "finance", "it", "other")),
                "source": rng.choice(("referral", "exhibition", "web", "cold_call", "partner")),
                "region": TEAMS[owner.team][1],
                "size": size,
                "owner": owner.id,
                "status": _weighted(rng, (("customer", 30), ("following", 55), ("lost", 15))),
                "potential": Decimal(rng.randint(1, 600) * 10000),
                "grade": _weighted(rng, GRADES),
                "stale": rng.random() < 0.3,
            }
            yield values, owner, at.astimezone(dt.UTC), at.astimezone(dt.UTC)

    def follow_up_rows(self) -> Iterator[tuple[dict[str, Any], Rep, str, str]]:
        """The bulk of the data (5 million rows at 100×), so drawn lean: weighted choices
        from lookup tables, times written as text by arithmetic on the day's UTC opening
        (09:00–19:30 in the organisation's zone stays within one UTC date here)."""
        rng, draw = self.rng, self.rng.random
        reps = _table([(rep, rep.strength) for rep in self.reps])
        kinds, ratings = _table(FOLLOW_UP_TYPES), _table(RATINGS)
        days = {}  # day ordinal → ISO date text
        weights = [1.0 if day.weekday() < 5 else 0.15 for day in self.days]
        for day, n in zip(self.days, _apportion(self.count(FOLLOW_UPS), weights), strict=True):
            opening = dt.datetime.combine(day, dt.time(9), self.zone).astimezone(dt.UTC)
            start = opening.hour * 3600 + opening.minute * 60
            assert start + 11 * 3600 < 86400, "the working day must fall within one UTC date"
            date = opening.date()
            first = date.toordinal()
            for second in sorted(rng.randrange(9 * 3600) for _ in range(n)):
                owner = reps[int(draw() * len(reps))]
                kind = kinds[int(draw() * len(kinds))]
                mine = self.customers[owner.id]
                customer = mine[int(draw() * len(mine))]
                at = start + second
                values: dict[str, Any] = {
                    "customer": customer,
                    "type": kind,
                    "visited_at": f"{date}T{_clock(at)}Z",
                    "content": CONTENT[int(draw() * len(CONTENT))].format(c=f"客户{customer}"),
                    "owner": owner.id,
                }
                if kind == "visit":
                    values["location"] = {
                        "lat": Decimal(rng.randrange(22_000_000, 32_000_000)).scaleb(-6),
                        "lng": Decimal(rng.randrange(113_000_000, 122_000_000)).scaleb(-6),
                        "accuracy": 8 + int(draw() * 53),
                    }
                if draw() < 0.6:
                    later, clock = divmod(at + 3600 * (48 + int(draw() * 289)), 86400)
                    if first + later not in days:
                        days[first + later] = dt.date.fromordinal(first + later).isoformat()
                    values["next_follow_up_at"] = f"{days[first + later]}T{_clock(clock)}Z"
                if draw() < 0.7:
                    values["satisfaction"] = ratings[int(draw() * len(ratings))]
                if draw() < 0.8:
                    values["on_time"] = draw() < 0.75
                logged = f"{date} {_clock(at + 60 * (5 + int(draw() * 86)))}"
                yield values, owner, logged, logged

    def opportunity_rows(self) -> Iterator[tuple[dict[str, Any], Rep, dt.datetime, dt.datetime]]:
        rng = self.rng
        for n, opened in enumerate(self.moments(self.count(OPPORTUNITIES))):
            owner = self.rep()
            stage = _weighted(rng, STAGES)
            path = (
                list(PATH[: rng.randint(1, 4)])
                if stage in ("won", "lost")
                else list(PATH[: PATH.index(stage) + 1])
            )
            if stage in ("won", "lost"):
                path.append(stage)
            entered = [opened]
            for _ in path[1:]:
                entered.append(entered[-1] + dt.timedelta(days=rng.uniform(4, 35)))
            values: dict[str, Any] = {
                "name": f"商机{n + 1:07d}",
                "customer": rng.choice(self.customers[owner.id]),
                "stage": stage,
                "amount": Decimal(rng.randrange(1_000_000, 90_000_000)) / 100,
                "expected_close": (self.local(entered[-1]) + dt.timedelta(
                    days=0 if stage in ("won", "lost") else rng.randint(-10, 90))).isoformat(),
                "product_line": rng.choice(tuple(INSTALMENTS)),
                "owner": owner.id,
                "stage_history": [
                    {"stage": s, "entered_at": _iso(at)}
                    for s, at in zip(path, entered, strict=True)
                ],
            }  # fmt: skip
            if stage == "lost":
                values["lost_reason"] = "客户预算冻结，项目暂缓。"
            yield values, owner, opened, entered[-1]

    def contract_rows(self) -> list[tuple[dict[str, Any], Rep, dt.datetime, dt.datetime]]:
        rng = self.rng
        found = []
        for n, signed in enumerate(self.moments(self.count(CONTRACTS))):
            owner = self.rep()
            signed_on = self.local(signed)
            status = _weighted(rng, CONTRACT_STATUSES)
            amount = Decimal(rng.randrange(1_000_000, 90_000_000)) / 100
            values: dict[str, Any] = {
                "number": f"CT-{signed_on.year}-{n + 1:05d}",
                "name": f"合同{n + 1:07d}",
                "customer": rng.choice(self.customers[owner.id]),
                "amount": amount,
                "signed_on": signed_on.isoformat(),
                "product_line": rng.choice(tuple(INSTALMENTS)),
                "owner": owner.id,
                "status": status,
            }
            credit = {owner.id: Decimal(100)}
            if rng.random() < 0.15:
                shares = rng.choice(SPLITS)
                mates = [r.id for r in self.reps if r.team == owner.team and r.id != owner.id]
                members = [owner.id, *rng.sample(mates, len(shares) - 1)]
                values["team"] = [
                    {"member": m, "share": s} for m, s in zip(members, shares, strict=True)
                ]
                credit = {m: Decimal(s) for m, s in zip(members, shares, strict=True)}
            if status == "signed":
                for member, share in credit.items():
                    self.history.add(self.history.signed, member, signed_on, amount * share / 100)
            found.append((values, owner, signed, signed))
        return found

    def payment_rows(
        self, contracts: list[tuple[dict[str, Any], Rep, dt.datetime, dt.datetime]], ids: list[int]
    ) -> Iterator[tuple[dict[str, Any], Rep, dt.datetime, dt.datetime]]:
        rng = self.rng
        for (contract, owner, signed, _), contract_id in zip(contracts, ids, strict=True):
            signed_on = self.local(signed)
            amount, left = contract["amount"], contract["amount"]
            for name, share, days in INSTALMENTS[contract["product_line"]]:
                part = left if share is None else (amount * Decimal(share)).quantize(CENT)
                left -= part
                planned_on = signed_on + dt.timedelta(days=days)
                values: dict[str, Any] = {
                    "contract": contract_id,
                    "customer": contract["customer"],
                    "installment": name,
                    "planned_amount": part,
                    "planned_on": planned_on.isoformat(),
                    "owner": owner.id,
                }
                updated = signed
                if planned_on < HISTORY[1] and rng.random() < 0.85:
                    received = planned_on + dt.timedelta(days=rng.randint(-5, 25))
                    received = max(min(received, HISTORY[1] - dt.timedelta(days=1)), signed_on)
                    values["actual_amount"] = part
                    values["received_on"] = received.isoformat()
                    self.history.add(self.history.collected, owner.id, received, part)
                    updated = dt.datetime.combine(received, dt.time(15), self.zone)
                # the overdue formula reads TODAY() when the record is written
                unpaid = "received_on" not in values and planned_on < self.today
                values["overdue"] = 1 if unpaid else 0
                yield values, owner, signed, updated.astimezone(dt.UTC)


def _weighted(rng: random.Random, choices: Any) -> Any:
    values, cumulative = _cumulative(choices)
    return rng.choices(values, cum_weights=cumulative)[0]


@functools.cache
def _cumulative(choices: Any) -> tuple[tuple[Any, ...], list[float]]:
    return tuple(v for v, _ in choices), list(itertools.accumulate(w for _, w in choices))


def _table(choices: Any, size: int = 1000) -> list[Any]:
    """A lookup table to draw weighted choices from with one ``random()``."""
    values = [value for value, _ in choices]
    counts = _apportion(size, [weight for _, weight in choices])
    return [value for value, n in zip(values, counts, strict=True) for _ in range(n)]


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _iso(moment: dt.datetime) -> str:
    """A UTC moment as stored datetime fields hold it (``…Z``, whole seconds)."""
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def _apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, by largest remainder (parts add up)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(exact)), key=lambda i: parts[i] - exact[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


# -- loading ---------------------------------------------------------------------------------


class Loader:
    """Rows into the records table on the driver, ``CHUNK`` to a transaction
    (``executemany`` on SQLite, ``COPY`` on PostgreSQL)."""

    def __init__(self, inst: Instance, forms: dict[str, Form], org: Org) -> None:
        self.inst = inst
        self.forms = forms
        self.org = org
        self.sqlite = inst.runtime.db.dialect == "sqlite"
        self.raw = _raw_connection(inst)
        p = "?" if self.sqlite else "%s"
        self.sql = (
            "INSERT INTO records (form_id, data, form_version, revision, owner_id, department_id, "
            f"created_by, created_at, updated_by, updated_at) VALUES ({p}, "
            f"{p if self.sqlite else '%s::jsonb'}, {', '.join([p] * 8)})"
        )

    def stamp(self, moment: dt.datetime | str) -> Any:
        """A UTC moment (or its ``YYYY-MM-DD HH:MM:SS`` text) as the records' timestamp
        columns hold it: SQLAlchemy's SQLite text, or the timestamp itself."""
        if isinstance(moment, str):
            if self.sqlite:
                return f"{moment}.000000"
            return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)
        return moment.isoformat(" ", "microseconds")[:26] if self.sqlite else moment

    def set_indexes_aside(self) -> None:
        """Drop the forms' expression indexes for the load (each insert evaluates every
        form's partial-index condition, and an index built once is built faster than one
        grown row by row); :meth:`restore_indexes` makes them again from the same DDL."""
        if self.sqlite:
            found = self.raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                "'records' AND (name LIKE 'ix_rf_%' OR name LIKE 'ux_rf_%')"
            ).fetchall()
        else:
            found = self.raw.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records' AND "
                "(indexname LIKE 'ix_rf_%' OR indexname LIKE 'ux_rf_%')"
            ).fetchall()
        self.aside = dict(found)
        for name in self.aside:
            self.raw.execute(f"DROP INDEX {name}")

    def restore_indexes(self) -> float:
        start = time.perf_counter()
        for ddl in self.aside.values():
            self.raw.execute(ddl)
        return time.perf_counter() - start

    def load(self, name: str, rows: Any) -> tuple[list[int], float]:
        """Insert ``rows`` of (values, owner, created, updated); their ids and seconds."""
        form = self.forms[name]
        version = form.loaded.spec.version
        start = time.perf_counter()
        first = self._next_id()
        batch: list[tuple[Any, ...]] = []
        count = 0
        for values, owner, created, updated in rows:
            if count < 20:
                _check_document(self.inst, form, values)
            batch.append(
                (
                    form.id, jsoncodec.dumps(form.document(values)), version, 1, owner.id,
                    self.org.departments[owner.id], owner.id, self.stamp(created), owner.id,
                    self.stamp(updated),
                )
            )  # fmt: skip
            count += 1
            if len(batch) == CHUNK:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        ids = self._ids(form.id, first)
        assert len(ids) == count, (name, len(ids), count)
        return ids, time.perf_counter() - start

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        if self.sqlite:
            self.raw.execute("BEGIN")
            self.raw.executemany(self.sql, batch)
            self.raw.execute("COMMIT")
        else:  # COPY: PostgreSQL's bulk path (executemany manages about 3,000 rows/s here)
            columns = self.sql.split("(", 1)[1].split(")", 1)[0]
            with (
                self.raw.transaction(),
                self.raw.cursor() as cursor,
                cursor.copy(f"COPY records ({columns}) FROM STDIN") as copy,
            ):
                for row in batch:
                    copy.write_row(row)

    def _next_id(self) -> int:
        return (self.raw.execute("SELECT COALESCE(MAX(id), 0) FROM records").fetchone()[0]) + 1

    def _ids(self, form_id: int, first: int) -> list[int]:
        rows = self.raw.execute(
            f"SELECT id FROM records WHERE form_id = {form_id} AND id >= {first} ORDER BY id"
        ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        self.raw.close()


def _check_document(inst: Instance, form: Form, values: dict[str, Any]) -> None:
    """The loaded document is exactly what the engine's input pipeline makes of the same
    values (serial numbers aside: the service draws them from its counters)."""
    spec = form.loaded.spec
    with inst.runtime.read() as work:
        context = records.eval_context(work, spec)
    given = {
        k: v for k, v in values.items() if spec.by_key[k].type.name not in ("serial", "formula")
    }
    prepared, errors = prepare(
        spec, given, current=None, partial=False, defaults={}, context=context
    )
    assert not errors, (form.loaded.name, errors)
    made = to_document(spec, prepared, None, set())
    mine = form.document(values)
    for f in spec.fields:
        if f.type.name == "serial":
            mine.pop(f.id, None)
    assert jsoncodec.loads(jsoncodec.dumps(made)) == jsoncodec.loads(jsoncodec.dumps(mine)), (
        f"{form.loaded.name}: the loader's document differs from the engine's:\n"
        f"  loader {jsoncodec.dumps(mine)}\n  engine {jsoncodec.dumps(made)}"
    )


def setup(inst: Instance, scale: float, say: Callable[[str], None]) -> dict[str, Any]:
    """Install the app, make the organisation, load the history, create plans, targets and
    manual scores; returns what was made and how long it took."""
    runtime = inst.runtime
    _installed(inst)
    rng = random.Random(7)
    with runtime.write() as work:
        work.memo[QUIET] = True
        org = _organisation(work, rng)
        forms = {
            name: Form.of(work, name)
            for name in ("customer", "follow_up", "opportunity", "contract", "payment")
        }
        zone = forms["follow_up"].loaded.spec.timezone
    generator = Generator(org, scale, zone, runtime.clock().astimezone(zone).date())
    loader = Loader(inst, forms, org)
    loader.set_indexes_aside()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()

    def load(name: str, rows: Any) -> list[int]:
        ids, timings[name] = loader.load(name, rows)
        counts[name] = len(ids)
        say(f"  {name:<14} {len(ids):>10,}  {timings[name]:7.1f} s")
        return ids

    customers = list(generator.customer_rows())
    for (_, owner, _, _), customer_id in zip(customers, load("customer", customers), strict=True):
        generator.customers.setdefault(owner.id, []).append(customer_id)
    load("follow_up", generator.follow_up_rows())
    load("opportunity", generator.opportunity_rows())
    contracts = generator.contract_rows()
    load("payment", generator.payment_rows(contracts, load("contract", contracts)))
    indexed = loader.restore_indexes()
    loader.close()
    loaded_in = time.perf_counter() - started
    say(f"  expression indexes rebuilt  {indexed:.1f} s")
    with runtime.read() as work:  # the indexes the engine plans for these forms are there
        dialect = work.session.get_bind().dialect
        for form in forms.values():
            planned = set(planned_indexes(form.loaded.spec, form.id, dialect))
            assert planned <= existing_indexes(work, form.id), form.loaded.name

    analysed = refresh_statistics(runtime.db)  # what `formflow analyze` runs
    runtime.db.engine.dispose()  # pooled connections reopen with the new statistics
    say(f"  statistics (formflow analyze)  {analysed:.1f} s")
    step = time.perf_counter()
    with runtime.write() as work:
        work.memo[QUIET] = True
        made_plans = _plans(work)
        targets = _targets(work, org, generator.history, random.Random(11))
        scores = _manual_scores(work, org, random.Random(13))
    say(
        f"  KPI plans {made_plans}, targets {targets}, manual scores {scores} (services)"
        f"  {time.perf_counter() - step:.1f} s"
    )
    return {
        "counts": counts,
        "load_seconds": round(loaded_in, 1),  # the indexes' rebuild included
        "load_seconds_by_form": {k: round(v, 1) for k, v in timings.items()},
        "index_seconds": round(indexed, 1),
        "analyze_seconds": round(analysed, 1),
    }


def _plans(work: Work) -> int:
    """The shipped KPI and incentive plans and measures, and yearly copies of the KPI plans
    (fixed count targets ×12) so a year can be scored."""
    from sales_performance.incentives.plans import ensure_defaults as incentive_defaults
    from sales_performance.kpi.plans import DEFAULT_PLANS, plan_form
    from sales_performance.kpi.plans import ensure_defaults as kpi_defaults

    kpi_defaults(work)
    incentive_defaults(work)
    for shipped in DEFAULT_PLANS:
        yearly = copy.deepcopy(shipped)
        yearly["name"] = shipped["name"].replace("monthly", "yearly").replace("月度", "年度")
        yearly["period_kind"] = "year"
        for metric in yearly["metrics"]:
            if metric.get("measure") == "visits" and metric.get("target_kind") == "fixed":
                metric["target"] = metric["target"] * 12
        records.create_as_step(work, plan_form(work), yearly)
    return len(DEFAULT_PLANS) * 2


def _targets(work: Work, org: Org, history: History, rng: random.Random) -> int:
    """Each rep's targets of signed contracts and collections for the month and the year
    (around what they did, so attainments spread over the tiers), each team's for the month."""
    from sales_performance.measures import all_measures
    from sales_performance.targets.tree import target_form

    known = all_measures(work)
    loaded = target_form(work)
    made = 0

    def target(amount: Decimal, **data: Any) -> None:
        nonlocal made
        rounded = max(Decimal(10_000), (amount / 1000).quantize(Decimal(1)) * 1000)
        records.create_as_step(work, loaded, {**data, "amount": str(rounded)})
        made += 1

    for period in (MONTH, YEAR):
        for rep in org.reps:
            for measure, book in (("contract_amount", history.signed),
                                  ("collected", history.collected)):  # fmt: skip
                did = book.get((rep.id, period), Decimal(0))
                target(
                    did * Decimal(str(round(rng.uniform(0.6, 1.4), 2))),
                    name=f"rep {rep.id} {measure} {period}",
                    measure=known[measure].record_id,
                    period=period,
                    level="rep",
                    department=rep.department,
                    member=rep.id,
                )
    for team, department in enumerate(org.teams):
        did = sum(
            (history.signed.get((r.id, MONTH), Decimal(0)) for r in org.reps if r.team == team),
            Decimal(0),
        )
        target(
            did * Decimal(str(round(rng.uniform(0.8, 1.2), 2))),
            name=f"{TEAMS[team][0]} contract_amount {MONTH}",
            measure=known["contract_amount"].record_id,
            period=MONTH,
            level="team",
            department=department,
        )
    return made


def _manual_scores(work: Work, org: Org, rng: random.Random) -> int:
    """The managers' manual scores (collaboration of reps, coaching of managers)."""
    loaded = get_form(work, f"{APP}.kpi_manual_score")
    managers = [u for u in org.departments if u not in {r.id for r in org.reps}]
    made = 0
    for period in (MONTH, YEAR):
        for member, metric in [(r.id, "collaboration") for r in org.reps] + [
            (m, "coaching") for m in managers[2:]
        ]:
            records.create_as_step(
                work,
                loaded,
                {"member": member, "period": period, "metric": metric,
                 "score": rng.randint(60, 100), "comment": "bench"},
            )  # fmt: skip
            made += 1
    return made


# -- the baselines: one hand-written query each ----------------------------------------------


class Sql:
    """Field values as SQL text, the same expressions the engine's projection (and so its
    expression indexes) uses."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.p = "?" if self.sqlite else "%s"

    def field(self, form: Form, key: str, kind: str = "text", table: str = "records") -> str:
        path = form.ids[key]
        if self.sqlite:
            return f"json_extract({table}.data, '$.{path}')"
        text = f"({table}.data ->> '{path}')"
        casts = {"number": "NUMERIC", "integer": "BIGINT", "boolean": "BOOLEAN"}
        return f"CAST({text} AS {casts[kind]})" if kind in casts else text

    def child(self, form: Form, subform: str, key: str, kind: str) -> str:
        path = form.children[subform][key]
        if self.sqlite:
            return f"json_extract(t.value, '$.{path}')"
        cast = {"integer": "INTEGER", "number": "NUMERIC"}[kind]
        return f"CAST(t.value ->> '{path}' AS {cast})"

    def cents(self, expression: str) -> str:
        """A money value summed exactly: SQLite as integer cents, PostgreSQL as NUMERIC."""
        return f"CAST(ROUND({expression} * 100) AS INTEGER)" if self.sqlite else expression

    def count_if(self, condition: str) -> str:
        return f"SUM({condition})" if self.sqlite else f"COUNT(*) FILTER (WHERE {condition})"

    def listing(self, value: str) -> str:
        text = f"records.id || '=' || ({value})"
        return f"GROUP_CONCAT({text})" if self.sqlite else f"STRING_AGG({text}::text, ',')"

    def live(self, form: Form) -> str:
        return f"records.form_id = {form.id} AND records.deleted_at IS NULL"


@dataclass
class Baseline:
    sql: str
    params: list[Any]


def _bounds(period: Any, zone: ZoneInfo, sqlite: bool) -> dict[str, Any]:
    def utc(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

    low, high = utc(period.start), utc(period.end)
    return {
        "moment": (low.strftime(ISO), high.strftime(ISO)),
        "day": (period.start.isoformat(), period.end.isoformat()),
        "created": (
            (low.strftime(SQLITE_STAMP), high.strftime(SQLITE_STAMP)) if sqlite else (low, high)
        ),
    }


def baseline_query(forms: dict[str, Form], sql: Sql, period: Any, *, incentives: bool) -> Baseline:
    """Per person, every aggregate the period's scorecards read (and, for incentives, the
    new grade-A customers and the records behind each commission and SPIF line), in one
    statement: a ``UNION ALL`` of one grouped pass per form (two for contracts: the ones
    without a credit split, and each share of the ones with one)."""
    f, c, pay, cust = forms["follow_up"], forms["contract"], forms["payment"], forms["customer"]
    bounds = _bounds(period, f.loaded.spec.timezone, sql.sqlite)
    p, params = sql.p, []
    blank = "NULL" if sql.sqlite else "NULL::text"

    def between(expression: str, kind: str) -> str:  # call in the order the SQL reads
        params.extend(bounds[kind])
        return f"{expression} >= {p} AND {expression} < {p}"

    satisfaction = sql.field(f, "satisfaction", "integer")
    on_time = sql.field(f, "on_time", "boolean") + (" = 1" if sql.sqlite else "")
    visit = sql.field(f, "type") + " = 'visit'"
    parts = [
        f"SELECT 'follow_ups', {sql.field(f, 'owner', 'integer')}, COUNT(*), "
        f"{sql.count_if(visit)}, {sql.count_if(on_time)}, "
        f"SUM({satisfaction}), COUNT({satisfaction}), {blank} FROM records "
        f"WHERE {sql.live(f)} AND {between(sql.field(f, 'visited_at'), 'moment')} GROUP BY 2"
    ]
    amount = sql.field(c, "amount", "number")
    team = c.ids["team"]
    unsplit = (
        f"COALESCE(json_array_length(records.data, '$.{team}'), 0) = 0"
        if sql.sqlite
        else f"COALESCE(jsonb_array_length(records.data -> '{team}'), 0) = 0"
    )
    parts.append(  # contracts without a credit split: all to the owner
        f"SELECT 'signed', {sql.field(c, 'owner', 'integer')}, SUM({sql.cents(amount)}), "
        f"COUNT(*), NULL, NULL, NULL, {sql.listing(amount) if incentives else blank} "
        f"FROM records WHERE {sql.live(c)} AND {sql.field(c, 'status')} = 'signed' AND "
        f"{between(sql.field(c, 'signed_on'), 'day')} AND {unsplit} GROUP BY 2"
    )
    share = sql.child(c, "team", "share", "number")
    weight = f"CAST(ROUND({share} * 100) AS INTEGER)" if sql.sqlite else f"ROUND({share} * 100)"
    rows = (
        f"json_each(records.data, '$.{team}') AS t"
        if sql.sqlite
        else f"jsonb_array_elements(records.data -> '{team}') AS t(value)"
    )
    parts.append(  # contracts with a split: each rep's share
        f"SELECT 'split', {sql.child(c, 'team', 'member', 'integer')}, "
        f"SUM({sql.cents(amount)} * {weight}), COUNT(*), NULL, NULL, NULL, "
        f"{sql.listing(f'{amount} * {share} / 100') if incentives else blank} "
        f"FROM records, {rows} WHERE {sql.live(c)} AND {sql.field(c, 'status')} = 'signed' "
        f"AND {between(sql.field(c, 'signed_on'), 'day')} GROUP BY 2"
    )
    received = sql.field(pay, "actual_amount", "number")
    parts.append(
        f"SELECT 'collected', {sql.field(pay, 'owner', 'integer')}, SUM({sql.cents(received)}), "
        f"COUNT({received}), NULL, NULL, NULL, {blank} FROM records WHERE {sql.live(pay)} AND "
        f"{between(sql.field(pay, 'received_on'), 'day')} GROUP BY 2"
    )
    if incentives:
        parts.append(
            f"SELECT 'grade_a', {sql.field(cust, 'owner', 'integer')}, COUNT(*), NULL, NULL, "
            f"NULL, NULL, {sql.listing('1')} FROM records WHERE {sql.live(cust)} AND "
            f"{sql.field(cust, 'grade')} = 'A' AND {between('records.created_at', 'created')} "
            "GROUP BY 2"
        )
    return Baseline("\nUNION ALL\n".join(parts), params)


def run_baseline(raw: Any, baseline: Baseline) -> list[tuple[Any, ...]]:
    return list(raw.execute(baseline.sql, baseline.params).fetchall())


@dataclass
class Numbers:
    """The baseline's rows as each measure's value per person."""

    measures: dict[str, dict[int, Decimal]]
    listed: dict[str, dict[int, set[int]]]

    @classmethod
    def of(cls, rows: list[tuple[Any, ...]], sqlite: bool) -> Numbers:
        m: dict[str, dict[int, Decimal]] = {
            key: {} for key in ("contract_amount", "collected", "visits", "follow_ups",
                                "on_time_follow_ups", "satisfaction", "new_grade_a_customers")
        }  # fmt: skip
        listed: dict[str, dict[int, set[int]]] = {"contract_amount": {}, "grade_a": {}}

        def add(key: str, member: int, value: Decimal) -> None:
            m[key][member] = m[key].get(member, Decimal(0)) + value

        def exact(raw: Any, split: bool) -> Decimal:
            """As ``measures.actuals`` reads a sum: SQLite's integer cents (times the share
            in hundredths of a percent for a split), PostgreSQL's NUMERIC (times the share)."""
            scale = (2 if sqlite else 0) + (4 if split else 0)
            return Decimal(raw).scaleb(-scale) if scale else Decimal(str(raw))

        for part, member, a, b, on_time, rating, rated, ids in rows:
            member = int(member)
            if part == "follow_ups":
                add("follow_ups", member, Decimal(a))
                add("visits", member, Decimal(b or 0))
                add("on_time_follow_ups", member, Decimal(on_time or 0))
                if rated:
                    m["satisfaction"][member] = Decimal(str(rating)) / rated
            elif part in ("signed", "split"):
                add("contract_amount", member, exact(a, part == "split"))
            elif part == "collected":
                add("collected", member, exact(a, False))
            elif part == "grade_a":
                add("new_grade_a_customers", member, Decimal(a))
            if ids:
                key = "grade_a" if part == "grade_a" else "contract_amount"
                listed[key].setdefault(member, set()).update(
                    int(item.split("=")[0]) for item in ids.split(",")
                )
        return cls(m, listed)

    def of_person(self, key: str, person: int) -> Decimal:
        return self.measures[key].get(person, Decimal(0))


# -- the computations' numbers, checked against the baselines' -------------------------------


def _teams(work: Work, persons: set[int]) -> dict[int, set[int]]:
    """Whom each person's team metrics add up: the members of the departments they head
    (and below), as ``scorecards`` counts them."""
    from sales_performance import org

    found = {}
    for person in persons:
        departments = org.headed_by(work, person)
        found[person] = (
            set(
                work.session.scalars(
                    select(Membership.user_id).where(Membership.department_id.in_(departments))
                )
            )
            if departments
            else set()
        )
    return found


def check_scorecards(runtime: Runtime, cards: list[Any], numbers: Numbers) -> int:
    """Every line's actual on every scorecard equals the baseline's; returns lines checked."""
    with runtime.read() as work:
        teams = _teams(work, {card.member for card in cards})
    checked = 0
    for card in cards:
        for line in card.lines:
            item = line.item
            if item.source == "manual":
                continue

            def value(key: str, item: Any = item, person: int = card.member) -> Decimal:
                if item.of == "team":
                    return sum((numbers.of_person(key, m) for m in teams[person]), Decimal(0))
                return numbers.of_person(key, person)

            expected: Decimal | None = value(item.measure)
            if item.source == "ratio":
                denominator = value(item.denominator)
                expected = None if denominator == 0 else expected / denominator  # type: ignore[operator]
            assert line.result.actual == expected, (
                f"user {card.member}, {card.period.key}, {item.metric.key}: the scorecard says "
                f"{line.result.actual}, the baseline {expected}"
            )
            checked += 1
    return checked


def check_statements(runtime: Runtime, lines: list[Line], numbers: Numbers) -> int:
    """Commission bases and the contracts listed under them, SPIF counts and the customers
    under them, and override bases equal the baseline's; returns lines checked."""
    from sales_performance.incentives.compute import parse_records

    with runtime.read() as work:
        teams = _teams(work, {line.member for line in lines})
    checked = 0
    for line in lines:
        person, listed = line.member, None
        if line.kind == "commission":
            expected = numbers.of_person("contract_amount", person)
            listed = numbers.listed["contract_amount"].get(person, set())
        elif line.kind == "spif":
            expected = numbers.of_person("new_grade_a_customers", person)
            listed = numbers.listed["grade_a"].get(person, set())
        elif line.kind == "manager_override":
            expected = sum(
                (numbers.of_person("contract_amount", m) for m in teams[person] - {person}),
                Decimal(0),
            )
        else:
            continue
        assert line.base == expected.quantize(Decimal("0.000001")), (
            f"user {person}, {line.rule}: the statement's base is {line.base}, the baseline's "
            f"{expected}"
        )
        if listed is not None and line.records:  # (no target, no commission: none listed)
            _, values = parse_records(line.records)
            cut = line.records.endswith("…")  # the line's records column was full
            assert set(values) <= listed and (cut or set(values) == listed), (
                f"user {person}, {line.rule}: the statement lists other records than the baseline"
            )
        checked += 1
    return checked


@dataclass
class Line:
    """A statement line as computed or as stored: what the checks compare."""

    member: int
    rule: str
    kind: str
    base: Decimal | None
    records: str | None

    @classmethod
    def computed(cls, statements: list[Any]) -> list[Line]:
        return [
            cls(s.member, line.rule, line.kind, _places(line.base), ";".join(line.records))
            for s in statements
            for line in s.lines
        ]

    @classmethod
    def stored(cls, statements: list[dict[str, Any]]) -> list[Line]:
        return [
            cls(
                s["member"],
                row["rule"],
                row["kind"],
                None if row["base"] is None else Decimal(row["base"]),
                row["records"],
            )
            for s in statements
            for row in s["lines"]
        ]


def _places(value: Decimal | None) -> Decimal | None:
    """A base as a statement stores it (six places)."""
    return None if value is None else value.quantize(Decimal("0.000001"))


# -- the figures -----------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    engine: Callable[[], Any]
    baseline: Baseline
    check: Callable[[Any, Numbers], int]
    note: str = ""


def figures(inst: Instance, forms: dict[str, Form], sql: Sql) -> list[Figure]:
    from sales_performance.incentives.compute import compute
    from sales_performance.incentives.statements import list_statements, run_period
    from sales_performance.kpi.scorecards import scorecards
    from sales_performance.periods import Period

    runtime = inst.runtime
    month, year = Period.parse(MONTH), Period.parse(YEAR)

    def cards(period: str) -> Callable[[], Any]:
        def run() -> Any:
            with runtime.read() as work:
                return scorecards(work, period, everyone=True)

        return run

    def computed() -> Any:
        with runtime.read() as work:
            return compute(work, month)

    def run() -> Any:
        with runtime.write() as work:  # a system unit of work, as the scheduled run is
            return run_period(work, MONTH)

    def run_checked(report: Any, numbers: Numbers) -> int:
        assert len(report["drafts"]) == 36, report  # one draft per rep and manager
        with runtime.read() as work:
            stored = list_statements(work, MONTH)
        return check_statements(runtime, Line.stored(stored), numbers)

    def scored(cards: Any, numbers: Numbers) -> int:
        return check_scorecards(runtime, cards, numbers)

    def stated(statements: Any, numbers: Numbers) -> int:
        return check_statements(runtime, Line.computed(statements), numbers)

    kpi_month = baseline_query(forms, sql, month, incentives=False)
    kpi_year = baseline_query(forms, sql, year, incentives=False)
    pay_month = baseline_query(forms, sql, month, incentives=True)
    return [
        Figure(f"KPI scorecards, everybody, {MONTH}", cards(MONTH), kpi_month, scored),
        Figure(f"KPI scorecards, everybody, {YEAR}", cards(YEAR), kpi_year, scored),
        Figure(f"incentives computed, {MONTH}", computed, pay_month, stated),
        Figure(
            f"incentive run (stores 36 drafts), {MONTH}",
            run,
            pay_month,
            run_checked,
            "reruns before approval, replacing the drafts; baseline stores nothing",
        ),
    ]


def paired(
    engine: Callable[[], Any], baseline: Callable[[], Any], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """``harness.latencies`` of both, their calls alternating (after two warm-up calls
    each) so both meet the same load on a shared machine; with this process's CPU time
    per call beside the wall time (on SQLite all the work is in-process, so CPU time is
    what the machine's other load does not change)."""
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for n in range(repeat + 2):
        for i, run in enumerate((engine, baseline)):
            start, used = time.perf_counter(), time.process_time()
            run()
            if n >= 2:
                wall[i].append((time.perf_counter() - start) * 1000)
                cpu[i].append((time.process_time() - used) * 1000)
    return tuple(  # type: ignore[return-value]
        {
            "p50_ms": percentile(wall[i], 0.50),
            "p95_ms": percentile(wall[i], 0.95),
            "p99_ms": percentile(wall[i], 0.99),
            "mean_ms": statistics.fmean(wall[i]),
            "cpu_p50_ms": percentile(cpu[i], 0.50),
        }
        for i in (0, 1)
    )


def measure(
    inst: Instance, forms: dict[str, Form], repeat: int, only: str | None = None
) -> list[dict[str, Any]]:
    sql = Sql(inst.runtime.db.dialect)
    raw = _raw_connection(inst)
    results = []
    try:
        for figure in figures(inst, forms, sql):
            if only and only.lower() not in figure.name.lower():
                continue
            start = time.perf_counter()
            output = figure.engine()
            first = time.perf_counter() - start
            numbers = Numbers.of(run_baseline(raw, figure.baseline), sql.sqlite)
            checked = figure.check(output, numbers)
            engine, baseline = paired(
                figure.engine, lambda figure=figure: run_baseline(raw, figure.baseline), repeat
            )
            results.append(
                {
                    "figure": figure.name,
                    "engine": engine,
                    "baseline": baseline,
                    "ratio": engine["p50_ms"] / baseline["p50_ms"],
                    # PostgreSQL works in its own processes: this process's CPU time says little
                    "cpu_ratio": engine["cpu_p50_ms"] / baseline["cpu_p50_ms"]
                    if sql.sqlite
                    else None,
                    "first_call_ms": first * 1000,
                    "lines_checked": checked,
                    "note": figure.note,
                }
            )
            print(
                f"  {figure.name}: {engine['p50_ms']:.1f} ms beside {baseline['p50_ms']:.1f} ms "
                f"({checked} numbers checked equal; first call {first * 1000:.0f} ms)",
                flush=True,
            )
    finally:
        raw.close()
    return results


# -- report ----------------------------------------------------------------------------------


def _postgres() -> tuple[str, Any]:
    """A throwaway PostgreSQL server, started as the test suite starts one."""
    import psycopg
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    admin = server.start()
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("CREATE DATABASE bench")
    return admin.rsplit("/", 1)[0] + "/bench", server


def _commit() -> str:
    """The commit measured (``+`` when the working tree differs from it)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+" if git("status", "--porcelain") else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=10.0, help="of the demo's record counts")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per figure")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL")
    parser.add_argument("--reuse", type=Path, help="an SQLite instance folder loaded before")
    parser.add_argument(
        "--only", help="measure only the figures whose name holds this text (e.g. incentive)"
    )
    args = parser.parse_args(argv)

    server = None
    url = args.database
    if args.postgres:
        url, server = _postgres()
    try:
        if args.reuse:
            config = Config(
                instance_path=args.reuse, database_url=f"sqlite:///{args.reuse / 'bench.db'}"
            )
            inst = Instance(Runtime(config), None, args.reuse)
            made = json.loads((args.reuse / "sales_performance.json").read_text())
            print(f"reusing {args.reuse} (loaded at scale {made['scale']:g})", flush=True)
        else:
            inst = instance(url)
            print(
                f"loading the demo company at {args.scale:g}× into "
                f"{inst.runtime.db.dialect} ({inst.folder})",
                flush=True,
            )
            made = {"scale": args.scale, **setup(inst, args.scale, print)}
            (inst.folder / "sales_performance.json").write_text(json.dumps(made, indent=2))
        with inst.runtime.read() as work:
            forms = {name: Form.of(work, name) for name in
                     ("customer", "follow_up", "opportunity", "contract", "payment")}  # fmt: skip
            counts = {
                name: work.session.scalar(
                    select(func.count()).where(
                        Record.form_id == form.id, Record.deleted_at.is_(None)
                    )
                )
                for name, form in forms.items()
            }
        print(
            f"measuring ({args.repeat} timed calls each, alternating with the baseline's, after "
            "two warm-up calls)",
            flush=True,
        )
        results = measure(inst, forms, args.repeat, args.only)
        dialect = inst.runtime.db.dialect
        inst.runtime.close()
    finally:
        if server is not None:
            server.stop()

    scale = made["scale"]
    print(
        f"\n{dialect}, demo at {scale:g}×: "
        + ", ".join(f"{n:,} {k.replace('_', '-')} records" for k, n in counts.items())
    )
    print(
        f"{'figure':<44} {'scale':>5} {'computation p50':>16} {'baseline p50':>13} {'ratio':>7}"
        f" {'CPU-time ratio':>15}"
    )
    for row in results:
        engine, baseline = row["engine"], row["baseline"]
        cpu = f"{row['cpu_ratio']:.2f}×" if row["cpu_ratio"] else "—"
        print(
            f"{row['figure']:<44} {scale:>4g}× {engine['p50_ms']:>13.1f} ms "
            f"{baseline['p50_ms']:>10.1f} ms {ratio(engine['p50_ms'], baseline['p50_ms']):>7} "
            f"{cpu:>15}"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(
                {
                    "database": dialect,
                    "commit": _commit(),
                    "counts": counts,
                    "setup": made,
                    "figures": results,
                },
                out,
                indent=2,
            )


if __name__ == "__main__":
    main()
