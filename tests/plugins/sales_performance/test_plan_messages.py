"""Plan checks in the admin's language: every problem with a KPI plan, an incentive plan,
the tiers, bands and grades they are typed with, a target's split or a contract's credit
split reads in Chinese for a Chinese admin — and, word for word as before, in English (the
API's and the tests' text)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from formflow import jsoncodec
from formflow.definitions.service import definition_text, get_form, publish
from formflow.errors import (
    BadRequest,
    FieldError,
    Forbidden,
    FormflowError,
    NotFound,
    ValidationFailed,
)
from formflow.records import service as records
from formflow.records.models import Record
from formflow.records.prepare import from_document
from sales_performance.explanations import MESSAGES, Said
from sales_performance.incentives import plans as incentive_plans
from sales_performance.incentives import rules
from sales_performance.kpi import plans as kpi_plans
from sales_performance.kpi import scoring
from sales_performance.periods import Period
from sales_performance.targets import tree
from tests.plugins.sales_performance.test_pages import Browser
from tests.plugins.sales_performance.test_targets import split, target
from tests.plugins.sales_performance.world import APP, Sales, build

CJK = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]{2,}")


def _parts(message: Said) -> Iterator[tuple[str, dict[str, Any]]]:
    """The message keys a message is made of (itself, and the messages in its parameters)."""
    if message.key in MESSAGES:
        yield message.key, message.params
    for value in message.params.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Said):
                yield from _parts(item)


def _values(message: Said) -> str:
    """The text of its plain parameters: names and values the admin typed."""
    found = []
    for value in message.params.values():
        for item in value if isinstance(value, list) else [value]:
            found.append(_values(item) if isinstance(item, Said) else str(item))
    return " ".join(found)


#: Words the Chinese keeps on purpose: values the admin types (a tier mode, a form field's
#: key, a way to split a target), shown beside their Chinese name.
TYPED = {"retroactive", "target_measure", "replace", "period", "org", "quarter", "month",
         "week", "equal", "custom"}  # fmt: skip


def leftovers(message: Said) -> set[str]:
    """English words of the message's templates still in its Chinese text — but not the
    values the admin types (:data:`TYPED`) nor the names and values it quotes."""
    chinese, quoted = message.text("zh-CN"), _values(message)
    found = set()
    for key, _ in _parts(message):
        english = set(WORD.findall(re.sub(r"\{\w+\}", " ", MESSAGES[key]["en"])))
        for word in english - TYPED:
            pattern = rf"(?<![A-Za-z_]){word}(?![A-Za-z_])"
            if re.search(pattern, chinese) and not re.search(pattern, quoted):
                found.add(word)
    return found


def assert_bilingual(message: str, english: str) -> None:
    assert isinstance(message, Said), message
    assert str(message) == english and message.text("en") == english
    chinese = message.text("zh-CN")
    assert CJK.search(chinese), chinese
    assert not leftovers(message), (chinese, leftovers(message))


def raised(action: Callable[[], Any], kind: type[Exception] = ValueError) -> Any:
    with pytest.raises(kind) as caught:
        action()
    error = caught.value
    if isinstance(error, FormflowError):
        [problem] = error.errors
        return problem.message
    return error.args[0]


def problem_at(found: tuple[Any, list[FieldError]], field: str) -> str:
    plan, problems = found
    assert plan is None
    [message] = [problem.message for problem in problems if problem.field == field]
    return message


# -- KPI plans (kpi.plans, kpi.scoring) -------------------------------------------------------


def kpi(**metric: Any) -> dict[str, Any]:
    """A KPI plan of one metric, ``visits`` (拜访量), usable unless ``metric`` spoils it."""
    row = {"key": "visits", "name": "拜访量", "weight": 100, "source": "measure",
           "measure": "visits", "target": 30, **metric}  # fmt: skip
    return {"name": "巡店考核", "role": "sales_rep", "period_kind": "month", "metrics": [row]}


def read_kpi(field: str, **metric: Any) -> Callable[[], str]:
    return lambda: problem_at(kpi_plans.read_plan(kpi(**metric)), field)


def metric(**changes: Any) -> scoring.Metric:
    values = {"key": "visits", "name": "拜访量", "dimension": "process", "weight": D(100)}
    return scoring.Metric(**{**values, **changes})


KPI_CASES = [
    ("source", read_kpi("metrics[0].source", source="guess"),
     "visits: must be one of measure, ratio, manual"),
    ("no bands", read_kpi("metrics[0].bands", rule="bands"),
     "visits: banded scoring needs bands"),
    ("band form", read_kpi("metrics[0].bands", bands="80-60"),
     'visits: band "80-60" is not threshold:score (e.g. "80:60")'),
    ("band number", read_kpi("metrics[0].bands", bands="80:60, abc:80"),
     'visits: "abc" in band "abc:80" is not a number'),
    ("band order", read_kpi("metrics[0].bands", bands="100:80, 80:60"),
     'visits: band "80:60": thresholds must increase from left to right, and 80 % is not '
     "above 100 %"),
    ("measure", read_kpi("metrics[0].measure", measure=None),
     "visits: say which measure it counts"),
    ("denominator", read_kpi("metrics[0].denominator", source="ratio"),
     "visits: a ratio needs a denominator measure"),
    ("fixed target", read_kpi("metrics[0].target", target=0),
     "visits: a fixed target must be above 0"),
    ("ratio target",
     read_kpi("metrics[0].target_kind", source="ratio", denominator="visits",
              target_kind="target"),
     "visits: a ratio's target must be fixed"),
    ("weights", read_kpi("metrics", weight=90), "weights sum to 90, not 100"),
    ("grades", lambda: problem_at(kpi_plans.read_plan({**kpi(), "grades": "S90"}), "grades"),
     'grade "S90" is not grade:minimum (e.g. "A:80")'),
    ("grade number",
     lambda: problem_at(kpi_plans.read_plan({**kpi(), "grades": "S:high"}), "grades"),
     '"high" in grade "S:high" is not a number'),
    ("grade twice",
     lambda: problem_at(kpi_plans.read_plan({**kpi(), "grades": "S:90, A:90"}), "grades"),
     'grade "A:90": another grade has the minimum 90'),
    ("no metrics",
     lambda: problem_at(kpi_plans.read_plan({**kpi(), "metrics": []}), "metrics"),
     "the plan has no metrics"),
    ("duplicate key",
     lambda: scoring.check_plan([metric(weight=D(50)), metric(weight=D(50))])[0],
     "visits: key is used by 2 metrics; keys must be unique"),
    ("weight", lambda: scoring.check_plan([metric(weight=D(0))])[0],
     "visits (拜访量): weight must be more than 0, not 0"),
    ("dimension", lambda: scoring.check_plan([metric(dimension="results")])[0],
     "visits (拜访量): dimension 'results' is not one of result, process, capability"),
    ("direction", lambda: scoring.check_plan([metric(direction="up")])[0],
     "visits (拜访量): direction 'up' is not one of higher, lower"),
    ("rule", lambda: scoring.check_plan([metric(rule="curve")])[0],
     "visits (拜访量): rule 'curve' is not one of linear, bands"),
    ("floor", lambda: scoring.check_plan([metric(floor=D("1.3"))])[0],
     "visits (拜访量): floor 130 % is above cap 120 %"),
    ("bands none", lambda: scoring.check_plan([metric(rule="bands")])[0],
     "visits (拜访量): bands: none given"),
    ("bands strictly",
     lambda: scoring.check_plan([metric(rule="bands", bands=((D(1), D(80)), (D(1), D(90))))])[0],
     "visits (拜访量): bands: thresholds must strictly increase, but 100 % follows 100 %"),
    ("no bands typed", lambda: raised(lambda: scoring.parse_bands(" , ")),
     'no bands given; write them as "80:60, 100:80, 120:100"'),
    ("no grades typed", lambda: raised(lambda: scoring.parse_grades("")),
     'no grades given; write them as "S:90, A:80, B:70, C:60, D:0"'),
    ("no grades", lambda: raised(lambda: scoring.grade(D(50), [])), "no grades given"),
    ("same minimum", lambda: raised(lambda: scoring.grade(D(50), [(D(1), "A"), (D(1), "B")])),
     "two grades have the same minimum score"),
    ("direction unknown", lambda: raised(lambda: scoring.attainment(D(1), D(1), "up")),
     "unknown direction 'up'; use one of higher, lower"),
    ("negative actual", lambda: raised(lambda: scoring.attainment(D(-1), D(1), "lower")),
     "a lower-is-better actual cannot be negative (-1)"),
    ("rule unknown", lambda: raised(lambda: scoring.score(metric(rule="curve"), D(1), D(1))),
     "visits (拜访量): unknown rule 'curve'; use one of linear, bands"),
    ("negative manual", lambda: raised(lambda: scoring.manual(metric(), D(-5))),
     "visits (拜访量): a manual score cannot be negative (-5)"),
    ("no such metric",
     lambda: raised(lambda: kpi_plans.read_plan(kpi())[0].metric("calls"), NotFound),
     "plan '巡店考核' has no metric 'calls'"),
    ("weight number", read_kpi("metrics[0].weight", weight="heavy"),
     "visits: weight must be a number, not heavy"),
    ("floor negative", read_kpi("metrics[0].floor", floor="-0.1"),
     "visits: floor must be a percentage ≥ 0, not -10 %"),
    ("floor number", read_kpi("metrics[0].floor", floor="low"),
     "visits: floor must be a percentage ≥ 0, not low"),
    ("cap negative", read_kpi("metrics[0].cap", cap=-1),
     "visits: cap must be a percentage ≥ 0, not -100 %"),
    ("target number", read_kpi("metrics[0].target", target="thirty"),
     "visits: the target must be a number, not thirty"),
    ("target infinite", read_kpi("metrics[0].target", target="Infinity"),
     "visits: the target must be a number, not Infinity"),
    ("of", read_kpi("metrics[0].of", of="everyone"), "visits: must be one of self, team"),
    ("target kind", read_kpi("metrics[0].target_kind", target_kind="budget"),
     "visits: must be one of fixed, target"),
    ("period kind",
     lambda: problem_at(kpi_plans.read_plan({**kpi(), "period_kind": "fortnight"}),
                        "period_kind"),
     "must be one of year, quarter, month, week"),
]  # fmt: skip


# -- incentive plans and their tiers (incentives.plans, incentives.rules) ---------------------


def incentive(**rule: Any) -> dict[str, Any]:
    """An incentive plan of one commission rule, usable unless ``rule`` spoils it."""
    row = {"key": "commission", "name": "签约提成", "kind": "commission",
           "measure": "contract_amount", "tiers": "0-100:2%, 100-:4%", **rule}  # fmt: skip
    return {"name": "提成方案", "role": "sales_rep", "effective_from": "2026-01-01",
            "period_kind": "month", "rules": [row]}  # fmt: skip


def read_incentive(field: str, **rule: Any) -> Callable[[], str]:
    return lambda: problem_at(incentive_plans.read_plan(incentive(**rule)), field)


def tiers(typed: str) -> Callable[[], str]:
    return read_incentive("rules[0].tiers", tiers=typed)


def honours(**rule: Any) -> Callable[[], str]:
    """An honours rule, ``star`` (销售之星), read with ``rule``'s columns."""
    row = {"key": "star", "name": "销售之星", "kind": "honours", "title": "销售之星",
           "amount": "1000.00", **rule}  # fmt: skip
    values = {**incentive(), "rules": [row]}
    return lambda: problem_at(incentive_plans.read_plan(values), "rules[0].top_n")


def twice() -> str:
    values = incentive()
    values["rules"] = values["rules"] * 2
    return problem_at(incentive_plans.read_plan(values), "rules[1].key")


INCENTIVE_CASES = [
    ("duplicate key", twice, "commission: two rules have this key"),
    ("kind", read_incentive("rules[0].kind", kind="bonus"),
     "commission: must be one of commission, manager_override, team_award, spif, honours, "
     "clawback"),
    ("needs", read_incentive("rules[0].tiers", tiers=""),
     "commission: a commission rule needs tiers"),
    ("tier form", tiers("0-80 2%"),
     'commission: tier "0-80 2%" is not from-to:rate (e.g. "80-100:4%", "120-:8%")'),
    ("tier number", tiers("0-80:two%, 80-:4%"),
     'commission: "two%" in tier "0-80:two%" is not a number'),
    ("first tier", tiers("10-80:2%, 80-:4%"),
     'commission: tier "10-80:2%": the first tier must start at 0 %, not 10 %'),
    ("gap", tiers("0-80:2%, 70-:4%"),
     'commission: tier "70-:4%": starts at 70 % but the tier before it ends at 80 %; tiers '
     "must meet with no gap or overlap"),
    ("after open", tiers("0-:2%, 80-:4%"),
     'commission: tier "80-:4%": starts at 80 % but the tier before it is open-ended; tiers '
     "must meet with no gap or overlap"),
    ("upper", tiers("0-80:2%, 80-80:3%, 80-:4%"),
     'commission: tier "80-80:3%": its upper end must be above its lower end'),
    ("negative rate", tiers("0-80:-2%, 80-:4%"),
     'commission: tier "0-80:-2%": the rate cannot be negative (-2 %)'),
    ("last open", tiers("0-80:2%, 80-100:4%"),
     'commission: tier "80-100:4%": the last tier must be open-ended (e.g. "120-:8%") so '
     "every attainment has a rate"),
    ("marginal", read_incentive("rules[0].mode", target_measure="collected"),
     "commission: marginal tiers slice the base itself, so attainment must be measured on the "
     "same measure; use retroactive, or drop target_measure"),
    ("no rules",
     lambda: problem_at(incentive_plans.read_plan({**incentive(), "rules": []}), "rules"),
     "the plan has no rules"),
    ("date",
     lambda: problem_at(
         incentive_plans.read_plan({**incentive(), "effective_from": "soon"}), "effective_from"
     ),
     "must be a date"),
    ("no tiers typed", lambda: raised(lambda: rules.parse_tiers(" ")),
     'no tiers given; write them as "0-80:2%, 80-100:4%, 100-:6%"'),
    ("no tiers", lambda: raised(lambda: rules.check_tiers([])), "no tiers given"),
    ("tier label",
     lambda: raised(lambda: rules.check_tiers([rules.Tier(D("0.5"), None, D("0.02"))])),
     "tier ≥ 50 %: the first tier must start at 0 %, not 50 %"),
    ("mode", read_incentive("rules[0].mode", mode="tiered"),
     "commission: must be one of marginal, retroactive"),
    ("rate negative", read_incentive("rules[0].rate", rate="-0.01"),
     "commission: the rate must be a percentage ≥ 0, not -1 %"),
    ("rate number", read_incentive("rules[0].rate", rate="half"),
     "commission: the rate must be a percentage ≥ 0, not half"),
    ("amount negative", read_incentive("rules[0].amount", amount="-500"),
     "commission: the amount must be a number ≥ 0 with at most 2 decimal places, not -500"),
    ("amount cents", read_incentive("rules[0].amount", amount="10.005"),
     "commission: the amount must be a number ≥ 0 with at most 2 decimal places, not 10.005"),
    ("amount not a number", read_incentive("rules[0].amount", amount="NaN"),
     "commission: the amount must be a number ≥ 0 with at most 2 decimal places, not NaN"),
    ("cap negative", read_incentive("rules[0].cap_amount", cap_amount=-1),
     "commission: the cap must be a number ≥ 0 with at most 2 decimal places, not -1"),
    ("cap multiple", read_incentive("rules[0].cap_multiple", cap_multiple="-2"),
     "commission: the cap multiple must be a number ≥ 0, not -2"),
    ("gate score", read_incentive("rules[0].gate_score", gate_score="sixty"),
     "commission: the gate must be a score ≥ 0, not sixty"),
    ("gate factor above", read_incentive("rules[0].gate_factor", gate_factor="1.5"),
     "commission: the factor below the gate must be from 0 % to 100 %, not 150 %"),
    ("gate factor below", read_incentive("rules[0].gate_factor", gate_factor=-0.5),
     "commission: the factor below the gate must be from 0 % to 100 %, not -50 %"),
    ("top n number", honours(top_n="three"),
     "star: top N must be a whole number ≥ 1, not three"),
    ("top n whole", honours(top_n="2.5"), "star: top N must be a whole number ≥ 1, not 2.5"),
    ("top n zero", honours(top_n=0), "star: top N must be a whole number ≥ 1, not 0"),
    ("period kind",
     lambda: problem_at(
         incentive_plans.read_plan({**incentive(), "period_kind": "fortnight"}), "period_kind"
     ),
     "must be one of year, quarter, month, week"),
]  # fmt: skip

#: The arithmetic's own guards: a saved plan never reaches them (read_plan refuses the same
#: values first), but should anything else pass such a value, they read in both languages.
TIERS = (rules.Tier(D(0), None, D("0.02")),)
GUARD_CASES = [
    ("mode", lambda: raised(lambda: rules.commission(D(1), D(1), TIERS, "flat")),
     "unknown commission mode 'flat'; use one of marginal, retroactive"),
    ("rate", lambda: raised(lambda: rules.override(D(100), D("-0.01"))),
     "the rate cannot be negative (-1 %)"),
    ("cap", lambda: raised(lambda: rules.cap(D(100), absolute=D(-1))),
     "the cap cannot be negative (-1)"),
    ("cap multiple",
     lambda: raised(lambda: rules.cap(D(100), multiple=D(-2), on_target=D(10))),
     "the cap multiple cannot be negative (-2)"),
    ("gate factor", lambda: raised(lambda: rules.gate(D(100), D(50), D(60), D("1.5"))),
     "the gate factor must be between 0 and 1, not 1.5"),
    ("pool", lambda: raised(lambda: rules.team_award(D(-1), {"rita": D(1)}, D(1), D(1))),
     "the pool cannot be negative (-1)"),
    ("spif", lambda: raised(lambda: rules.spif(2, D(-5))),
     "a SPIF needs a count and an amount ≥ 0, not 2 × -5"),
    ("top n", lambda: raised(lambda: rules.honours({"rita": D(90)}, 0, "销售之星", D(0))),
     "top N must be at least 1, not 0"),
    ("bonus", lambda: raised(lambda: rules.honours({"rita": D(90)}, 1, "销售之星", D(-1))),
     "the bonus cannot be negative (-1)"),
]  # fmt: skip

PERIOD_CASES = [
    ("finer", lambda: raised(lambda: Period.parse("2026-06").children("quarter")),
     "a month cannot be broken into quarters; use one of week"),
    ("smallest", lambda: raised(lambda: Period.parse("2026-W05").children("day")),
     "a week cannot be broken into days; it is the smallest period"),
    ("largest", lambda: raised(lambda: Period.parse("2026").parent("month")),
     "a year has no enclosing month; it is the largest period"),
    ("coarser", lambda: raised(lambda: Period.parse("2026-Q2").parent("week")),
     "a quarter has no enclosing week; use one of year"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "english"),
    [
        pytest.param(check, english, id=f"{group}-{name}")
        for group, cases in (
            ("kpi", KPI_CASES),
            ("incentive", INCENTIVE_CASES),
            ("guard", GUARD_CASES),
            ("period", PERIOD_CASES),
        )
        for name, check, english in cases
    ],
)
def test_each_plan_problem_reads_in_chinese_and_in_english_as_before(check, english):
    """KPI plan and incentive plan checks, the tier arithmetic's guards and the periods a
    target is split by."""
    assert_bilingual(check(), english)


def test_a_metric_problem_reads_naturally_in_chinese():
    [problem] = scoring.check_plan([metric(floor=D("1.3"))])
    assert problem.text("zh-CN") == "visits (拜访量)：起评线 130 % 高于封顶 120 %"
    weights = problem_at(kpi_plans.read_plan(kpi(weight=90)), "metrics")
    assert weights.text("zh-CN") == "权重合计为 90，应为 100"
    gap = tiers("0-80:2%, 70-:4%")()
    assert gap.text("zh-CN") == (
        "commission：阶梯“70-:4%”：从 70 % 开始，但前一个阶梯止于 80 %；"
        "阶梯必须首尾相接，不能有空档或重叠"
    )


def test_the_check_for_leftover_english_would_catch_an_untranslated_template(monkeypatch):
    monkeypatch.setitem(
        MESSAGES, "kpi_plan.weights", {"en": "weights sum to {weights}, not 100",
                                       "zh-CN": "权重 sum to {weights}"}
    )  # fmt: skip
    message = problem_at(kpi_plans.read_plan(kpi(weight=90)), "metrics")
    assert leftovers(message) == {"sum", "to"}


# -- through the records service: the measures a plan names ----------------------------------


@pytest.fixture
def sales(runtime, admin) -> Sales:
    return build(runtime, admin)


def refused_plan(sales: Sales, form: str, values: dict[str, Any]) -> FieldError:
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        records.create(work, get_form(work, f"{APP}.{form}"), values)
    [problem] = refused.value.errors
    return problem


def test_a_bad_plan_sent_to_the_api_gets_422_naming_the_field_and_nothing_stored(sales, api):
    path = f"/forms/{APP}.kpi_plan/records"
    before = api.get(path).body["records"]
    response = api.post(path, {"data": kpi(measure="nope")})
    assert response.status_code == 422
    [problem] = response.body["errors"]
    assert problem["field"] == "metrics[0].measure"
    assert "there is no measure 'nope'" in problem["message"]
    assert api.get(path).body["records"] == before


def test_a_plan_naming_an_unknown_measure_is_refused_in_both_languages(sales):
    problem = refused_plan(sales, "kpi_plan", kpi(measure="nope"))
    assert problem.field == "metrics[0].measure"
    assert_bilingual(problem.message, "visits: there is no measure 'nope' (see 业绩度量)")
    problem = refused_plan(sales, "incentive_plan", incentive(measure="nope"))
    assert problem.field == "rules[0].measure"
    assert_bilingual(problem.message, "commission: there is no measure 'nope'")


def test_an_unreadable_weight_is_refused_once_not_again_as_a_wrong_sum():
    plan, problems = kpi_plans.read_plan(kpi(weight="heavy"))
    assert plan is None
    assert [problem.field for problem in problems] == ["metrics[0].weight"]


def test_the_new_plan_checks_read_naturally_in_chinese():
    assert honours(top_n="three")().text("zh-CN") == "star：前N名必须是 ≥ 1 的整数，当前为 three"
    factor = read_incentive("rules[0].gate_factor", gate_factor="1.5")()
    assert factor.text("zh-CN") == "commission：未达门槛系数必须在 0 % 到 100 % 之间，当前为 150 %"
    floor = read_kpi("metrics[0].floor", floor="-0.1")()
    assert floor.text("zh-CN") == "visits：起评线必须是 ≥ 0 的百分比，当前为 -10 %"


# -- through the records service: a plan the arithmetic could not use -------------------------


def _loosen_incentive_plan_form(sales: Sales) -> None:
    """Republish the incentive plan form as an admin may: top N typed as text, the tier mode
    free text, the rate and the gate factor without their limits — so only the plugin's own
    checks stand between what is typed and the arithmetic."""
    name = f"{APP}.incentive_plan"
    with sales.runtime.write() as work:
        document = jsoncodec.loads(definition_text(work, name))
        columns = document["properties"]["rules"]["items"]["properties"]
        for key in ("top_n", "mode"):
            columns[key] = {"x-field": "text", "type": "string", "title": columns[key]["title"],
                            "x-label": columns[key]["x-label"], "maxLength": 40}  # fmt: skip
        del columns["rate"]["minimum"]
        del columns["gate_factor"]["maximum"]
        publish(work, name, document)


def _stored_plan(sales: Sales, record_id: int) -> tuple[int, dict[str, Any]]:
    with sales.runtime.read() as work:
        loaded = get_form(work, f"{APP}.incentive_plan")
        record = records.get(work, record_id, form_id=loaded.form.id)
        return record.revision, jsoncodec.loads(jsoncodec.dumps(record.data))


def _rules_of(sales: Sales, record_id: int) -> list[dict[str, Any]]:
    with sales.runtime.read() as work:
        loaded = get_form(work, f"{APP}.incentive_plan")
        record = records.get(work, record_id, form_id=loaded.form.id)
        return dict(from_document(loaded.spec, record.data))["rules"]


def test_the_shipped_form_already_refuses_a_top_n_that_is_not_a_number(sales):
    values = {**incentive(), "rules": [{"key": "star", "name": "销售之星", "kind": "honours",
                                        "title": "销售之星", "top_n": "three"}]}  # fmt: skip
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        records.create(work, get_form(work, f"{APP}.incentive_plan"), values)
    assert [problem.field for problem in refused.value.errors] == ["rules[0].top_n"]


def test_a_plan_the_arithmetic_could_not_use_is_refused_when_saved_in_both_languages(sales):
    _loosen_incentive_plan_form(sales)
    star = {"key": "star", "name": "销售之星", "kind": "honours", "title": "销售之星",
            "top_n": "three"}  # fmt: skip
    bad = {**incentive(mode="tiered", rate="-0.01", gate_factor="1.5")["rules"][0]}
    with sales.runtime.read() as work:
        before = work.session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.form_id == get_form(work, f"{APP}.incentive_plan").form.id)
        )
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        records.create(
            work, get_form(work, f"{APP}.incentive_plan"), {**incentive(), "rules": [bad, star]}
        )
    found = {problem.field: problem.message for problem in refused.value.errors}
    assert sorted(found) == ["rules[0].gate_factor", "rules[0].mode", "rules[0].rate",
                             "rules[1].top_n"]  # fmt: skip
    assert_bilingual(found["rules[0].mode"], "commission: must be one of marginal, retroactive")
    assert_bilingual(
        found["rules[0].rate"], "commission: the rate must be a percentage ≥ 0, not -1 %"
    )
    assert_bilingual(
        found["rules[0].gate_factor"],
        "commission: the factor below the gate must be from 0 % to 100 %, not 150 %",
    )
    assert_bilingual(found["rules[1].top_n"], "star: top N must be a whole number ≥ 1, not three")
    with sales.runtime.read() as work:
        after = work.session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.form_id == get_form(work, f"{APP}.incentive_plan").form.id)
        )
    assert after == before  # nothing stored


def test_a_stored_plan_edited_into_one_that_cannot_be_used_is_refused_and_kept_as_it_was(sales):
    _loosen_incentive_plan_form(sales)
    star = {"key": "star", "name": "销售之星", "kind": "honours", "title": "销售之星",
            "top_n": "3", "amount": "1000.00"}  # fmt: skip
    with sales.runtime.write() as work:
        loaded = get_form(work, f"{APP}.incentive_plan")
        plan = records.create(work, loaded, {**incentive(), "rules": [star]}).id
    revision, stored = _stored_plan(sales, plan)
    rules_before = _rules_of(sales, plan)
    for change, field, english in (
        ({"top_n": "three"}, "rules[0].top_n", "star: top N must be a whole number ≥ 1, not three"),
        ({"top_n": "0"}, "rules[0].top_n", "star: top N must be a whole number ≥ 1, not 0"),
        ({"gate_score": "60", "gate_factor": "2"}, "rules[0].gate_factor",
         "star: the factor below the gate must be from 0 % to 100 %, not 200 %"),
    ):  # fmt: skip
        with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
            loaded = get_form(work, f"{APP}.incentive_plan")
            records.update_record(
                work, loaded, plan, {"rules": [{**rules_before[0], **change}]}, revision=revision
            )
        [problem] = refused.value.errors
        assert problem.field == field
        assert_bilingual(problem.message, english)
        assert _stored_plan(sales, plan) == (revision, stored)
    with sales.runtime.read() as work:
        [kept] = [p for p in incentive_plans.all_plans(work) if p.id == plan]
    assert kept.rules[0].top_n == 3


def test_a_kpi_plan_counted_over_nobody_knows_is_refused_and_the_stored_one_kept(sales):
    name = f"{APP}.kpi_plan"
    with sales.runtime.write() as work:
        document = jsoncodec.loads(definition_text(work, name))
        columns = document["properties"]["metrics"]["items"]["properties"]
        for key in ("of", "weight"):
            columns[key] = {"x-field": "text", "type": "string", "title": columns[key]["title"],
                            "x-label": columns[key]["x-label"], "maxLength": 40}  # fmt: skip
        publish(work, name, document)
        plan = records.create(work, get_form(work, name), kpi()).id
    with sales.runtime.read() as work:
        record = records.get(work, plan)
        revision, stored = record.revision, jsoncodec.loads(jsoncodec.dumps(record.data))
    with pytest.raises(ValidationFailed) as refused, sales.runtime.write() as work:
        loaded = get_form(work, name)
        row = dict(from_document(loaded.spec, record.data))["metrics"][0]
        records.update_record(
            work, loaded, plan, {"metrics": [{**row, "of": "everyone", "weight": "all"}]},
            revision=revision,
        )  # fmt: skip
    found = {problem.field: problem.message for problem in refused.value.errors}
    assert sorted(found) == ["metrics[0].of", "metrics[0].weight"]
    assert_bilingual(found["metrics[0].of"], "visits: must be one of self, team")
    assert_bilingual(found["metrics[0].weight"], "visits: weight must be a number, not all")
    with sales.runtime.read() as work:
        record = records.get(work, plan)
        assert (record.revision, record.data) == (revision, stored)
        [kept] = [p for p in kpi_plans.all_plans(work) if p.id == plan]
    assert kept.metrics[0].of == "self"


# -- a contract's credit split (credit) -------------------------------------------------------


def refused_split(sales: Sales, customer: int, team: list[dict[str, Any]]) -> dict[str, Said]:
    values = {"name": "Shared", "customer": customer, "amount": "40000",
              "signed_on": "2026-03-10", "team": team}  # fmt: skip
    with pytest.raises(BadRequest) as refused, sales.runtime.write(sales.user("rita")) as work:
        records.create(work, get_form(work, f"{APP}.contract"), values)
    return {problem.field: problem.message for problem in refused.value.errors}


def test_each_refused_credit_split_reads_in_both_languages(sales):
    rita, ron, acme = sales.people["rita"].id, sales.people["ron"].id, sales.customer()
    short = refused_split(
        sales, acme, [{"member": rita, "share": 60}, {"member": ron, "share": 30}]
    )
    assert_bilingual(short["team"], "the shares sum to 90 %, not 100 %")
    assert short["team"].text("zh-CN") == "分配比例合计为 90 %，应为 100 %"
    twice = refused_split(
        sales, acme, [{"member": rita, "share": 50}, {"member": rita, "share": 50}]
    )
    assert_bilingual(twice["team"], "a rep appears twice in the split")
    nobody = refused_split(sales, acme, [{"member": rita, "share": 50}, {"share": 50}])
    assert_bilingual(nobody["team"], "every share needs a rep")


def test_a_share_that_is_not_a_percentage_is_refused_not_a_crash(sales):
    name = f"{APP}.contract"
    with sales.runtime.write() as work:
        document = jsoncodec.loads(definition_text(work, name))
        share = document["properties"]["team"]["items"]["properties"]["share"]
        document["properties"]["team"]["items"]["properties"]["share"] = {
            "x-field": "text", "type": "string", "title": share["title"],
            "x-label": share["x-label"], "maxLength": 20,
        }  # fmt: skip
        publish(work, name, document)
    rita, ron = sales.people["rita"].id, sales.people["ron"].id
    found = refused_split(
        sales,
        sales.customer(),
        [{"member": rita, "share": "half"}, {"member": ron, "share": "150"}],
    )
    assert sorted(found) == ["team[0].share", "team[1].share"]
    assert_bilingual(found["team[0].share"], "a share must be a percentage from 0 to 100, not half")
    assert_bilingual(found["team[1].share"], "a share must be a percentage from 0 to 100, not 150")


# -- target decomposition and roll-up (targets.tree) -----------------------------------------


def test_each_refused_split_of_a_target_reads_in_both_languages(sales):
    year = target(sales, "1000000")

    def refused(english: str, kind: type[Exception] = BadRequest, as_: str = "admin", **how):
        assert_bilingual(raised(lambda: split(sales, year, as_=as_, **how), kind), english)

    refused("must be one of equal, seasonality, last_year, custom", into="month", method="dice")
    refused("say what to split into: quarter, month or week")
    refused("must be 'period' or 'org'", by="region")
    refused("a year cannot be broken into years; use one of quarter, month, week", into="year")
    quarters = "Company 2026-Q1, Company 2026-Q2, Company 2026-Q3, Company 2026-Q4"
    refused(f"seasonality needs one weight per child: 4 ({quarters})", into="quarter",
            method="seasonality", weights=[1, 2])  # fmt: skip
    refused("must be a number", into="quarter", method="custom", weights=["x", 1, 1, 1])
    refused("must be a number ≥ 0", into="quarter", method="custom", weights=[-1, 1, 1, 1])
    refused("at least one weight must be above 0", into="quarter", method="custom",
            weights=[0, 0, 0, 0])  # fmt: skip
    refused("there are no actuals last year to weigh by; split equally or by custom weights",
            into="quarter", method="last_year")  # fmt: skip
    not_theirs = f"you may not change how target #{year} (Company 2026) is split: only its "
    refused(
        not_theirs + "department's head (or an admin) may", Forbidden, as_="rita", into="quarter"
    )
    split(sales, year, into="quarter")
    refused(f"target #{year} already has 4 children; say replace to split it again",
            into="month")  # fmt: skip
    rep = target(sales, "1000", period="2026-06", level="rep", member=sales.people["rita"].id)
    assert_bilingual(
        raised(lambda: split(sales, rep, by="org"), BadRequest),
        "a rep's target cannot be split over people",
    )


def test_each_refused_override_of_a_target_reads_in_both_languages(sales):
    quarter = target(sales, "3000000", period="2026-Q1")
    months = split(sales, quarter, into="month").children

    def refused(english: str, child: int, amount: Any, kind: type[Exception] = BadRequest):
        def override() -> None:
            with sales.runtime.write() as work:
                tree.override(work, child, amount)

        assert_bilingual(raised(override, kind), english)

    refused("must be a number", months[0].id, "lots")
    refused("must be a number ≥ 0", months[0].id, "-1")
    refused("must have at most 2 decimal places", months[0].id, "1.234")
    refused("say why the target should change", quarter, "100")
    refused("there is no target #999999", 999999, "100", NotFound)
    with sales.runtime.write() as work:
        tree.override(work, months[0].id, "1500000")
        tree.override(work, months[1].id, "1000000")
    refused("1,600,000 is more than the parent's total leaves for it (3,000,000 − locked "
            "2,500,000 = 500,000); file a target adjustment to change the parent",
            months[2].id, "1600000")  # fmt: skip
    refused("400,000 is different from what the parent's total leaves, and every sibling is "
            "locked (3,000,000 − locked 2,500,000 = 500,000); file a target adjustment to "
            "change the parent", months[2].id, "400000")  # fmt: skip


def test_a_target_someone_may_not_see_is_refused_in_both_languages(sales):
    year = target(sales, "1000000")

    def look() -> None:
        with sales.runtime.read(sales.user("rita")) as work:
            tree.tree(work, year)

    assert_bilingual(raised(look, Forbidden), f"you may not see target #{year}")


# -- the record form page: a Chinese admin reads why a plan was not saved --------------------


@pytest.fixture
def browser(app, sales) -> Browser:
    app.config["WTF_CSRF_ENABLED"] = False
    return Browser(app, sales)


def refused_in_both(browser: Browser, url: str, form: dict[str, str]) -> tuple[str, str]:
    """The page an admin gets posting ``form`` to ``url`` in Chinese, then in English, each
    refused with 422."""
    pages = []
    for language in ("zh-CN", "en"):
        response = browser.as_("admin", language).post(url, data=form)
        assert response.status_code == 422
        pages.append(unescape(response.get_data(as_text=True)))
    return pages[0], pages[1]


def test_a_chinese_admin_saving_a_top_n_that_is_not_a_number_reads_why_not_a_500(browser, sales):
    _loosen_incentive_plan_form(sales)
    form = {
        "name": "荣誉方案",
        "role": "sales_rep",
        "effective_from": "2026-01-01",
        "period_kind": "month",
        "active": "y",
        "rules-0-key": "star",
        "rules-0-name": "销售之星",
        "rules-0-kind": "honours",
        "rules-0-title": "销售之星",
        "rules-0-top_n": "three",
    }
    chinese, english = refused_in_both(browser, f"/f/{APP}.incentive_plan/new", form)
    assert "star：前N名必须是 ≥ 1 的整数，当前为 three" in chinese
    assert "top N must be" not in chinese
    assert "star: top N must be a whole number ≥ 1, not three" in english


def test_a_chinese_admin_saving_a_bad_kpi_plan_reads_why_in_chinese(browser, sales):
    form = {
        "name": "巡店考核",
        "role": "sales_rep",
        "period_kind": "month",
        "grades": "S:90, A:80, B:70, C:60, D:0",
        "active": "y",
        "metrics-0-key": "visits",
        "metrics-0-name": "拜访量",
        "metrics-0-dimension": "process",
        "metrics-0-weight": "90",
        "metrics-0-source": "measure",
        "metrics-0-measure": "visits",
        "metrics-0-of": "self",
        "metrics-0-target_kind": "fixed",
        "metrics-0-target": "30",
        "metrics-0-direction": "higher",
        "metrics-0-rule": "linear",
        "metrics-0-floor": "0",
        "metrics-0-cap": "120",
    }
    chinese, english = refused_in_both(browser, f"/f/{APP}.kpi_plan/new", form)
    assert "权重合计为 90，应为 100" in chinese
    assert "weights sum to" not in chinese
    assert "weights sum to 90, not 100" in english


def test_a_cap_left_empty_is_120_percent_and_a_cap_typed_as_0_is_0():
    empty, problems = kpi_plans.read_plan(kpi())
    assert problems == [] and empty.metrics[0].metric.cap == D("1.2")
    zero, problems = kpi_plans.read_plan(kpi(cap="0"))
    assert problems == [] and zero.metrics[0].metric.cap == D(0)
