"""Explanations in the reader's language: every rule's and score's arithmetic reads in
Chinese and in English with the same figures, on the pages, in the API and in the payroll
export; statements stored before explanations were bilingual still show their text."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal as D
from html import unescape
from typing import Any

import pytest
from openpyxl import load_workbook

from formflow.definitions.service import get_form
from formflow.people import service as people
from formflow.people.models import User
from formflow.records import service as records
from sales_performance.explanations import (
    MESSAGES,
    read_stored,
    said,
    show,
    steps,
    stored,
)
from sales_performance.incentives import export, rules, statements
from sales_performance.kpi import plans as kpi_plans
from sales_performance.kpi import scoring
from tests.conftest import EVERYONE_OWN, Api, grant, make_person
from tests.platform.api.test_openapi import _check
from tests.plugins.sales_performance.test_incentives import (
    approve,
    commission,
    contract,
    plan,
    rep_target,
)
from tests.plugins.sales_performance.test_pages import Browser
from tests.plugins.sales_performance.world import APP, Sales, build

TIERS = rules.parse_tiers("0-80:2%, 80-100:4%, 100-120:6%, 120-:8%")
MARGINAL_ZH = (
    "达成率 1,300,000 / 1,000,000 = 130 %；"
    "阶梯 0–80 %：0–800,000 部分，800,000 × 2 % = 16,000；"
    "阶梯 80–100 %：800,000–1,000,000 部分，200,000 × 4 % = 8,000；"
    "阶梯 100–120 %：1,000,000–1,200,000 部分，200,000 × 6 % = 12,000；"
    "阶梯 ≥ 120 %：1,200,000–1,300,000 部分，100,000 × 8 % = 8,000；"
    "超额累进合计：16,000 + 8,000 + 12,000 + 8,000 = 44,000"
)
MARGINAL_EN = "marginal: 16,000 + 8,000 + 12,000 + 8,000 = 44,000"


def both(value: Any) -> tuple[str, str]:
    return show(value, "zh-CN"), show(value, "en")


# -- every rule type, in both languages -----------------------------------------------------


def test_marginal_tiers_read_slice_by_slice_in_chinese_and_english():
    amount, done = rules.commission(D("1300000"), D("1000000"), TIERS, "marginal")
    zh, en = both(steps(done))
    assert amount == D("44000.00")
    assert zh == MARGINAL_ZH
    assert en.startswith("attainment 1,300,000 / 1,000,000 = 130 %; tier 0–80 %")
    assert en.endswith(MARGINAL_EN)
    assert steps(done) == en  # a Said is its English text wherever a str is expected


def test_retroactive_tiers_say_the_whole_base_took_the_rate_reached():
    zh, en = both(steps(rules.commission(D("1300000"), D("1000000"), TIERS, "retroactive")[1]))
    assert "达成率 130 % 落在 ≥ 120 % 阶梯，提成比例 8 %；全额累进" in zh
    assert zh.endswith("1,300,000 × 8 % = 104,000")
    assert en.endswith("retroactive on the whole base: 1,300,000 × 8 % = 104,000")


def test_rounding_to_the_cent_is_said_in_both_languages():
    zh, en = both(steps(rules.commission(D("1000.25"), D("1000000"), TIERS, "retroactive")[1]))
    assert zh.endswith("四舍五入到分：20.01") and en.endswith("rounded to the cent: 20.01")


@pytest.mark.parametrize(
    ("explained", "zh", "en"),
    [
        (
            rules.cap(D("44000"), absolute=D("30000"))[1],
            "超过封顶（封顶金额 30,000）：44,000 → 30,000",
            "capped at the cap of 30,000: 44,000 → 30,000",
        ),
        (
            rules.cap(D("44000"), multiple=D("1.5"), on_target=D("24000"))[1],
            "超过封顶（1.5 倍目标提成 24,000 = 36,000）：44,000 → 36,000",
            "capped at 1.5 × on-target pay 24,000 = 36,000: 44,000 → 36,000",
        ),
        (
            rules.gate(D("1000"), D(60), D(60))[1],
            "KPI 得分 60 ≥ 门槛 60：全额发放",
            "KPI score 60 ≥ gate 60: paid in full",
        ),
        (
            rules.gate(D("1000"), D("59.99"), D(60))[1],
            "KPI 得分 59.99 低于门槛 60：不予发放（1,000 → 0）",
            "KPI score 59.99 is below the gate of 60: not paid (1,000 → 0)",
        ),
        (
            rules.gate(D("1000"), D("59.99"), D(60), D("0.5"))[1],
            "KPI 得分 59.99 低于门槛 60：按比例发放，1,000 × 50 % = 500",
            "KPI score 59.99 is below the gate of 60: 1,000 × 50 % = 500",
        ),
        (
            rules.split_credit_explained(D("0.03"), {"amy": D(60), "bo": D(40)})[1]["amy"],
            "60 % = 0.018 → 0.02（零头按最大余数法分配，各份之和与总额一致）",
            "60 % = 0.018 → 0.02 (odd cents by largest remainder, so the parts add up)",
        ),
        (
            rules.team_award_explained(
                D("10000"), {"amy": D(600000), "bo": D(400000)}, D(1000000), D(900000)
            )[1]["amy"],
            "团队实际 1,000,000，目标 900,000（达成率 111.11 %）：团队奖金池 10,000 × "
            "个人业绩占比 600,000 / 1,000,000 = 6,000",
            "team 1,000,000 of target 900,000 (111.11 %): pool 10,000 × "
            "600,000 / 1,000,000 = 6,000",
        ),
        (
            rules.team_award_explained(D("10000"), {"amy": D(800000)}, D(800000), D(900000))[1][
                "amy"
            ],
            "团队实际 800,000，目标 900,000（达成率 88.89 %）：未达目标，不发团队奖",
            "team 800,000 of target 900,000 (88.89 %): below target, no award",
        ),
        (
            said("named", name="新增A类客户", how=rules.spif(3, D("500"))[1]),
            "新增A类客户：3 × 500 = 1,500",
            "新增A类客户: 3 × 500 = 1,500",
        ),
        (
            rules.honours({"amy": D(95), "bo": D(90), "cy": D(80)}, 2, "销售之星", D(2000))[
                "bo"
            ].explanation,
            "3 人中排名第 2，得分 90，前 2 名获评：销售之星 + 奖金 2,000",
            "rank 2 of 3 with 90, top 2: 销售之星 + 2,000",
        ),
        (
            rules.honours({"amy": D(90), "bo": D(90)}, 1, "销售之星", D(0))["bo"].explanation,
            "2 人中并列第 1，得分 90，前 1 名获评：销售之星 + 奖金 0",
            "rank 1 (tied) of 2 with 90, top 1: 销售之星 + 0",
        ),
        (
            rules.clawback(D("1000"))[1],
            "追回此前已发放的 1,000：-1,000",
            "clawback of 1,000 paid earlier: -1,000",
        ),
        (
            steps(
                [
                    said("override.base", measure="签约额", count=3),
                    rules.override(D(500000), D("0.01"))[1],
                ]
            ),
            "你管理的 3 人的签约额；500,000 × 1 % = 5,000",
            "签约额 of the 3 people you manage; 500,000 × 1 % = 5,000",
        ),
    ],
    ids=[
        "cap",
        "cap-multiple",
        "gate-at-60",
        "gate-below",
        "gate-factor",
        "split-60-40",
        "team-award",
        "team-below-target",
        "spif",
        "honours",
        "honours-tied",
        "clawback",
        "manager-override",
    ],
)
def test_each_rule_reads_in_chinese_and_english_with_the_same_figures(explained, zh, en):
    assert both(explained) == (zh, en)


LINEAR = scoring.Metric("revenue", "签约额", "result", D(40))
BANDS = scoring.Metric(
    "visits", "拜访", "process", D(15), rule="bands", bands=((D("0.8"), D(60)), (D(1), D(80)))
)


@pytest.mark.parametrize(
    ("explained", "zh", "en"),
    [
        (
            scoring.score(LINEAR, D(150), D(100)).explanation,
            "达成率 150 / 100 = 150 %；线性计分，封顶 120 %：达成率 150 % 按封顶 120 % 计，"
            "100 × 1.2 = 120",
            "attainment 150 / 100 = 150 %; linear, cap 120 %: 150 % capped at 120 %, "
            "100 × 1.2 = 120",
        ),
        (
            scoring.score(BANDS, D(105), D(100)).explanation,
            "达成率 105 / 100 = 105 %；分档计分 80 %→60, 100 %→80：达成率 105 % 达到 100 % 档 → 80",
            "attainment 105 / 100 = 105 %; bands 80 %→60, 100 %→80: 105 % reaches 100 % → 80",
        ),
        (
            scoring.manual(LINEAR, D(85), "带新人").explanation,
            "上级评分 85：带新人",
            "manual score 85: 带新人",
        ),
        (
            steps(
                scoring.total_explained(
                    [
                        (LINEAR, scoring.score(LINEAR, D(90), D(100))),
                        (BANDS, scoring.MetricScore(None, None, None, None, "")),
                    ]
                )[1]
            ),
            "revenue (签约额)：权重 40 × 得分 90 / 100 = 36；visits (拜访)：未计分，按 0 计；"
            "总分：36 + 0 = 36",
            "revenue (签约额): 40 × 90 / 100 = 36; visits (拜访): not scored, counts 0; "
            "total: 36 + 0 = 36",
        ),
        (
            scoring.grade_explained(D(40), [(D(60), "pass"), (D(50), "weak")])[1],
            "40 低于所有等级下限 → 最低等级 weak",
            "40 is below every minimum → the lowest grade, weak",
        ),
    ],
    ids=["linear-capped", "bands", "manual", "total", "grade"],
)
def test_each_kpi_score_reads_in_chinese_and_english(explained, zh, en):
    assert both(explained) == (zh, en)


def test_every_message_has_both_languages_with_the_same_parameters():
    found = re.compile(r"\{(\w+)\}")
    for key, texts in MESSAGES.items():
        assert set(texts) == {"zh-CN", "en"}, key
        assert set(found.findall(texts["zh-CN"])) == set(found.findall(texts["en"])), key


# -- stored: both languages, and the older English text ---------------------------------------


def test_a_stored_explanation_keeps_both_languages_and_shows_the_readers():
    explained = steps(rules.commission(D("1300000"), D("1000000"), TIERS, "marginal")[1])
    text = stored(explained)
    assert text.startswith("[zh-CN] 达成率") and "\n[en] attainment" in text
    assert show(text, "zh-CN") == MARGINAL_ZH
    assert show(text, "en") == str(explained)
    assert show(read_stored(text), "en") == str(explained)


def test_an_old_plain_text_explanation_shows_as_it_was_stored():
    old = "attainment 1,300,000 / 1,000,000 = 130 %; marginal: 16,000 + 28,000 = 44,000"
    assert both(old) == (old, old)
    assert show(None, "zh-CN") == ""


def test_a_long_explanation_is_stored_within_the_field_in_both_languages():
    name = "很长的客户名称" * 400
    text = stored(said("named", name=name, how="x\ny"))
    assert len(text) <= 4000
    assert show(text, "zh-CN").endswith("…") and show(text, "en").endswith("…")
    assert text.count("\n") == 1  # one line a language, whatever the parameters held


# -- the pages, the API and the export -------------------------------------------------------


@pytest.fixture
def sales(runtime, admin, clock) -> Sales:
    clock.now = dt.datetime(2026, 6, 20, 2, 0, tzinfo=dt.UTC)
    world = build(runtime, admin)
    world.people["hana"] = make_person(runtime, "hana")
    with runtime.write() as work:
        closer = people.ensure_role(work, "closer", "Closer")
        rep = people.ensure_role(work, "sales_rep", "Sales rep")
        finance = people.ensure_role(work, "finance", "Finance")
        hr = people.ensure_role(work, "hr", "HR")
        for name in ("rita", "ron"):
            people.set_roles(work, world.people[name].id, [closer.id, rep.id])
        people.set_roles(work, world.people["fay"].id, [finance.id])
        people.set_roles(work, world.people["hana"].id, [hr.id])
        kpi_plans.ensure_defaults(work)
    grant(runtime, f"{APP}.opportunity", EVERYONE_OWN)
    grant(runtime, f"{APP}.payment", EVERYONE_OWN)
    return world


@pytest.fixture
def browser(app, sales) -> Browser:
    app.config["WTF_CSRF_ENABLED"] = False
    return Browser(app, sales)


@pytest.fixture
def api(app, sales) -> Any:
    client = app.test_client()
    return lambda name: Api(client, sales.people[name])


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from formflow.api.openapi import build_document

    return build_document()


def worked_example(sales: Sales) -> int:
    """rita: 1,300,000 signed against 1,000,000, marginal 2/4/6/8 % → 44,000; her draft
    under this plan (the shipped sales rep plan pays her too)."""
    plan_id = plan(sales, commission())
    rep_target(sales, "rita", "1000000")
    contract(sales, "1000000")
    contract(sales, "300000")
    with sales.runtime.write(sales.user("admin")) as work:
        statements.run_period(work, "2026-06")
    with sales.runtime.read() as work:
        found = statements.list_statements(work, "2026-06", member=sales.people["rita"].id)
    [mine] = [s for s in found if s["plan"] == plan_id]
    return mine["id"]


def explanations(statements: list[dict[str, Any]]) -> list[str]:
    return [line["explanation"] for s in statements for line in s["lines"]]


def text_of(page: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_statement_page_reads_in_the_readers_language(browser, sales):
    statement = worked_example(sales)
    chinese = text_of(browser.page("rita", f"/sales/bonus/{statement}", language="zh-CN"))
    assert "超额累进合计：16,000 + 8,000 + 12,000 + 8,000 = 44,000" in chinese
    assert "目标 rita 2026-06（#" in chinese and "2026-06 全部 30 天在岗：1,000,000" in chinese
    assert "marginal:" not in chinese and "[en]" not in chinese
    english = text_of(browser.page("rita", f"/sales/bonus/{statement}", language="en"))
    assert MARGINAL_EN in english and "active all 30 days of 2026-06: 1,000,000" in english
    assert "超额累进" not in english


def test_the_scorecard_estimate_and_performance_pages_read_in_chinese(browser, sales):
    worked_example(sales)
    rita = sales.people["rita"].id
    card = text_of(browser.page("rita", f"/sales/kpi/2026-06/{rita}", language="zh-CN"))
    assert "总分：" in card and "等级：" in card and "线性计分" in card
    assert "total:" not in card
    mine = text_of(browser.page("rita", "/sales/performance", language="zh-CN"))
    assert "超额累进合计：16,000 + 8,000 + 12,000 + 8,000 = 44,000" in mine
    customer = sales.customer("Prospect")
    big = sales.create("opportunity", name="big", customer=customer, stage="negotiation",
                       amount="100000", expected_close="2026-06-25")  # fmt: skip
    browser.as_("rita", "zh-CN")
    estimated = browser.clients["rita"].post(
        "/sales/estimate", data={"period": "2026-06", "opportunity": str(big)}
    )
    page = text_of(estimated.get_data(as_text=True))
    assert "超额累进合计：16,000 + 8,000 + 12,000 + 16,000 = 52,000" in page


def test_the_api_answers_in_the_language_asked_for(api, sales, document):
    worked_example(sales)
    path = "/sales/incentives/statements?period=2026-06"
    english = api("rita").get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    _check(document, "/sales/incentives/statements", "get", english)
    assert english.headers["Content-Language"] == "en"
    assert any(e.endswith(MARGINAL_EN) for e in explanations(english.body["statements"]))
    chinese = api("rita").get(path, headers={"Accept-Language": "zh-CN"})
    assert chinese.headers["Content-Language"] == "zh-CN"
    assert any(e.endswith(MARGINAL_ZH) for e in explanations(chinese.body["statements"]))
    # no language asked for (the test client asks for en unless told): the caller's own
    unasked = api("rita").get(path, headers={"Accept-Language": ""})
    assert unasked.headers["Content-Language"] == "zh-CN"  # a new user's language

    rita = sales.people["rita"].id
    cards = api("rita").get(
        f"/sales/kpi/scorecards?period=2026-06&member={rita}", headers={"Accept-Language": "en"}
    )
    _check(document, "/sales/kpi/scorecards", "get", cards)
    [card] = cards.body["scorecards"]
    assert card["explanation"][-2].startswith("total: ")
    assert all(not line["explanation"].startswith("[") for line in card["lines"])
    cards = api("rita").get(
        f"/sales/kpi/scorecards?period=2026-06&member={rita}", headers={"Accept-Language": "zh"}
    )
    assert cards.body["scorecards"][0]["explanation"][-2].startswith("总分：")

    estimate = api("rita").post(
        "/sales/incentives/estimate",
        {"period": "2026-06", "opportunities": []},
        headers={"Accept-Language": "zh-CN"},
    )
    _check(document, "/sales/incentives/estimate", "post", estimate)
    assert any(
        line["explanation"].endswith(MARGINAL_ZH) for line in estimate.body["estimated_lines"]
    )


def test_an_old_plain_text_statement_still_shows_on_the_page_and_in_the_api(browser, api, sales):
    old = "attainment 50,000 / 100,000 = 50 %; 50,000 × 2 % = 1,000"
    plan_id = plan(sales, commission())
    with sales.runtime.write() as work:
        statement = records.create_as_step(
            work,
            get_form(work, f"{APP}.bonus_statement"),
            {
                "member": sales.people["rita"].id,
                "period": "2026-05",
                "plan": plan_id,
                "total": "1000.00",
                "status": "draft",
                "lines": [{"rule": "commission", "name": "提成", "kind": "commission",
                           "amount": "1000.00", "explanation": old}],
            },
        ).id  # fmt: skip
    page = text_of(browser.page("rita", f"/sales/bonus/{statement}", language="zh-CN"))
    assert old in page
    shown = api("rita").get(
        f"/sales/incentives/statements/{statement}", headers={"Accept-Language": "zh-CN"}
    )
    assert shown.body["lines"][0]["explanation"] == old


def test_the_payroll_export_explains_in_the_exporting_users_language(api, sales):
    statement = worked_example(sales)
    approve(sales, statement)

    def explanation(book: bytes) -> str:
        """The worked example's line of the payroll sheet of lines."""
        sheet = load_workbook(io.BytesIO(book))["Lines"]
        column = [cell.value for cell in sheet["K"]]
        assert column[0] == "explanation"  # column names alike in every language
        [found] = [text for text in column if text and "44,000" in text]
        return found

    with sales.runtime.write() as work:
        work.session.get(User, sales.people["fay"].id).language = "en"
    with sales.runtime.read(sales.user("fay")) as work:
        assert explanation(export.export(work, "2026-06", "xlsx")[0]).endswith(MARGINAL_EN)
        chinese = export.export(work, "2026-06", "xlsx", "zh-CN")[0]
        assert explanation(chinese).endswith(MARGINAL_ZH)
    by_api = api("fay").get(
        "/sales/incentives/export?period=2026-06&format=xlsx", headers={"Accept-Language": "zh"}
    )
    assert by_api.headers["Content-Language"] == "zh-CN"
    assert explanation(by_api.get_data()).endswith(MARGINAL_ZH)


def test_target_progress_reads_in_the_language_asked_for(api, sales, document):
    rep_target(sales, "rita", "1000000")
    contract(sales, "250000")
    path = "/sales/targets/progress?period=2026-06&level=rep"
    english = api("rita").get(path, headers={"Accept-Language": "en"})
    _check(document, "/sales/targets/progress", "get", english)
    assert english.headers["Content-Language"] == "en"
    [mine] = [p for p in english.body["progress"] if p["member"] == sales.people["rita"].id]
    assert "attainment 250,000 / 1,000,000 = 25 %" in mine["explanation"]
    assert any(line.startswith("time elapsed: ") for line in mine["explanation"])
    chinese = api("rita").get(path, headers={"Accept-Language": "zh-CN"})
    assert chinese.headers["Content-Language"] == "zh-CN"
    [mine] = [p for p in chinese.body["progress"] if p["member"] == sales.people["rita"].id]
    assert "达成率 250,000 / 1,000,000 = 25 %" in mine["explanation"]
    assert any(line.startswith("时间进度：") for line in mine["explanation"])
    assert any(line.startswith("实际：2026-06 本人记录的") for line in mine["explanation"])


def test_the_elapsed_share_is_explained_in_both_languages():
    from sales_performance.periods import Period, elapsed_share_explained

    share, how = elapsed_share_explained(Period.parse("2026-03"), dt.date(2026, 3, 16))
    assert share == D(16) / D(31)
    assert show(how, "en") == "2026-03-16 is day 16 of 31 in 2026-03: 16 / 31 = 51.61 %"
    assert show(how, "zh-CN") == "2026-03-16 是 2026-03 共 31 天中的第 16 天：16 / 31 = 51.61 %"
