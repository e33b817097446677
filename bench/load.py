"""The whole system under load, and under faults (issue 10): real servers on 127.0.0.1, the
demo company at 10×, a realistic mix of people for a bounded time, then the invariants.

**The system.** ``--postgres`` (the default) is the scale-out setup of DESIGN.md §6:
gunicorn with ``--web-workers`` processes of ``--threads`` threads serving
``formflow.wsgi:app``, a throwaway PostgreSQL server (started as the test suite starts one),
a Redis-compatible server (the embedded Valkey that ``formflow dev`` runs, here as a
server of its own), three ``formflow worker`` processes and ``formflow scheduler``.
``--sqlite`` is the single-machine default, as ``formflow dev`` (the README's first command)
runs it: SQLite, the embedded Valkey, gunicorn with 2 workers of 4 threads, one
``formflow worker`` and the scheduler. Both send email to a local SMTP sink, as
``formflow dev`` does. The bench plays the supervisor that systemd would be: a worker or
scheduler that exits is started again after a second (gunicorn restarts its own workers).

**The data.** ``bench.sales_performance``'s loader at ``--scale`` (10: 50,000 customers,
500,000 follow-ups, 30,000 opportunities, 20,000 contracts and their payments) — or
``--reuse FOLDER``, a copy of an SQLite instance that bench loaded before — then the demo's
grants and product catalogue, the shipped dashboards, a password for everyone and an API
token for each person.

**The mix.** ``--users`` people at once for ``--seconds``, each pausing about ``--think``
seconds between actions. Four in five are reps (rep01…rep30, several sessions of one rep
when there are more users than reps), who open their home page, a customer's page, the
customer and follow-up lists, their dashboard and their inbox, log follow-ups through the
quick-add form of their home page (signed in as in a browser, with its CSRF token; the next
follow-up about an hour ahead, so the "an hour before" reminders fall due during the run)
and create quotations through the REST API (a quotation is priced and sent for discount
approval by the shipped automation; its discount decides how far up it goes). The others
are approvers (managers, directors, finance, the VP), who read their inbox, approve a task
(the API's task list, the task's page, the API's approve), open the overview dashboard and
their teams' customers. Two sessions of one approver may race for one task: the loser gets
409, counted as a *race lost*, not an error.

**Faults** (``--faults``), during the run, one after another: kill -9 a gunicorn worker, kill
-9 an RQ worker, the Redis server killed and started again empty on its port, PostgreSQL
restarted (fast shutdown, as ``systemctl restart`` does). A fault's window lasts from the
fault until the system answers again (plus two seconds); failed requests inside a window
are counted apart, and outside every window there must be none.

**After the run** the system drains (until nothing due is waiting, at most the reminder
lease plus a minute), and :mod:`bench.invariants` checks the database: flows, reminders,
automation runs, emails received, revisions. The report: throughput, p50/p95/p99 per
request type, errors, races lost, reminder and automation delays (those touched by each
fault apart), restarts, the invariants; also written to ``bench/results/load-<db>.json``.

``--ramp 10,25,50`` runs the mix at each user count in turn for ``--seconds`` each on the
same system (the write latency/throughput curve). ``--mix writes`` keeps only the writes
(reps log follow-ups and create quotations, approvers approve): with a short ``--think``,
where the database's writer becomes the limit. Beside each stage: the CPU time the system
under test used per answered request (web, workers, scheduler, database and Valkey; not
the load client) and what that makes on two cores to itself, and the machine's load
average — the figures hold on a machine shared with other work only as ratios.

Run: ``python -m bench.load [--postgres|--sqlite] [--users 50] [--seconds 300] [--faults]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from bench import sales_performance as sales
from bench.harness import Instance, instance, percentile
from bench.invariants import check_all
from formflow import Config, Runtime
from formflow.automations.models import AutomationRun, RunState
from formflow.automations.triggers import QUIET
from formflow.definitions.service import get_form
from formflow.jobs import redis_server
from formflow.migrations import upgrade
from formflow.people import service as people
from formflow.people import tokens
from formflow.people.models import User
from formflow.records.models import Record
from formflow.reminders.models import Reminder, ReminderState
from formflow.serving import gunicorn_command

APP = "sales_performance"
RESULTS = Path(__file__).parent / "results"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: The approvers' accounts, managers most (each heads a team of reps).
APPROVERS = (
    "manager1",
    "manager2",
    "manager3",
    "manager4",
    "manager1",
    "manager2",
    "manager3",
    "manager4",
    "director1",
    "director2",
    "vp",
    "finance",
)
#: The rep's own dashboard is a small share: at 10× each view costs seconds of CPU (its
#: score chart computes the rep's scorecards, and every follow-up written invalidates its
#: cache), so at a tenth of the actions it alone saturated two cores.
REP_MIX = {
    "home": 17,
    "customer_page": 24,
    "customer_list": 10,
    "follow_up_list": 10,
    "follow_up_create": 20,
    "quotation_create": 10,
    "dashboard_my": 2,
    "notifications": 7,
}
#: ``--mix writes``: the same people doing nothing but writing (where the database's writer
#: becomes the limit).
WRITE_MIX = {"follow_up_create": 65, "quotation_create": 35}
APPROVER_MIX = {"inbox": 25, "approve": 40, "dashboard_overview": 20, "team_customers": 15}
#: Seconds after a fault's recovery still counted in its window (a request sent just
#: before the system answered again).
GRACE = 5
#: Writes, for the write latency/throughput curve.
WRITES = ("follow_up_create", "quotation_create", "approve")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the system --------------------------------------------------------------------------------


@dataclass
class Managed:
    """A process the supervisor keeps running (as a systemd unit with Restart=always)."""

    name: str
    argv: list[str]
    restart: bool = True
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.managed: dict[str, Managed] = {}
        self.events: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def add(self, name: str, argv: list[str], restart: bool = True) -> Managed:
        unit = Managed(name, argv, restart)
        self.managed[name] = unit
        self._spawn(unit)
        return unit

    def _spawn(self, unit: Managed) -> None:
        out = open(self.folder / f"{unit.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        unit.process = subprocess.Popen(
            unit.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()

    def start(self) -> None:
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for unit in self.managed.values():
                assert unit.process is not None
                code = unit.process.poll()
                if code is None or not unit.restart or self._stop.is_set():
                    continue
                self.events.append({"at": time.time(), "unit": unit.name, "exit": code})
                log(f"supervisor: {unit.name} exited ({code}); starting it again in 1 s")
                time.sleep(1.0)  # RestartSec=1
                self._spawn(unit)
                unit.restarts.append(time.time())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for unit in self.managed.values():
            if unit.process and unit.process.poll() is None:
                os.killpg(unit.process.pid, signal.SIGTERM)
        for unit in self.managed.values():
            if unit.process is None:
                continue
            try:
                unit.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(unit.process.pid, signal.SIGKILL)
                unit.process.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_of(pid: int) -> float:
    """CPU seconds of a process, its finished children and its live descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK") + sum(_cpu_of(c) for c in _children(pid))


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """The servers and processes of one run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="formflow-load-"))
        self.postgres: Any = None
        self.valkey: Any = None
        self.sink: Any = None
        self.supervisor: Supervisor | None = None
        self.inst: Instance | None = None
        self.made: dict[str, Any] = {}

    # -- data
    def load(self) -> Instance:
        args = self.args
        if args.postgres:
            url, self.postgres = sales._postgres()
            self.inst = instance(url)
        elif args.reuse:
            log(f"copying the SQLite instance {args.reuse}")
            shutil.copyfile(args.reuse / "bench.db", self.folder / "bench.db")
            url = f"sqlite:///{self.folder / 'bench.db'}"
            config = Config(instance_path=self.folder, database_url=url)
            self.inst = Instance(Runtime(config), None, self.folder)
            self.made = json.loads((args.reuse / "sales_performance.json").read_text())
            upgrade(self.inst.runtime.db.engine)
            return self.inst
        else:
            self.inst = instance(None)
        log(f"loading the demo company at {args.scale:g}× into {self.inst.runtime.db.dialect}")
        self.made = {"scale": args.scale, **sales.setup(self.inst, args.scale, print)}
        return self.inst

    # -- servers
    def start(self) -> str:
        from formflow.mail.sink import MailSink

        assert self.inst is not None
        args = self.args
        self.valkey_port = _free_port()
        self.valkey = redis_server.start(self.folder / "redis", port=self.valkey_port)
        self.redis_url = redis_server.url_of(self.valkey)
        self.sink = MailSink(self.folder / "mail").start()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": self.inst.runtime.config.database_url,
            "REDIS_URL": self.redis_url,
            "FORMFLOW_INSTANCE": str(self.inst.folder),
            "FORMFLOW_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "SMTP_URL": self.sink.url,
        }
        if args.lease:
            env["FORMFLOW_REMINDER_LEASE"] = str(args.lease)
        self.env = env
        self.supervisor = supervisor = Supervisor(env, self.folder)
        python = sys.executable
        # served as `formflow run` serves (keep-alive, timeout), minus the access log
        gunicorn = gunicorn_command(
            f"127.0.0.1:{self.port}",
            workers=args.web_workers,
            threads=args.threads,
            access_log=False,
        )
        supervisor.add("gunicorn", gunicorn)
        for n in range(args.rq_workers):
            supervisor.add(f"rq-worker-{n + 1}", [python, "-m", "formflow", "worker"])
        supervisor.add("scheduler", [python, "-m", "formflow", "scheduler"])
        supervisor.start()
        self.wait_healthy(120)
        log(
            f"up: {self.url} ({args.web_workers} gunicorn workers × {args.threads} threads), "
            f"{args.rq_workers} RQ worker(s), scheduler, Redis {self.redis_url}, "
            f"{self.inst.runtime.db.dialect}; logs in {self.folder}"
        )
        return self.url

    def cpu_seconds(self) -> float:
        """CPU time the system under test has used: web, workers, scheduler, the database
        server and Valkey (the load client's own is not in it)."""
        assert self.supervisor is not None
        roots = [u.process.pid for u in self.supervisor.managed.values() if u.process]
        if self.postgres is not None:
            roots.append(self.postgres.process.pid)
        if self.valkey is not None and self.valkey._process is not None:
            roots.append(self.valkey._process.pid)
        return sum(_cpu_of(pid) for pid in roots)

    def gunicorn_workers(self) -> list[int]:
        assert self.supervisor is not None
        master = self.supervisor.managed["gunicorn"].process
        assert master is not None
        return _children(master.pid)

    def workers_listed(self) -> int:
        from redis import Redis
        from rq import Worker

        return len(Worker.all(connection=Redis.from_url(self.redis_url)))

    def job_done(self, timeout: float) -> bool:
        """Whether a job enqueued now is run by a worker (reading the database) in time."""
        from formflow.jobs.queue import queue

        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            try:
                if job is None:
                    job = queue(self.redis_url).enqueue("formflow.jobs.queue.ping")
                status = job.get_status(refresh=True)
                if status == "finished":
                    return True
                if status in (None, "failed"):  # lost with Redis, or the database was away
                    job = None
            except Exception:
                job = None
            time.sleep(0.25)
        return False

    def wait_healthy(self, timeout: float, token: str | None = None) -> bool:
        """Until every gunicorn worker is up, the app answers (reading the database when
        given a token), every supervised process runs and a job gets done."""
        assert self.supervisor is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ok = len(self.gunicorn_workers()) >= self.args.web_workers and all(
                    u.process is not None and u.process.poll() is None
                    for u in self.supervisor.managed.values()
                )
                if ok:
                    path = "/api/v1/me" if token else "/healthz"
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    ok = requests.get(self.url + path, headers=headers, timeout=5).ok
                if ok and self.job_done(deadline - time.monotonic()):
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.25)
        return False

    # -- faults
    def kill_web_worker(self) -> str:
        pid = random.choice(self.gunicorn_workers())
        os.kill(pid, signal.SIGKILL)
        return f"gunicorn worker pid {pid}"

    def kill_rq_worker(self) -> str:
        assert self.supervisor is not None
        unit = self.supervisor.managed["rq-worker-1"]
        assert unit.process is not None
        os.kill(unit.process.pid, signal.SIGKILL)
        return f"RQ worker pid {unit.process.pid}"

    def restart_redis_empty(self) -> str:
        process = self.valkey._process
        process.kill()
        process.wait()
        self.valkey._process = None
        data = self.folder / "redis"
        for entry in data.iterdir():
            if entry.name not in ("valkey.conf",) and not entry.name.endswith(".log"):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        self.valkey = redis_server.start(data, port=self.valkey_port)
        return f"Valkey killed, its data deleted, started again empty on port {self.valkey_port}"

    def restart_postgres(self) -> str:
        from tests.support.postgres import _bin

        server = self.postgres
        command = [_bin("pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", "stop"]
        if server.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)
        server.process.wait(timeout=60)
        out = open(server.root / "server.log", "ab")  # noqa: SIM115 - lives with the server
        server.process = subprocess.Popen(server.process.args, stdout=out, stderr=subprocess.STDOUT)
        server._wait_ready()
        return "PostgreSQL stopped (fast) and started again"

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.valkey is not None:
            self.valkey.stop()
        if self.sink is not None:
            self.sink.stop()
        if self.inst is not None:
            self.inst.runtime.close()
        if self.postgres is not None:
            self.postgres.stop()


# -- the people --------------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    id: int
    token: str
    customers: list[int] = field(default_factory=list)


@dataclass
class Cast:
    reps: list[Person]
    approvers: dict[str, Person]
    products: list[tuple[int, int]]  # (record id, list price)
    password: str = "load-bench-password"


def prepare(inst: Instance) -> Cast:
    """The demo's grants, catalogue and dashboards; a password and a token for everyone."""
    from formflow.dashboards import files as dashboard_files
    from sales_performance.demo import PRODUCTS, _grant, _products

    runtime = inst.runtime
    [bundle] = [b for b in runtime.plugins.apps() if b.name == APP]
    cast = Cast([], {}, [])
    with runtime.write() as work:
        work.memo[QUIET] = True
        people.ensure_role(work, "hr", "人力")
        _grant(work)
        product = get_form(work, f"{APP}.product")
        ids = list(
            work.session.scalars(
                select(Record.id).where(Record.form_id == product.form.id).order_by(Record.id)
            )
        ) or _products(work, work.now)
        cast.products = [(i, p.list_price) for i, p in zip(ids, PRODUCTS, strict=True)]
        dashboard_files.install(work, bundle.name, bundle.dashboards)
        hashed = people.hash_password(cast.password)
        customer = get_form(work, f"{APP}.customer").form.id
        for user in work.session.scalars(select(User).where(User.username != "bench")):
            user.password_hash = hashed
            user.email = user.email or f"{user.username}@example.com"  # reminders email too
            person = Person(user.username, user.id, tokens.issue(work, user, "load"))
            if user.username.startswith("rep"):
                person.customers = list(
                    work.session.scalars(
                        select(Record.id)
                        .where(
                            Record.form_id == customer,
                            Record.owner_id == user.id,
                            Record.deleted_at.is_(None),
                        )
                        .limit(200)
                    )
                )
                cast.reps.append(person)
            else:
                cast.approvers[user.username] = person
    cast.reps.sort(key=lambda p: p.username)
    with runtime.write() as work:
        # a reused instance's schedules that fell due since it was loaded (the nightly
        # regrading at 02:00) belong to the night, not to the load: to the same time tomorrow
        overdue = work.session.scalars(
            select(Reminder).where(
                Reminder.kind == "automation_tick",
                Reminder.state == ReminderState.PENDING.value,
                Reminder.due_at <= work.now + dt.timedelta(hours=1),
            )
        ).all()
        for tick in overdue:
            while tick.due_at <= work.now + dt.timedelta(hours=1):
                tick.due_at += dt.timedelta(days=1)
    return cast


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    at: float  # wall clock, when sent
    ms: float
    status: int  # 0: no answer
    outcome: str  # ok, error, race
    stage: str


class Recorder:
    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.errors: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stage = ""

    def add(self, sample: Sample, detail: str = "") -> None:
        with self.lock:
            self.samples.append(sample)
            if sample.outcome == "error" and len(self.errors) < 200:
                self.errors.append(
                    {
                        "kind": sample.kind,
                        "at": sample.at,
                        "status": sample.status,
                        "detail": detail[:300],
                    }
                )


class User_:
    """One person's browser (a session with its cookie) and API client."""

    def __init__(
        self,
        base: str,
        person: Person,
        cast: Cast,
        recorder: Recorder,
        rng: random.Random,
        zone: ZoneInfo,
    ) -> None:
        self.base = base
        self.person = person
        self.cast = cast
        self.recorder = recorder
        self.rng = rng
        self.zone = zone
        self.web = requests.Session()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {person.token}"
        self.csrf = ""

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        client: Any = None,
        expect: tuple[int, ...] = (200,),
        race: tuple[int, ...] = (),
        retried: bool = False,
        **kwargs: Any,
    ) -> requests.Response | None:
        client = client or self.web
        at = time.time()
        started = time.perf_counter()
        try:
            response = client.request(
                method, self.base + path, timeout=60, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            ms = (time.perf_counter() - started) * 1000
            closed = isinstance(error, requests.ConnectionError) and "aborted" in str(error)
            if method == "GET" and closed and not retried:
                # a kept-alive connection closed under it (the server's keep-alive timeout
                # racing the request, a worker gone): a browser sends a GET again, once
                self.recorder.add(Sample(kind, at, ms, 0, "retried", self.recorder.stage))
                return self.call(
                    kind,
                    method,
                    path,
                    client=client,
                    expect=expect,
                    race=race,
                    retried=True,
                    **kwargs,
                )
            self.recorder.add(Sample(kind, at, ms, 0, "error", self.recorder.stage), repr(error))
            return None
        ms = (time.perf_counter() - started) * 1000
        if response.status_code in expect:
            outcome = "ok"
        elif response.status_code in race:
            outcome = "race"
        else:
            outcome = "error"
        self.recorder.add(
            Sample(kind, at, ms, response.status_code, outcome, self.recorder.stage),
            f"{method} {path}: {response.text[:300]}" if outcome == "error" else "",
        )
        return response if outcome == "ok" else None

    def sign_in(self) -> bool:
        for _ in range(20):  # the system may be between faults
            try:
                page = self.web.get(self.base + "/login", timeout=60)
                token = CSRF.search(page.text)
                answer = self.web.post(
                    self.base + "/login",
                    data={
                        "username": self.person.username,
                        "password": self.cast.password,
                        "csrf_token": token.group(1) if token else "",
                    },
                    timeout=60,
                    allow_redirects=False,
                )
                if answer.status_code == 302:
                    # signing in starts a new session: the login page's token is spent
                    self.csrf = ""
                    return True
            except requests.RequestException:
                pass
            time.sleep(1)
        return False

    def keep_csrf(self, response: requests.Response | None) -> None:
        if response is not None:
            found = CSRF.search(response.text)
            if found:
                self.csrf = found.group(1)


class Rep(User_):
    def act(self, kind: str) -> None:
        customers = self.person.customers
        if kind == "home":
            self.keep_csrf(self.call(kind, "GET", "/sales/"))
        elif kind == "customer_page":
            self.call(kind, "GET", f"/sales/customers/{self.rng.choice(customers)}")
        elif kind == "customer_list":
            self.call(kind, "GET", f"/f/{APP}.customer/")
        elif kind == "follow_up_list":
            self.call(kind, "GET", f"/f/{APP}.follow_up/")
        elif kind == "dashboard_my":
            self.call(kind, "GET", f"/dashboards/{APP}.my")
        elif kind == "notifications":
            self.call(kind, "GET", "/notifications/")
        elif kind == "follow_up_create":
            if not self.csrf:
                self.keep_csrf(self.call("home", "GET", "/sales/"))
            # the next one about an hour ahead: its "an hour before" reminder falls due soon
            ahead = dt.datetime.now(self.zone) + dt.timedelta(minutes=self.rng.randint(61, 64))
            self.call(
                kind,
                "POST",
                "/sales/follow-ups",
                expect=(302,),
                data={
                    "csrf_token": self.csrf,
                    "customer": str(self.rng.choice(customers)),
                    "type": self.rng.choice(("visit", "call", "demo", "email")),
                    "content": f"load bench {self.rng.randrange(10**9)}: 客户反馈良好",
                    "next_follow_up_at": ahead.date().isoformat(),
                    "next_follow_up_at-time": ahead.strftime("%H:%M"),
                },
            )
        elif kind == "quotation_create":
            lines = []
            for product, price in self.rng.sample(self.cast.products, self.rng.randint(1, 3)):
                lines.append(
                    {"product": product, "unit_price": price, "quantity": self.rng.randint(1, 3)}
                )
            # most within the manager's 10 %, some up to the director's 20 %, a few beyond
            discount = self.rng.choice((0, 0.05, 0.08, 0.1, 0.05, 0.15, 0.18, 0.25))
            self.call(
                kind,
                "POST",
                f"/api/v1/forms/{APP}.quotation/records",
                client=self.api,
                expect=(201,),
                json={
                    "data": {
                        "customer": self.rng.choice(customers),
                        "lines": lines,
                        "overall_discount": discount,
                    }
                },
            )


class Approver(User_):
    def act(self, kind: str) -> None:
        if kind == "inbox":
            self.call(kind, "GET", "/approvals/")
        elif kind == "dashboard_overview":
            self.call(kind, "GET", f"/dashboards/{APP}.overview")
        elif kind == "team_customers":
            self.call(kind, "GET", f"/f/{APP}.customer/")
        elif kind == "approve":
            listed = self.call("task_list", "GET", "/api/v1/tasks", client=self.api)
            if listed is None:
                return
            tasks = listed.json()["tasks"]
            if not tasks:
                return
            task = self.rng.choice(tasks)["id"]
            self.call("task_page", "GET", f"/approvals/tasks/{task}")
            # another session of the same person may have approved it meanwhile: 409
            self.call(
                kind,
                "POST",
                f"/api/v1/tasks/{task}/actions",
                client=self.api,
                race=(409,),
                json={"action": "approve", "comment": "同意"},
            )


def run_load(
    base: str,
    cast: Cast,
    users: int,
    seconds: float,
    think: float,
    recorder: Recorder,
    zone: ZoneInfo,
    seed: int = 1,
    writes_only: bool = False,
) -> tuple[float, float]:
    """``users`` people at once for ``seconds``; (start, end) wall-clock times."""
    approvers = max(1, round(users / 5))
    people_: list[User_] = []
    for n in range(users):
        rng = random.Random(seed * 1000 + n)
        if n % 5 == 4 and len([p for p in people_ if isinstance(p, Approver)]) < approvers:
            name = APPROVERS[len([p for p in people_ if isinstance(p, Approver)]) % len(APPROVERS)]
            people_.append(Approver(base, cast.approvers[name], cast, recorder, rng, zone))
        else:
            rep = cast.reps[len([p for p in people_ if isinstance(p, Rep)]) % len(cast.reps)]
            people_.append(Rep(base, rep, cast, recorder, rng, zone))
    signed = [False] * users

    def sign_in(i: int) -> None:
        signed[i] = people_[i].sign_in()

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not all(signed):
        raise SystemExit(f"{signed.count(False)} of {users} people could not sign in")
    stop = threading.Event()

    def live(user: User_) -> None:
        mix = (WRITE_MIX if writes_only else REP_MIX) if isinstance(user, Rep) else APPROVER_MIX
        if writes_only and not isinstance(user, Rep):
            mix = {"approve": 1}
        kinds, weights = list(mix), list(mix.values())
        stop.wait(user.rng.uniform(0, think * 2))  # not all at once
        while not stop.is_set():
            try:
                user.act(user.rng.choices(kinds, weights)[0])  # type: ignore[attr-defined]
            except Exception as error:  # a bug of the bench's own: say it, go on
                recorder.add(
                    Sample("client", time.time(), 0, 0, "error", recorder.stage), repr(error)
                )
            stop.wait(user.rng.uniform(0.5, 1.5) * think)

    started = time.time()
    threads = [threading.Thread(target=live, args=(u,), daemon=True) for u in people_]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=90)
    return started, time.time()


# -- faults ------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    detail: str = ""
    began: float = 0.0
    recovered: float = 0.0
    ok: bool = False


def inject_faults(
    stack: Stack,
    cast: Cast,
    started: float,
    seconds: float,
    faults: list[Fault],
    done: threading.Event,
) -> None:
    """The four faults at 15 %, 35 %, 55 % and 75 % of the run, each waited out."""
    token = cast.reps[0].token
    plan = [
        (0.15, "kill -9 a gunicorn worker", stack.kill_web_worker),
        (0.35, "kill -9 an RQ worker", stack.kill_rq_worker),
        (0.55, "restart Redis empty", stack.restart_redis_empty),
        (0.75, "restart PostgreSQL", stack.restart_postgres),
    ]
    for share, name, act in plan:
        if stack.postgres is None and "PostgreSQL" in name:
            continue
        wait = started + share * seconds - time.time()
        if wait > 0 and done.wait(wait):
            return
        fault = Fault(name, began=time.time())
        faults.append(fault)
        log(f"fault: {name}")
        try:
            fault.detail = act()
        except Exception as error:
            fault.detail = f"could not inject: {error!r}"
        time.sleep(0.6)  # the supervisor notices an exit within half a second
        fault.ok = stack.wait_healthy(120, token=token)
        fault.recovered = time.time()
        if "Redis" in name:  # working again, but do they still show (rq info, operations page)?
            time.sleep(15)
            fault.detail += (
                f"; RQ workers listed in Redis 15 s after: {stack.workers_listed()} of "
                f"{stack.args.rq_workers}"
            )
        log(
            f"  recovered after {fault.recovered - fault.began:.1f} s"
            if fault.ok
            else "  NOT recovered after 120 s"
        )


# -- after the run -----------------------------------------------------------------------------


def drain(runtime: Runtime, since: dt.datetime, settled: dt.datetime, timeout: float) -> float:
    """Wait until nothing that fell due before ``settled`` is waiting; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with runtime.read() as work:
            waiting = work.session.scalar(
                select(func.count()).where(
                    Reminder.created_at >= since,
                    Reminder.due_at <= settled,
                    Reminder.state.in_([ReminderState.PENDING.value, ReminderState.QUEUED.value]),
                )
            )
            runs = work.session.scalar(
                select(func.count()).where(
                    AutomationRun.created_at >= since,
                    AutomationRun.state.in_([RunState.PENDING.value, RunState.RETRYING.value]),
                )
            )
        if not waiting and not runs:
            break
        time.sleep(2)
    return time.monotonic() - started


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1),
    }


def requests_report(
    samples: list[Sample], seconds: float, windows: list[tuple[float, float]]
) -> dict[str, Any]:
    def in_window(sample: Sample) -> bool:  # in flight at any moment of a window
        return any(sample.at <= b and sample.at + sample.ms / 1000 >= a for a, b in windows)

    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    kinds = {}
    for kind, rows in sorted(by_kind.items()):
        kinds[kind] = {
            **_stats([s.ms for s in rows if s.outcome == "ok"]),
            "per_s": round(sum(1 for s in rows if s.outcome == "ok") / seconds, 2),
            "errors": sum(1 for s in rows if s.outcome == "error" and not in_window(s)),
            "errors_in_fault_windows": sum(
                1 for s in rows if s.outcome == "error" and in_window(s)
            ),
            "races_lost": sum(1 for s in rows if s.outcome == "race"),
        }
    ok = [s for s in samples if s.outcome == "ok"]
    writes = [s.ms for s in ok if s.kind in WRITES]
    reads = [s.ms for s in ok if s.kind not in WRITES]
    return {
        "requests": len(samples),
        "throughput_per_s": round(len(ok) / seconds, 1),
        "writes_per_s": round(len(writes) / seconds, 2),
        "writes": _stats(writes),
        "reads": _stats(reads),
        "errors": sum(1 for s in samples if s.outcome == "error" and not in_window(s)),
        "errors_in_fault_windows": sum(1 for s in samples if s.outcome == "error" and in_window(s)),
        "races_lost": sum(1 for s in samples if s.outcome == "race"),
        "get_sent_again": sum(1 for s in samples if s.outcome == "retried"),
        "by_kind": kinds,
    }


def delays(
    runtime: Runtime, since: dt.datetime, windows: list[tuple[str, float, float]]
) -> dict[str, Any]:
    """Due → delivered per reminder kind, and for what a fault touched: reminders queued or
    falling due within its window, automation runs created in it."""
    with runtime.read() as work:
        reminders = work.session.execute(
            select(
                Reminder.kind, Reminder.due_at, Reminder.done_at, Reminder.attempts, Reminder.late
            ).where(Reminder.created_at >= since, Reminder.state == ReminderState.DONE.value)
        ).all()
        runs = work.session.execute(
            select(AutomationRun.created_at, AutomationRun.finished_at).where(
                AutomationRun.created_at >= since, AutomationRun.state == RunState.DONE.value
            )
        ).all()

    def seconds(a: dt.datetime, b: dt.datetime) -> float:
        return (b - a).total_seconds()

    def stamp(moment: dt.datetime) -> float:
        return moment.timestamp()

    def summary(lags: list[float]) -> dict[str, Any]:
        if not lags:
            return {"count": 0}
        return {
            "count": len(lags),
            "p50_s": round(percentile(lags, 0.5), 2),
            "p95_s": round(percentile(lags, 0.95), 2),
            "max_s": round(max(lags), 2),
        }

    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, due, done, _, _ in reminders:
        by_kind[kind].append(seconds(due, done))
    result: dict[str, Any] = {
        "reminders_due_to_done": {k: summary(v) for k, v in sorted(by_kind.items())},
        "reminders_retried": sum(1 for r in reminders if r.attempts),
        "reminders_flagged_late": sum(1 for r in reminders if r.late),
        # a job lost with Redis waits for the lease; these are the ones that did
        "delivered_over_a_minute_late": [
            {"kind": kind, "due_at": due.isoformat(), "lag_s": round(seconds(due, done), 1)}
            for kind, due, done, _, _ in sorted(reminders, key=lambda r: r.due_at)
            if seconds(due, done) > 60
        ][:50],
        "automation_runs_created_to_done": summary(
            [seconds(a, b) for a, b in runs if b is not None]
        ),
        "faults": {},
    }
    for name, began, ended in windows:
        touched = [
            seconds(due, done)
            for _, due, done, _, _ in reminders
            if began <= stamp(due) <= ended or began <= stamp(done) - seconds(due, done) <= ended
        ]
        run_lags = [seconds(a, b) for a, b in runs if b is not None and began <= stamp(a) <= ended]
        result["faults"][name] = {
            "reminders_due_in_window": summary(touched),
            "automation_runs_created_in_window": summary(run_lags),
        }
    return result


# -- the report --------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    for stage in report["stages"]:
        r = stage["requests"]
        print(
            f"\n{stage['users']} users, {stage['seconds']:.0f} s: {r['throughput_per_s']} req/s "
            f"({r['writes_per_s']} writes/s), {r['requests']:,} requests, errors {r['errors']}"
            f" (+{r['errors_in_fault_windows']} inside fault windows), races lost "
            f"{r['races_lost']}, GETs sent again {r.get('get_sent_again', 0)}; "
            f"server CPU {r['server_cpu_ms_per_request']} ms per request "
            f"(both cores to itself: ~{r['cpu_bound_capacity_per_s']} req/s); machine load "
            f"average {r['load_average_1m']:.1f}"
        )
        print(
            f"  {'request':<20} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'p99 ms':>8} {'errors':>7}"
        )
        for kind, row in r["by_kind"].items():
            if not row.get("count"):
                print(f"  {kind:<20} {0:>7} — errors {row['errors']}")
                continue
            print(
                f"  {kind:<20} {row['count']:>7,} {row['per_s']:>7.2f} {row['p50_ms']:>8.0f} "
                f"{row['p95_ms']:>8.0f} {row['p99_ms']:>8.0f} {row['errors']:>7}"
            )
    d = report["delays"]
    print("\ndue → delivered:")
    for kind, row in d["reminders_due_to_done"].items():
        if row["count"]:
            print(
                f"  {kind:<16} {row['count']:>6,}  p50 {row['p50_s']} s, p95 {row['p95_s']} s, "
                f"max {row['max_s']} s"
            )
    row = d["automation_runs_created_to_done"]
    if row["count"]:
        print(
            f"  automation runs  {row['count']:>6,}  p50 {row['p50_s']} s, p95 {row['p95_s']} s,"
            f" max {row['max_s']} s"
        )
    for fault in report.get("faults", []):
        touched = d["faults"].get(fault["name"], {})
        recovery = f"in {fault['recovery_s']} s" if fault["ok"] else "NOT"
        print(
            f"fault '{fault['name']}' ({fault['detail']}): recovered "
            f"{recovery}; "
            f"errors inside its window {fault['errors_in_window']}; "
            f"reminders it touched {touched.get('reminders_due_in_window')}; "
            f"runs {touched.get('automation_runs_created_in_window')}"
        )
    print(f"restarts by the supervisor: {report['restarts']}")
    inv = report["invariants"]
    print(f"invariants: {'all hold' if inv['ok'] else 'BROKEN'}")
    for group, checks in inv.items():
        if isinstance(checks, dict):
            for name, entry in checks.items():
                if entry.get("examples") or "examples" not in entry:
                    print(f"  {group}.{name}: {entry}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--postgres", action="store_true", default=True)
    kind.add_argument("--sqlite", action="store_true")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--ramp", help="user counts run in turn, e.g. 10,25,50")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between actions")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument(
        "--mix",
        choices=("realistic", "writes"),
        default="realistic",
        help="writes: reps only log follow-ups and create quotations, approvers approve",
    )
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--reuse", type=Path, help="a copy of this SQLite instance (--sqlite)")
    parser.add_argument("--web-workers", type=int)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rq-workers", type=int)
    parser.add_argument("--lease", type=int, help="FORMFLOW_REMINDER_LEASE (default: 300)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.sqlite:
        args.postgres = False
    if args.reuse and args.postgres:
        parser.error("--reuse is an SQLite instance: add --sqlite")
    database = "postgres" if args.postgres else "sqlite"
    args.web_workers = args.web_workers or (4 if args.postgres else 2)
    args.rq_workers = args.rq_workers or (3 if args.postgres else 1)
    stages = [int(n) for n in args.ramp.split(",")] if args.ramp else [args.users]

    stack = Stack(args)
    try:
        inst = stack.load()
        runtime = inst.runtime
        log("grants, catalogue, dashboards, passwords and tokens")
        cast = prepare(inst)
        zone = ZoneInfo(runtime.config.timezone)
        with runtime.read() as work:
            first_record = (work.session.scalar(select(func.max(Record.id))) or 0) + 1
            counts = dict(
                work.session.execute(
                    select(Record.form_id, func.count()).group_by(Record.form_id)
                ).all()
            )
        runtime.db.engine.dispose()
        base = stack.start()
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        recorder = Recorder()
        loaded_at = time.time()
        results = []
        faults: list[Fault] = []
        for n, users in enumerate(stages):
            recorder.stage = f"{users}"
            log(f"load: {users} users for {args.seconds:.0f} s (think {args.think} s)")
            done = threading.Event()
            injector = None
            if args.faults:
                injector = threading.Thread(
                    target=inject_faults,
                    args=(stack, cast, time.time() + 5, args.seconds, faults, done),
                )
                injector.start()
            cpu_before = stack.cpu_seconds()
            began, ended = run_load(
                base,
                cast,
                users,
                args.seconds,
                args.think,
                recorder,
                zone,
                n + 1,
                writes_only=args.mix == "writes",
            )
            done.set()
            if injector is not None:
                injector.join()
            windows = [(f.began, f.recovered + GRACE) for f in faults]
            mine = [s for s in recorder.samples if s.stage == f"{users}"]
            results.append(
                {
                    "users": users,
                    "seconds": ended - began,
                    "requests": requests_report(mine, ended - began, windows),
                }
            )
            r = results[-1]["requests"]
            used = stack.cpu_seconds() - cpu_before
            answered = sum(row.get("count", 0) for row in r["by_kind"].values())
            r["server_cpu_s"] = round(used, 1)
            r["server_cpu_ms_per_request"] = round(used * 1000 / max(1, answered), 1)
            # what the same work would reach with both cores to itself (no other load)
            r["cpu_bound_capacity_per_s"] = round(os.cpu_count() * answered / max(used, 1e-9), 1)
            r["load_average_1m"] = os.getloadavg()[0]
            log(
                f"  {r['throughput_per_s']} req/s, writes {r['writes_per_s']}/s "
                f"(p95 {r['writes'].get('p95_ms')} ms), reads p95 {r['reads'].get('p95_ms')} ms, "
                f"errors {r['errors']}"
            )
        settled = dt.datetime.now(dt.UTC)
        lease = args.lease or 300
        log(f"draining (at most {lease + 90} s: the reminder lease and a minute)")
        drained = drain(runtime, since, settled, lease + 90)
        log(f"  drained in {drained:.0f} s")
        windows = [(f.name, f.began, f.recovered + GRACE) for f in faults]
        report: dict[str, Any] = {
            "database": database,
            "commit": sales._commit(),
            "setup": {
                "scale": stack.made.get("scale"),
                "records": sum(counts.values()),
                "web": f"gunicorn {args.web_workers} workers × {args.threads} threads",
                "rq_workers": args.rq_workers,
                "scheduler": "formflow scheduler (10 s sweeps)",
                "reminder_lease_s": lease,
                "think_s": args.think,
                "mix": args.mix,
            },
            "stages": results,
            "faults": [
                {
                    "name": f.name,
                    "detail": f.detail,
                    "ok": f.ok,
                    "recovery_s": round(f.recovered - f.began, 1),
                    "errors_in_window": sum(
                        1
                        for s in recorder.samples
                        if s.outcome == "error"
                        and s.at <= f.recovered + GRACE
                        and s.at + s.ms / 1000 >= f.began
                    ),
                }
                for f in faults
            ],
            "restarts": [
                {"unit": e["unit"], "exit": e["exit"], "at_s": round(e["at"] - loaded_at, 1)}
                for e in (stack.supervisor.events if stack.supervisor else [])
            ],
            "drain_s": round(drained, 1),
            "delays": delays(runtime, since, windows),
            "error_samples": recorder.errors[:50],
        }
        report["invariants"] = check_all(
            runtime,
            since,
            first_record,
            settled_at=settled,
            mail_folder=stack.folder / "mail",
        )
        print_report(report)
        suffix = ("-writes" if args.mix == "writes" else "") + ("-faults" if args.faults else "")
        target = args.json or RESULTS / f"load-{database}{suffix}.json"
        target.write_text(json.dumps(report, indent=2, default=str))
        log(f"written to {target}")
    finally:
        stack.stop()
        if not os.environ.get("FORMFLOW_LOAD_KEEP"):
            shutil.rmtree(stack.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
