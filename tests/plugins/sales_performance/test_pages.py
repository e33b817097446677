"""The rep's pages in the browser's terms: the home shows a rep their own follow-ups due
today (the day in Shanghai) and overdue and where their quotations' approvals stand; the
quick follow-up saves through the engine — photo, place and all — or saves nothing and says
why beside the field; a customer's page shows every section, and only to those who may see
the customer."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import pytest

from formflow.definitions.service import get_form
from formflow.files.models import StoredFile
from formflow.people import service as people
from formflow.people.models import User
from formflow.records import service as records
from formflow.records.models import Record
from tests.conftest import EVERYONE_OWN, grant, snapshot
from tests.platform.automations.world import drain
from tests.platform.files.test_uploads import png
from tests.plugins.sales_performance.world import APP, Sales, build, install_plugin

PASSWORD = "sales pages password"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


@pytest.fixture
def browser(app, sales):
    app.config["WTF_CSRF_ENABLED"] = False
    return Browser(app, sales)


class Browser:
    """A signed-in test client per person, who reads the pages in a language of their
    choosing (a user's own setting wins over what the browser asks for)."""

    def __init__(self, app: Any, sales: Sales) -> None:
        self.app = app
        self.sales = sales
        self.clients: dict[str, Any] = {}

    def as_(self, name: str, language: str = "en") -> Any:
        with self.sales.runtime.write() as work:
            user = work.session.get(User, self.sales.people[name].id)
            user.language = language
            if name not in self.clients:
                people.set_password(work, user, PASSWORD)
        if name not in self.clients:
            client = self.app.test_client()
            signed_in = client.post("/login", data={"username": name, "password": PASSWORD})
            assert signed_in.status_code == 302
            self.clients[name] = client
        return self.clients[name]

    def page(self, name: str, url: str = "/sales/", language: str = "en") -> str:
        response = self.as_(name, language).get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


def shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def plan(sales: Sales, customer: int, when: dt.datetime, as_: str = "rita") -> None:
    """A follow-up an hour ago that plans the next one at ``when`` (the automation then
    moves the customer's next follow-up there)."""
    sales.create(
        "follow_up",
        as_=as_,
        customer=customer,
        type="visit",
        visited_at=(sales.runtime.clock() - dt.timedelta(hours=1)).isoformat(),
        content="visited",
        next_follow_up_at=when.isoformat(),
    )
    drain(sales.runtime)


def part(html: str, section_id: str) -> str:
    """The HTML of one ``<section id=…>`` of a page ('' when it is not there)."""
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def names_in(html: str) -> list[str]:
    return re.findall(r'<span class="name">([^<]+)', html)


# -- the home ------------------------------------------------------------------------------


def test_a_rep_sees_only_their_own_customers_follow_ups(sales, browser, clock):
    acme = sales.customer("Acme")
    late = sales.customer("Late Ltd")
    rons = sales.customer("Ron's Retail", as_="ron")
    plan(sales, acme, clock.now + dt.timedelta(hours=2))
    plan(sales, late, clock.now - dt.timedelta(days=3))
    plan(sales, rons, clock.now + dt.timedelta(hours=3), as_="ron")

    home = browser.page("rita")
    assert [n.strip() for n in names_in(part(home, "today"))] == ["Acme"]
    assert [n.strip() for n in names_in(part(home, "overdue"))] == ["Late Ltd"]
    assert "3 days overdue" in part(home, "overdue")
    assert "Ron&#39;s Retail" not in home and "Ron's Retail" not in home  # nor in the picker
    assert f'<option value="{acme}"' in part(home, "quick-add")
    assert f'<option value="{rons}"' not in home

    theirs = browser.page("ron")
    assert [n.strip() for n in names_in(part(theirs, "today"))] == ["Ron&#39;s Retail"]
    assert "Acme" not in theirs and "Late Ltd" not in theirs


def test_today_and_overdue_follow_the_day_in_shanghai_around_midnight(sales, browser, clock):
    evening = sales.customer("Evening Co")
    night = sales.customer("Night Owl")
    clock.now = shanghai(2026, 3, 16, 22, 0)
    plan(sales, evening, shanghai(2026, 3, 16, 23, 30))
    plan(sales, night, shanghai(2026, 3, 17, 0, 30))

    clock.now = shanghai(2026, 3, 16, 23, 59)  # 15:59 UTC: still the 16th in Shanghai
    home = browser.page("rita")
    today, overdue = part(home, "today"), part(home, "overdue")
    assert "Evening Co" in today and "late" in today  # its time has passed, its day not
    assert "Night Owl" not in today and "Night Owl" not in overdue
    assert "Evening Co" not in overdue

    clock.now = shanghai(2026, 3, 17, 0, 1)  # two minutes later it is the 17th
    home = browser.page("rita")
    today, overdue = part(home, "today"), part(home, "overdue")
    assert "Night Owl" in today and "Night Owl" not in overdue
    assert "Evening Co" in overdue and "1 day overdue" in overdue
    assert "Evening Co" not in today


def test_open_quotations_show_whom_their_approval_waits_on(sales, browser):
    acme = sales.customer("Acme")
    quote = sales.quote(("Router", "820", 1), customer=acme)  # 18 % off: manager, director
    number = sales.values("quotation", quote)["number"]

    def item() -> str:
        found = re.search(
            rf'<li class="item" data-quotation="{quote}">.*?</li>',
            part(browser.page("rita"), "quotes"),
            re.S,
        )
        assert found, "the quotation is not on the home"
        return found.group(0)

    assert number in item() and "Acme" in item() and "18%" in item()
    assert "In approval" in item() and "Waiting for max (Sales manager)" in item()
    sales.act("max", quote)
    assert "Waiting for dora (Sales director)" in item()
    sales.act("dora", quote)
    assert "Approved" in item() and "Waiting" not in item()
    assert number not in browser.page("ron")


# -- the quick follow-up -------------------------------------------------------------------


def test_a_quick_follow_up_with_photo_and_place_moves_the_customers_follow_ups(
    sales, browser, clock, runtime
):
    acme = sales.customer("Acme")
    client = browser.as_("rita")
    response = client.post(
        "/sales/follow-ups",
        data={
            "customer": str(acme),
            "type": "visit",
            "content": "Met the buyer; wants a demo",
            "photo__upload": (io.BytesIO(png()), "site.png"),
            "location-lat": "31.230416",
            "location-lng": "121.473701",
            "location-accuracy": "12",
            "next_follow_up_at": "2026-03-19",
            "next_follow_up_at-time": "14:30",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/sales/")
    assert "Follow-up saved for Acme." in client.get("/sales/").get_data(as_text=True)

    [saved] = _follow_ups(runtime)
    assert saved["customer"] == acme and saved["owner"] == sales.people["rita"].id
    assert saved["location"] == {
        "lat": Decimal("31.230416"),
        "lng": Decimal("121.473701"),
        "accuracy": 12,
    }
    assert saved["next_follow_up_at"] == shanghai(2026, 3, 19, 14, 30).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    with runtime.read() as work:
        [photo] = saved["photo"]
        stored = work.session.get(StoredFile, photo)
        assert stored.content_type == "image/png" and stored.record_id is not None

    drain(runtime)
    customer = sales.values("customer", acme)
    assert customer["last_follow_up_at"] == saved["visited_at"]
    assert customer["last_follow_up_at"].startswith(clock.now.strftime("%Y-%m-%dT%H:%M"))
    assert customer["next_follow_up_at"] == saved["next_follow_up_at"]
    page = browser.page("rita", f"/sales/customers/{acme}")
    assert "Met the buyer; wants a demo" in page
    assert f'src="/f/files/{photo}"' in part(page, "follow-ups")


def test_a_bad_quick_follow_up_says_why_beside_the_field_and_saves_nothing(sales, browser, runtime):
    acme = sales.customer("Acme")
    rons = sales.customer("Ron's Retail", as_="ron")
    client = browser.as_("rita")
    before = snapshot(runtime)

    missing = client.post("/sales/follow-ups", data={"customer": str(acme), "type": "call"})
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert re.search(r'id="qa-content"[^>]*aria-invalid="true"', html)
    assert '<p class="field-error" id="err-qa-content">is required</p>' in html
    assert f'<option value="{acme}" selected>' in html  # what was typed is kept
    assert 'id="qa-type-call" value="call" checked' in html

    theirs = client.post(
        "/sales/follow-ups", data={"customer": str(rons), "type": "call", "content": "sneaky"}
    )
    assert theirs.status_code == 422
    assert 'id="err-qa-customer">Pick one of your customers.' in theirs.get_data(as_text=True)

    bad_date = client.post(
        "/sales/follow-ups",
        data={"customer": str(acme), "type": "call", "content": "x", "next_follow_up_at": "soon"},
    )
    assert bad_date.status_code == 422
    assert 'id="err-qa-next_follow_up_at"' in bad_date.get_data(as_text=True)
    assert snapshot(runtime) == before


def test_a_refused_quick_follow_up_keeps_its_photo_for_the_next_try(sales, browser, runtime):
    acme = sales.customer("Acme")
    client = browser.as_("rita")
    refused = client.post(
        "/sales/follow-ups",
        data={"customer": str(acme), "photo__upload": (io.BytesIO(png()), "site.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    [kept] = re.findall(r'name="photo" value="([0-9a-f]{32})"', refused.get_data(as_text=True))
    assert _follow_ups(runtime) == []
    assert client.get(f"/f/files/{kept}").status_code == 200  # the thumbnail shows

    saved = client.post(
        "/sales/follow-ups",
        data={"customer": str(acme), "type": "visit", "content": "again", "photo": kept},
    )
    assert saved.status_code == 302
    [follow_up] = _follow_ups(runtime)
    assert follow_up["photo"] == [kept]


def _follow_ups(runtime: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    with runtime.read() as work:
        loaded = get_form(work, f"{APP}.follow_up")
        rows = work.session.scalars(
            select(Record).where(Record.form_id == loaded.form.id).order_by(Record.id)
        ).all()
        return [dict(records.values_of(loaded, r)) for r in rows]


# -- the customer page ---------------------------------------------------------------------


def test_the_customer_page_shows_every_section(sales, browser, clock, runtime):
    grant(runtime, f"{APP}.payment", EVERYONE_OWN)
    acme = sales.customer("Acme", potential="400000", industry="it")
    sales.create(
        "contact", customer=acme, name="Li Lei", position="Buyer", phone="+86 138 0013 8000"
    )
    with runtime.write(sales.user("rita")) as work:
        from formflow.files import storage

        photo = storage.save_upload(work, io.BytesIO(png()), "site.png").id
    sales.create(
        "follow_up",
        customer=acme,
        type="visit",
        visited_at=(clock.now - dt.timedelta(days=2)).isoformat(),
        content="First visit",
        photo=[photo],
        location={"lat": "31.23", "lng": "121.47", "accuracy": "10"},
    )
    sales.create(
        "follow_up",
        customer=acme,
        type="call",
        visited_at=(clock.now - dt.timedelta(hours=1)).isoformat(),
        content="Called back",
    )
    sales.create(
        "opportunity", customer=acme, name="Routers 2026", stage="proposal", amount="90000"
    )
    quote = sales.quote(("Router", "820", 1), customer=acme)
    contract = sales.create(
        "contract",
        customer=acme,
        name="Router supply",
        amount="90000",
        signed_on=(clock.now - dt.timedelta(days=40)).date().isoformat(),
    )
    sales.create(
        "payment",
        contract=contract,
        customer=acme,
        installment="First half",
        planned_amount="45000",
        planned_on=(clock.now - dt.timedelta(days=5)).date().isoformat(),
    )
    sales.create(
        "payment",
        contract=contract,
        customer=acme,
        installment="Second half",
        planned_amount="45000",
        planned_on=(clock.now + dt.timedelta(days=30)).date().isoformat(),
    )
    drain(runtime)

    page = browser.page("rita", f"/sales/customers/{acme}")
    assert "<h1>Acme" in page
    details = part(page, "details")
    assert "Internet / IT" in details and "¥400,000.00" in details
    contacts = part(page, "contacts")
    assert "Li Lei" in contacts and 'href="tel:+8613800138000"' in contacts
    timeline = part(page, "follow-ups")
    assert timeline.index("Called back") < timeline.index("First visit")  # newest first
    assert 'class="type-icon type-call"' in timeline and 'class="type-icon type-visit"' in timeline
    assert f'src="/f/files/{photo}"' in timeline and "31.23, 121.47" in timeline
    opportunities = part(page, "opportunities")
    assert "Routers 2026" in opportunities and "Proposal" in opportunities
    assert "¥90,000.00" in opportunities
    quotations = part(page, "quotations")
    assert sales.values("quotation", quote)["number"] in quotations
    assert "18%" in quotations and "¥820.00" in quotations and "In approval" in quotations
    assert "Router supply" in part(page, "contracts")
    payments = part(page, "payments")
    first = re.search(r'<li class="item" data-payment="\d+" data-overdue>.*?</li>', payments, re.S)
    assert first and "First half" in first.group(0) and "overdue" in first.group(0)
    assert payments.count("data-overdue") == 1
    for form in ("contact", "follow_up", "opportunity", "quotation", "contract", "payment"):
        link = f"/f/{APP}.{form}/?ff=customer&amp;fo=eq&amp;fv={acme}"
        assert link in page, form
        assert browser.as_("rita").get(link.replace("&amp;", "&")).status_code == 200

    chinese = browser.page("rita", f"/sales/customers/{acme}", language="zh-CN")
    for said in (
        "跟进记录",
        "联系人",
        "商机",
        "报价单",
        "合同",
        "回款",
        "互联网/IT",
        "逾期",
        "审批中",
    ):
        assert said in chinese, said


def test_each_section_shows_the_newest_fifty_and_links_to_the_rest(sales, browser, clock):
    acme = sales.customer("Acme")
    for n in range(52):
        sales.create(
            "follow_up",
            customer=acme,
            type="call",
            visited_at=(clock.now - dt.timedelta(hours=100 - n)).isoformat(),
            content=f"call number {n}",
        )
    timeline = part(browser.page("rita", f"/sales/customers/{acme}"), "follow-ups")
    shown = re.findall(r"call number (\d+)<", timeline)
    assert shown == [str(n) for n in range(51, 1, -1)]
    assert "Showing the newest 50." in timeline


def test_the_customer_page_refuses_those_who_may_not_see_the_customer(sales, browser):
    acme = sales.customer("Acme")
    contact = sales.create("contact", customer=acme, name="Li Lei")
    assert browser.as_("ron").get(f"/sales/customers/{acme}").status_code == 404
    assert browser.as_("rita").get(f"/sales/customers/{contact}").status_code == 404
    assert browser.as_("rita").get("/sales/customers/999999").status_code == 404
    assert browser.as_("admin").get(f"/sales/customers/{acme}").status_code == 200
    anonymous = browser.app.test_client().get(f"/sales/customers/{acme}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_home_speaks_the_readers_language(sales, browser):
    sales.customer("Acme")
    chinese = browser.page("rita", language="zh-CN")
    for said in ("我的今天", "今日跟进", "已逾期", "我的报价", "跟进内容", "拍照", "获取定位"):
        assert said in chinese, said
    english = browser.page("rita")
    for said in ("My day", "Today", "Overdue", "My open quotations", "What happened"):
        assert said in english, said


# -- for the permission matrix (tests/platform/permissions/test_matrix.py) -----------------


def matrix_customer(world: Any) -> int:
    """rep_a's customer in the permission matrix's organisation: the sales app installed
    (once), reps allowed their own customers and follow-ups."""
    if not hasattr(world, "sales_customer"):
        install_plugin(world.runtime)
        for form in ("customer", "follow_up"):
            grant(world.runtime, f"{APP}.{form}", EVERYONE_OWN)
        with world.runtime.write(world._as("rep_a")) as work:
            world.sales_customer = records.create(
                work, get_form(work, f"{APP}.customer"), {"name": "Matrix customer"}
            ).id
    return world.sales_customer
