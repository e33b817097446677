"""Explanations in the reader's language (zh-CN or English).

Every step of an incentive or KPI calculation is a :class:`Said`: a message key from
:data:`MESSAGES` and its parameters, rendered in the reader's language where it is shown
(:func:`show`). The figures go into the parameters already written by ``format_number`` /
``format_percent``, so both languages show the same numbers and only the words around them
differ. A ``Said`` *is* its English text (a ``str``), so code that compares, searches or
logs an explanation keeps reading it as before; only showing it asks for a language.

**Stored explanations.** Bonus statement and KPI result lines keep their explanation in a
text field of the form definition (up to 4,000 characters). There it is written in both
languages, one line each — ``[zh-CN] …`` then ``[en] …`` (:func:`stored`) — rather than as
a key and parameters in JSON, because the engine's own record and approval pages show that
field as it is stored: approvers of a bonus statement read it there, and two readable lines
serve them where JSON would not, with no change to the form's definition. The figures are
written once, when the line is computed, and an approved statement's wording is what its
approvers saw. Text without the tags was stored before explanations were bilingual (English
only) and is shown as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .split import format_number

if TYPE_CHECKING:
    from .targets.tree import Target

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
#: The stored text's limit (the ``explanation`` fields' maxLength).
LIMIT = 4000
TAGS = {"zh-CN": "[zh-CN] ", "en": "[en] "}
#: Between the steps of one explanation.
SEPARATORS = {"zh-CN": "；", "en": "; "}

#: Message key → its text in each language. ``{name}``s are the parameters; figures arrive
#: already written, so the English and Chinese show them alike.
MESSAGES: dict[str, dict[str, str]] = {
    # -- commission tiers (rules.commission) --------------------------------------------
    "attainment": {
        "en": "attainment {actual} / {target} = {attainment}",
        "zh-CN": "达成率 {actual} / {target} = {attainment}",
    },
    "commission.no_base": {
        "en": "no commission on a base of {base}",
        "zh-CN": "基数为 {base}，不计提成",
    },
    "commission.retroactive": {
        "en": "{attainment} reaches tier {tier} at {rate}; retroactive on the whole base: "
        "{base} × {rate} = {amount}",
        "zh-CN": "达成率 {attainment} 落在 {tier} 阶梯，提成比例 {rate}；全额累进，"
        "整个基数按该比例计提：{base} × {rate} = {amount}",
    },
    "commission.tier": {
        "en": "tier {tier}: {low}–{high}, {slice} × {rate} = {amount}",
        "zh-CN": "阶梯 {tier}：{low}–{high} 部分，{slice} × {rate} = {amount}",
    },
    "commission.marginal": {
        "en": "marginal: {terms} = {amount}",
        "zh-CN": "超额累进合计：{terms} = {amount}",
    },
    "commission.rounded": {
        "en": "rounded to the cent: {amount}",
        "zh-CN": "四舍五入到分：{amount}",
    },
    "commission.no_target": {
        "en": "{how}: no commission without a target",
        "zh-CN": "{how}：没有目标，不计提成",
    },
    # -- caps and gates ------------------------------------------------------------------
    "cap.absolute": {"en": "the cap of {cap}", "zh-CN": "封顶金额 {cap}"},
    "cap.multiple": {
        "en": "{multiple} × on-target pay {on_target} = {cap}",
        "zh-CN": "{multiple} 倍目标提成 {on_target} = {cap}",
    },
    "cap.hit": {
        "en": "capped at {how}: {amount} → {cap}",
        "zh-CN": "超过封顶（{how}）：{amount} → {cap}",
    },
    "gate.passed": {
        "en": "KPI score {score} ≥ gate {gate}: paid in full",
        "zh-CN": "KPI 得分 {score} ≥ 门槛 {gate}：全额发放",
    },
    "gate.unpaid": {
        "en": "KPI score {score} is below the gate of {gate}: not paid ({amount} → 0)",
        "zh-CN": "KPI 得分 {score} 低于门槛 {gate}：不予发放（{amount} → 0）",
    },
    "gate.factor": {
        "en": "KPI score {score} is below the gate of {gate}: {amount} × {factor} = {paid}",
        "zh-CN": "KPI 得分 {score} 低于门槛 {gate}：按比例发放，{amount} × {factor} = {paid}",
    },
    "gate.no_scorecard": {
        "en": "no KPI scorecard in {period}, counted as 0: {how}",
        "zh-CN": "{period} 没有 KPI 考核结果，按 0 分计：{how}",
    },
    # -- sharing: credit splits and team awards ------------------------------------------
    "share": {"en": "{share} = {exact}", "zh-CN": "{share} = {exact}"},
    "share.rounded": {
        "en": "{share} = {exact} → {part} (odd cents by largest remainder, so the parts add up)",
        "zh-CN": "{share} = {exact} → {part}（零头按最大余数法分配，各份之和与总额一致）",
    },
    "team.result": {
        "en": "team {actual} of target {target} ({attainment})",
        "zh-CN": "团队实际 {actual}，目标 {target}（达成率 {attainment}）",
    },
    "team.below": {
        "en": "{result}: below target, no award",
        "zh-CN": "{result}：未达目标，不发团队奖",
    },
    "team.nobody": {
        "en": "{result}: no member has a positive actual to share by",
        "zh-CN": "{result}：没有成员业绩为正，无法按业绩分配",
    },
    "team.share": {
        "en": "{result}: pool {pool} × {share}",
        "zh-CN": "{result}：团队奖金池 {pool} × 个人业绩占比 {share}",
    },
    "team.no_target": {
        "en": "your team has no {period} target of {measure}",
        "zh-CN": "你的团队没有 {period} 的{measure}目标",
    },
    # -- one-off lines -------------------------------------------------------------------
    "honours.rank": {
        "en": "rank {rank} of {count} with {score}, top {top}: {title} + {bonus}",
        "zh-CN": "{count} 人中排名第 {rank}，得分 {score}，前 {top} 名获评：{title} + 奖金 {bonus}",
    },
    "honours.rank_tied": {
        "en": "rank {rank} (tied) of {count} with {score}, top {top}: {title} + {bonus}",
        "zh-CN": "{count} 人中并列第 {rank}，得分 {score}，前 {top} 名获评：{title} + 奖金 {bonus}",
    },
    "clawback": {
        "en": "clawback of {paid} paid earlier: {amount}",
        "zh-CN": "追回此前已发放的 {paid}：{amount}",
    },
    "clawback.record": {
        "en": "{form} #{record} no longer counts for {measure} (cancelled, refunded or "
        "deleted) after statement #{statement} ({period}) paid {paid} on a base of {base}, "
        "{value} of it this record's: {how}",
        "zh-CN": "{form} #{record} 已不再计入{measure}（已取消、退款或删除）；奖金单 "
        "#{statement}（{period}）曾按基数 {base} 发放 {paid}，其中本记录占 {value}：{how}",
    },
    "override.base": {
        "en": "{measure} of the {count} people you manage",
        "zh-CN": "你管理的 {count} 人的{measure}",
    },
    "named": {"en": "{name}: {how}", "zh-CN": "{name}：{how}"},
    # -- targets behind the numbers -----------------------------------------------------
    "target.rep": {"en": "target {name} (#{id}): {how}", "zh-CN": "目标 {name}（#{id}）：{how}"},
    "target.none": {
        "en": "no {period} target of {measure} for this person",
        "zh-CN": "此人没有 {period} 的{measure}目标",
    },
    "prorate.all": {
        "en": "active all {days} days of {period}: {amount}",
        "zh-CN": "{period} 全部 {days} 天在岗：{amount}",
    },
    "prorate.none": {"en": "not active in {period}: 0", "zh-CN": "{period} 期间不在岗：0"},
    "prorate.part": {
        "en": "active {first} – {last}, {active} of {days} days of {period}: "
        "{amount} × {active} / {days} = {share}",
        "zh-CN": "{first} 至 {last} 在岗，为 {period} 共 {days} 天中的 {active} 天："
        "{amount} × {active} / {days} = {share}",
    },
    # -- target progress ------------------------------------------------------------------
    "progress.target": {"en": "target {amount}; {how}", "zh-CN": "目标 {amount}；{how}"},
    "progress.actual.rep": {
        "en": "actual: {measure} over the rep's records in {period} = {actual}",
        "zh-CN": "实际：{period} 本人记录的{measure} = {actual}",
    },
    "progress.actual.department": {
        "en": "actual: {measure} over records of every member of the department and those "
        "below it in {period} = {actual}",
        "zh-CN": "实际：{period} 本部门及下级部门全体成员记录的{measure} = {actual}",
    },
    "progress.actual.company": {
        "en": "actual: {measure} over every record of the company in {period} = {actual}",
        "zh-CN": "实际：{period} 全公司记录的{measure} = {actual}",
    },
    "progress.attainment": {
        "en": "attainment {actual} / {target} = {share}",
        "zh-CN": "达成率 {actual} / {target} = {share}",
    },
    "progress.no_target": {
        "en": "attainment: no target to measure against",
        "zh-CN": "达成率：没有可对照的目标",
    },
    "progress.elapsed": {"en": "time elapsed: {how}", "zh-CN": "时间进度：{how}"},
    "elapsed.before": {
        "en": "{period} has not started on {today}: 0 %",
        "zh-CN": "{today} 时 {period} 尚未开始：0 %",
    },
    "elapsed.after": {
        "en": "{period} is over on {today}: 100 %",
        "zh-CN": "{today} 时 {period} 已结束：100 %",
    },
    "elapsed.during": {
        "en": "{today} is day {day} of {days} in {period}: {day} / {days} = {share}",
        "zh-CN": "{today} 是 {period} 共 {days} 天中的第 {day} 天：{day} / {days} = {share}",
    },
    "progress.forecast": {
        "en": "forecast {actual} + open pipeline × stage probability {pipeline} = {forecast}",
        "zh-CN": "预测 {actual} + 未结商机 × 阶段赢率 {pipeline} = {forecast}",
    },
    "progress.trailing": {
        "en": "trailing: {share} is more than {tolerance} behind the {elapsed} elapsed",
        "zh-CN": "进度落后：达成 {share}，比时间进度 {elapsed} 落后超过 {tolerance}",
    },
    # -- statements ----------------------------------------------------------------------
    "rerun": {
        "en": "rerun after approval: {after} now, {before} approved before → {difference}",
        "zh-CN": "批准后重新计算：现为 {after}，此前已批准 {before} → 差额 {difference}",
    },
    "adjustment.note": {
        "en": "Adjustment after approval of statement #{id}",
        "zh-CN": "奖金单 #{id} 批准后的调整",
    },
    # -- KPI scoring (kpi.scoring, kpi.scorecards, kpi.appeals) ---------------------------
    "kpi.no_target": {"en": "no target (target {target})", "zh-CN": "没有目标（目标 {target}）"},
    "kpi.best_when_zero": {
        "en": "actual 0 against target {target}, lower is better: the best possible, "
        "counted as {attainment}",
        "zh-CN": "实际为 0（目标 {target}），越低越好：已是最佳，按达成率 {attainment} 计",
    },
    "kpi.attainment_lower": {
        "en": "attainment (lower is better) target {target} / actual {actual} = {attainment}",
        "zh-CN": "达成率（越低越好）目标 {target} / 实际 {actual} = {attainment}",
    },
    "kpi.linear": {
        "en": "linear, cap {cap}: 100 × {used} = {score}",
        "zh-CN": "线性计分，封顶 {cap}：100 × {used} = {score}",
    },
    "kpi.linear_capped": {
        "en": "linear, cap {cap}: {attainment} capped at {cap}, 100 × {used} = {score}",
        "zh-CN": "线性计分，封顶 {cap}：达成率 {attainment} 按封顶 {cap} 计，"
        "100 × {used} = {score}",
    },
    "kpi.linear_below": {
        "en": "linear, floor {floor}: {attainment} is below the floor → 0",
        "zh-CN": "线性计分，门槛 {floor}：达成率 {attainment} 低于门槛 → 0",
    },
    "kpi.bands": {
        "en": "bands {table}: {attainment} reaches {threshold} → {score}",
        "zh-CN": "分档计分 {table}：达成率 {attainment} 达到 {threshold} 档 → {score}",
    },
    "kpi.bands_below": {
        "en": "bands {table}: {attainment} is below the lowest band ({lowest}) → 0",
        "zh-CN": "分档计分 {table}：达成率 {attainment} 低于最低档（{lowest}）→ 0",
    },
    "kpi.bands_none": {
        "en": "bands {table}: {attainment} is below the lowest band → 0",
        "zh-CN": "分档计分 {table}：达成率 {attainment} 低于最低档 → 0",
    },
    "kpi.unscored": {"en": "{how}: {metric} is not scored", "zh-CN": "{how}：{metric} 不计分"},
    "kpi.manual": {"en": "manual score {score}", "zh-CN": "上级评分 {score}"},
    "kpi.manual_comment": {
        "en": "manual score {score}: {comment}",
        "zh-CN": "上级评分 {score}：{comment}",
    },
    "kpi.manual_missing": {"en": "no manual score given yet", "zh-CN": "上级尚未评分"},
    "kpi.term": {
        "en": "{metric}: {weight} × {score} / 100 = {term}",
        "zh-CN": "{metric}：权重 {weight} × 得分 {score} / 100 = {term}",
    },
    "kpi.term_unscored": {
        "en": "{metric}: not scored, counts 0",
        "zh-CN": "{metric}：未计分，按 0 计",
    },
    "kpi.total": {"en": "total: {terms} = {total}", "zh-CN": "总分：{terms} = {total}"},
    "kpi.grade_reached": {
        "en": "{score} ≥ {minimum} → {grade}",
        "zh-CN": "{score} ≥ {minimum} → {grade}",
    },
    "kpi.grade_lowest": {
        "en": "{score} is below every minimum → the lowest grade, {grade}",
        "zh-CN": "{score} 低于所有等级下限 → 最低等级 {grade}",
    },
    "kpi.grade": {"en": "grade: {how}", "zh-CN": "等级：{how}"},
    "kpi.ratio_zero": {
        "en": "{name} is 0: the ratio is not scored",
        "zh-CN": "{name} 为 0：比率不计分",
    },
    "kpi.target_from": {
        "en": "target from {name} (#{id}): {how}",
        "zh-CN": "目标取自 {name}（#{id}）：{how}",
    },
    "kpi.target_none": {
        "en": "no sales target of {measure} for this person in {period}",
        "zh-CN": "此人 {period} 没有{measure}的销售目标",
    },
    "kpi.target_fixed": {"en": "fixed target {target}", "zh-CN": "固定目标 {target}"},
    "kpi.appeal": {
        "en": "appeal #{id} accepted: score {score} → {decided} (adjustment {adjustment})",
        "zh-CN": "申诉 #{id} 已通过：得分 {score} → {decided}（调整 {adjustment}）",
    },
    # -- plan checks: what is wrong with a plan, tier or band an admin typed ----------------
    "problem.of": {"en": "{name}: {problem}", "zh-CN": "{name}：{problem}"},
    "plan.no_metrics": {"en": "the plan has no metrics", "zh-CN": "方案中没有任何指标"},
    "plan.no_rules": {"en": "the plan has no rules", "zh-CN": "方案中没有任何规则"},
    "plan.no_metric": {
        "en": "plan '{plan}' has no metric '{metric}'",
        "zh-CN": "考核方案“{plan}”中没有指标“{metric}”",
    },
    "plan.unknown_measure": {
        "en": "there is no measure '{measure}'",
        "zh-CN": "没有业绩度量“{measure}”",
    },
    "plan.unknown_measure_see": {
        "en": "there is no measure '{measure}' (see 业绩度量)",
        "zh-CN": "没有业绩度量“{measure}”（请到“业绩度量”中查看）",
    },
    "plan.must_be_date": {"en": "must be a date", "zh-CN": "必须是日期"},
    "kpi_plan.source": {
        "en": "must be one of {choices}",
        "zh-CN": "数据来源必须是 {choices} 之一",
    },
    "kpi_plan.needs_bands": {
        "en": "banded scoring needs bands",
        "zh-CN": "按分段计分时需要填写分段",
    },
    "kpi_plan.needs_measure": {
        "en": "say which measure it counts",
        "zh-CN": "请选择要统计的业绩度量",
    },
    "kpi_plan.needs_denominator": {
        "en": "a ratio needs a denominator measure",
        "zh-CN": "比率指标需要填写分母度量",
    },
    "kpi_plan.fixed_target": {
        "en": "a fixed target must be above 0",
        "zh-CN": "固定目标必须大于 0",
    },
    "kpi_plan.ratio_target": {
        "en": "a ratio's target must be fixed",
        "zh-CN": "比率指标的目标必须是固定值",
    },
    "kpi_plan.duplicate_key": {
        "en": "key is used by {count} metrics; keys must be unique",
        "zh-CN": "该标识被 {count} 个指标使用；指标标识不能重复",
    },
    "kpi_plan.weights": {
        "en": "weights sum to {weights}, not 100",
        "zh-CN": "权重合计为 {weights}，应为 100",
    },
    "kpi_plan.weight": {
        "en": "weight must be more than 0, not {weight}",
        "zh-CN": "权重必须大于 0，当前为 {weight}",
    },
    "kpi_plan.dimension": {
        "en": "dimension {value} is not one of {choices}",
        "zh-CN": "维度 {value} 无效，应为 {choices} 之一",
    },
    "kpi_plan.direction": {
        "en": "direction {value} is not one of {choices}",
        "zh-CN": "方向 {value} 无效，应为 {choices} 之一",
    },
    "kpi_plan.rule": {
        "en": "rule {value} is not one of {choices}",
        "zh-CN": "计分规则 {value} 无效，应为 {choices} 之一",
    },
    "kpi_plan.floor_above_cap": {
        "en": "floor {floor} is above cap {cap}",
        "zh-CN": "起评线 {floor} 高于封顶 {cap}",
    },
    "kpi_plan.weight_number": {
        "en": "weight must be a number, not {value}",
        "zh-CN": "权重必须是数字，当前为 {value}",
    },
    "kpi_plan.floor": {
        "en": "floor must be a percentage ≥ 0, not {value}",
        "zh-CN": "起评线必须是 ≥ 0 的百分比，当前为 {value}",
    },
    "kpi_plan.cap": {
        "en": "cap must be a percentage ≥ 0, not {value}",
        "zh-CN": "封顶必须是 ≥ 0 的百分比，当前为 {value}",
    },
    "kpi_plan.target_number": {
        "en": "the target must be a number, not {value}",
        "zh-CN": "目标值必须是数字，当前为 {value}",
    },
    "kpi_plan.of": {
        "en": "must be one of {choices}",
        "zh-CN": "统计范围必须是 {choices} 之一",
    },
    "kpi_plan.target_kind": {
        "en": "must be one of {choices}",
        "zh-CN": "目标来源必须是 {choices} 之一",
    },
    "kpi_plan.period_kind": {
        "en": "must be one of {choices}",
        "zh-CN": "考核周期必须是 {choices} 之一",
    },
    "kpi_plan.no_bands": {"en": "bands: none given", "zh-CN": "分段：未填写"},
    "kpi_plan.bands": {"en": "bands: {problem}", "zh-CN": "分段：{problem}"},
    "kpi.unknown_direction": {
        "en": "unknown direction {direction}; use one of {choices}",
        "zh-CN": "未知的计分方向 {direction}；请使用 {choices} 之一",
    },
    "kpi.negative_actual": {
        "en": "a lower-is-better actual cannot be negative ({actual})",
        "zh-CN": "越低越好的指标，实际值不能为负数（{actual}）",
    },
    "kpi.unknown_rule": {
        "en": "unknown rule {rule}; use one of {choices}",
        "zh-CN": "未知的计分规则 {rule}；请使用 {choices} 之一",
    },
    "kpi.negative_manual": {
        "en": "a manual score cannot be negative ({score})",
        "zh-CN": "上级评分不能为负数（{score}）",
    },
    # -- bands and grades as typed (kpi.scoring) ----------------------------------------------
    "bands.none": {
        "en": 'no bands given; write them as "80:60, 100:80, 120:100"',
        "zh-CN": "未填写分段；请按“80:60, 100:80, 120:100”的格式填写",
    },
    "bands.form": {
        "en": 'band "{part}" is not threshold:score (e.g. "80:60")',
        "zh-CN": "分段“{part}”格式不对，应为“达成率阈值:得分”（如“80:60”）",
    },
    "bands.increase": {
        "en": 'band "{part}": thresholds must increase from left to right, and {threshold} '
        "is not above {previous}",
        "zh-CN": "分段“{part}”：阈值必须从左到右递增，而 {threshold} 并不高于 {previous}",
    },
    "bands.strictly": {
        "en": "thresholds must strictly increase, but {high} follows {low}",
        "zh-CN": "阈值必须严格递增，但 {low} 之后是 {high}",
    },
    "bands.not_number": {
        "en": '"{text}" in band "{part}" is not a number',
        "zh-CN": "分段“{part}”中的“{text}”不是数字",
    },
    "grades.none": {
        "en": 'no grades given; write them as "S:90, A:80, B:70, C:60, D:0"',
        "zh-CN": "未填写等级；请按“S:90, A:80, B:70, C:60, D:0”的格式填写",
    },
    "grades.empty": {"en": "no grades given", "zh-CN": "未填写等级"},
    "grades.form": {
        "en": 'grade "{part}" is not grade:minimum (e.g. "A:80")',
        "zh-CN": "等级“{part}”格式不对，应为“等级:最低分”（如“A:80”）",
    },
    "grades.same": {
        "en": 'grade "{part}": another grade has the minimum {minimum}',
        "zh-CN": "等级“{part}”：已有其他等级的最低分是 {minimum}",
    },
    "grades.same_minimum": {
        "en": "two grades have the same minimum score",
        "zh-CN": "有两个等级的最低分相同",
    },
    "grades.not_number": {
        "en": '"{text}" in grade "{part}" is not a number',
        "zh-CN": "等级“{part}”中的“{text}”不是数字",
    },
    # -- incentive plans and their tiers (incentives.plans, incentives.rules) -----------------
    "incentive_plan.duplicate_key": {
        "en": "two rules have this key",
        "zh-CN": "有两条规则使用了这个规则标识",
    },
    "incentive_plan.kind": {
        "en": "must be one of {choices}",
        "zh-CN": "类型必须是 {choices} 之一",
    },
    "incentive_plan.needs": {
        "en": "a {kind} rule needs {field}",
        "zh-CN": "{kind} 类规则必须填写 {field}",
    },
    "incentive_plan.marginal_target": {
        "en": "marginal tiers slice the base itself, so attainment must be measured on the "
        "same measure; use retroactive, or drop target_measure",
        "zh-CN": "分段累进按基数本身切分阶梯，达成率必须用同一个度量计算；"
        "请改用全额追溯（retroactive），或清空达成率度量（target_measure）",
    },
    "incentive_plan.mode": {
        "en": "must be one of {choices}",
        "zh-CN": "阶梯方式必须是 {choices} 之一",
    },
    "incentive_plan.period_kind": {
        "en": "must be one of {choices}",
        "zh-CN": "结算周期必须是 {choices} 之一",
    },
    "incentive_plan.rate": {
        "en": "the rate must be a percentage ≥ 0, not {value}",
        "zh-CN": "比例必须是 ≥ 0 的百分比，当前为 {value}",
    },
    "incentive_plan.amount": {
        "en": "the amount must be a number ≥ 0 with at most 2 decimal places, not {value}",
        "zh-CN": "金额必须是 ≥ 0 的数字，最多 2 位小数，当前为 {value}",
    },
    "incentive_plan.cap_amount": {
        "en": "the cap must be a number ≥ 0 with at most 2 decimal places, not {value}",
        "zh-CN": "封顶金额必须是 ≥ 0 的数字，最多 2 位小数，当前为 {value}",
    },
    "incentive_plan.cap_multiple": {
        "en": "the cap multiple must be a number ≥ 0, not {value}",
        "zh-CN": "封顶倍数必须是 ≥ 0 的数字，当前为 {value}",
    },
    "incentive_plan.gate_score": {
        "en": "the gate must be a score ≥ 0, not {value}",
        "zh-CN": "KPI门槛分必须是 ≥ 0 的分数，当前为 {value}",
    },
    "incentive_plan.gate_factor": {
        "en": "the factor below the gate must be from 0 % to 100 %, not {value}",
        "zh-CN": "未达门槛系数必须在 0 % 到 100 % 之间，当前为 {value}",
    },
    "incentive_plan.top_n": {
        "en": "top N must be a whole number ≥ 1, not {value}",
        "zh-CN": "前N名必须是 ≥ 1 的整数，当前为 {value}",
    },
    "tiers.none": {
        "en": 'no tiers given; write them as "0-80:2%, 80-100:4%, 100-:6%"',
        "zh-CN": "未填写阶梯；请按“0-80:2%, 80-100:4%, 100-:6%”的格式填写",
    },
    "tiers.empty": {"en": "no tiers given", "zh-CN": "未填写阶梯"},
    "tiers.form": {
        "en": 'tier "{part}" is not from-to:rate (e.g. "80-100:4%", "120-:8%")',
        "zh-CN": "阶梯“{part}”格式不对，应为“起-止:比例”（如“80-100:4%”“120-:8%”）",
    },
    "tiers.typed": {"en": 'tier "{part}": {problem}', "zh-CN": "阶梯“{part}”：{problem}"},
    "tiers.tier": {"en": "tier {tier}: {problem}", "zh-CN": "阶梯 {tier}：{problem}"},
    "tiers.first": {
        "en": "the first tier must start at 0 %, not {lower}",
        "zh-CN": "第一个阶梯必须从 0 % 开始，而不是 {lower}",
    },
    "tiers.after_open": {
        "en": "starts at {lower} but the tier before it is open-ended; tiers must meet with "
        "no gap or overlap",
        "zh-CN": "从 {lower} 开始，但前一个阶梯没有上限；阶梯必须首尾相接，不能有空档或重叠",
    },
    "tiers.gap": {
        "en": "starts at {lower} but the tier before it ends at {upper}; tiers must meet "
        "with no gap or overlap",
        "zh-CN": "从 {lower} 开始，但前一个阶梯止于 {upper}；阶梯必须首尾相接，不能有空档或重叠",
    },
    "tiers.upper": {
        "en": "its upper end must be above its lower end",
        "zh-CN": "上限必须高于下限",
    },
    "tiers.negative_rate": {
        "en": "the rate cannot be negative ({rate})",
        "zh-CN": "比例不能为负数（{rate}）",
    },
    "tiers.last_open": {
        "en": 'the last tier must be open-ended (e.g. "120-:8%") so every attainment has a rate',
        "zh-CN": "最后一个阶梯不能设上限（如“120-:8%”），这样任何达成率都有对应的比例",
    },
    "tiers.not_number": {
        "en": '"{text}" in tier "{part}" is not a number',
        "zh-CN": "阶梯“{part}”中的“{text}”不是数字",
    },
    # -- the arithmetic's own guards (incentives.rules): a saved plan never reaches them ------
    "rules.mode": {
        "en": "unknown commission mode {mode}; use one of {choices}",
        "zh-CN": "未知的阶梯方式 {mode}；请使用 {choices} 之一",
    },
    "rules.negative_cap": {
        "en": "the cap cannot be negative ({cap})",
        "zh-CN": "封顶金额不能为负数（{cap}）",
    },
    "rules.negative_multiple": {
        "en": "the cap multiple cannot be negative ({multiple})",
        "zh-CN": "封顶倍数不能为负数（{multiple}）",
    },
    "rules.gate_factor": {
        "en": "the gate factor must be between 0 and 1, not {factor}",
        "zh-CN": "未达门槛系数必须在 0 到 1 之间，当前为 {factor}",
    },
    "rules.negative_pool": {
        "en": "the pool cannot be negative ({pool})",
        "zh-CN": "团队奖金池不能为负数（{pool}）",
    },
    "rules.spif": {
        "en": "a SPIF needs a count and an amount ≥ 0, not {count} × {amount}",
        "zh-CN": "专项奖励的次数和金额都必须 ≥ 0，当前为 {count} × {amount}",
    },
    "rules.top_n": {
        "en": "top N must be at least 1, not {top}",
        "zh-CN": "前N名至少为 1，当前为 {top}",
    },
    "rules.negative_bonus": {
        "en": "the bonus cannot be negative ({bonus})",
        "zh-CN": "奖金不能为负数（{bonus}）",
    },
    # -- a contract's credit split (credit) ---------------------------------------------------
    "credit.sum": {
        "en": "the shares sum to {total} %, not 100 %",
        "zh-CN": "分配比例合计为 {total} %，应为 100 %",
    },
    "credit.share": {
        "en": "a share must be a percentage from 0 to 100, not {value}",
        "zh-CN": "分配比例必须是 0 到 100 之间的数字，当前为 {value}",
    },
    "credit.needs_rep": {"en": "every share needs a rep", "zh-CN": "每一份分配都要选择销售"},
    "credit.twice": {
        "en": "a rep appears twice in the split",
        "zh-CN": "同一名销售在业绩分配中出现了两次",
    },
    # -- periods (periods) ----------------------------------------------------------------
    "period.no_children": {
        "en": "a {kind} cannot be broken into {into}s; {hint}",
        "zh-CN": "{kind} 不能分解为 {into}；{hint}",
    },
    "period.no_parent": {
        "en": "a {kind} has no enclosing {of}; {hint}",
        "zh-CN": "{kind} 没有上一级的 {of}；{hint}",
    },
    "period.use_one_of": {"en": "use one of {choices}", "zh-CN": "请使用 {choices} 之一"},
    "period.smallest": {"en": "it is the smallest period", "zh-CN": "它已是最小的周期"},
    "period.largest": {"en": "it is the largest period", "zh-CN": "它已是最大的周期"},
    # -- target decomposition and roll-up (targets.tree) --------------------------------------
    "target.missing": {"en": "there is no target #{id}", "zh-CN": "没有目标 #{id}"},
    "target.not_visible": {
        "en": "you may not see target #{id}",
        "zh-CN": "你无权查看目标 #{id}",
    },
    "target.not_manager": {
        "en": "you may not change how target #{id} ({name}) is split: only its department's "
        "head (or an admin) may",
        "zh-CN": "你无权更改目标 #{id}（{name}）的分解：只有其所在部门的负责人（或管理员）可以",
    },
    "target.no_measure": {
        "en": "target #{id} has no measure (or it was deleted)",
        "zh-CN": "目标 #{id} 没有业绩度量（或度量已被删除）",
    },
    "target.rep_by_org": {
        "en": "a rep's target cannot be split over people",
        "zh-CN": "销售代表个人的目标不能再按人员分解",
    },
    "target.no_departments": {
        "en": "the company has no departments to split into",
        "zh-CN": "公司下没有可以分解到的部门",
    },
    "target.no_members": {
        "en": "the department has no members to split into",
        "zh-CN": "该部门没有可以分解到的成员",
    },
    "target.weights_count": {
        "en": "{method} needs one weight per child: {count} ({names})",
        "zh-CN": "{method} 分解需要为每个子目标各填一个权重，共 {count} 个（{names}）",
    },
    "target.weights_zero": {
        "en": "at least one weight must be above 0",
        "zh-CN": "至少要有一个权重大于 0",
    },
    "target.no_last_year": {
        "en": "there are no actuals last year to weigh by; split equally or by custom weights",
        "zh-CN": "去年同期没有实际业绩可作权重；请平均分解（equal）或自定义权重（custom）",
    },
    "target.method": {
        "en": "must be one of {choices}",
        "zh-CN": "分解方式必须是 {choices} 之一",
    },
    "target.into": {
        "en": "say what to split into: quarter, month or week",
        "zh-CN": "请选择分解到哪一级：quarter（季度）、month（月）或 week（周）",
    },
    "target.by": {
        "en": "must be 'period' or 'org'",
        "zh-CN": "必须是 'period'（按时间）或 'org'（按组织）",
    },
    "target.has_children": {
        "en": "target #{id} already has {count} children; say replace to split it again",
        "zh-CN": "目标 #{id} 已有 {count} 个子目标；如要重新分解，请选择替换（replace）",
    },
    "target.over_parent": {
        "en": "{amount} is more than the parent's total leaves for it ({total} − locked "
        "{locked} = {left}); file a target adjustment to change the parent",
        "zh-CN": "{amount} 超过了上级目标留给它的额度（{total} − 已锁定 {locked} = {left}）；"
        "如需更改上级目标，请提交目标调整",
    },
    "target.all_locked": {
        "en": "{amount} is different from what the parent's total leaves, and every sibling "
        "is locked ({total} − locked {locked} = {left}); file a target adjustment to change "
        "the parent",
        "zh-CN": "{amount} 与上级目标留下的额度不一致，且同级目标均已锁定"
        "（{total} − 已锁定 {locked} = {left}）；如需更改上级目标，请提交目标调整",
    },
    "target.reason": {
        "en": "say why the target should change",
        "zh-CN": "请说明调整目标的原因",
    },
    "value.number": {"en": "must be a number", "zh-CN": "必须是数字"},
    "value.non_negative": {"en": "must be a number ≥ 0", "zh-CN": "必须是 ≥ 0 的数字"},
    "value.cents": {
        "en": "must have at most 2 decimal places",
        "zh-CN": "最多只能有 2 位小数",
    },
}


class Said(str):
    """One explained step, or several (:func:`steps`): a message key and its parameters.
    As a ``str`` it is the English text; :meth:`text` renders any language."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, params: Mapping[str, Any]) -> Said:
        if key not in MESSAGES and key not in _SPECIAL:
            raise KeyError(f"no message {key!r}")
        params = dict(params)
        self = super().__new__(cls, _render(key, params, "en"))
        self.key, self.params = key, params
        return self

    def text(self, language: str) -> str:
        """This explanation in ``language`` (zh-CN or en; anything else reads English)."""
        if language not in LANGUAGES or language == "en":
            return str.__str__(self)  # rendered once, when made (its steps' too)
        return _render(self.key, self.params, language)

    def __reduce__(self) -> Any:  # copies and pickles keep the key and parameters
        return (Said, (self.key, self.params))


def said(key: str, **params: Any) -> Said:
    """The message ``key`` with its parameters: figures already written
    (``format_number``), names, or other explanations."""
    return Said(key, params)


def steps(parts: Iterable[str | None]) -> Said:
    """Several steps as one explanation, joined the reader's way (``; `` or ``；``); empty
    parts are left out."""
    return Said("_steps", {"parts": [part for part in parts if part]})


def about(name: str, problem: str) -> Said:
    """A problem named after what it is about: ``visits: …`` (``visits：…``)."""
    return said("problem.of", name=name, problem=problem)


def reason(error: BaseException) -> str:
    """What an error says: the :class:`Said` it was raised with (so it keeps both
    languages), else its text."""
    first = error.args[0] if error.args else None
    return first if isinstance(first, Said) else str(error)


def show(value: Any, language: str) -> str:
    """An explanation as the reader reads it: a :class:`Said` rendered in ``language``; a
    stored bilingual text's line of that language; older stored text as it is."""
    if value is None:
        return ""
    if isinstance(value, Said):
        return value.text(language)
    return read_stored(str(value)).text(language) if _is_tagged(str(value)) else str(value)


def show_all(values: Iterable[Any], language: str) -> list[str]:
    return [show(value, language) for value in values]


def stored(value: Any, limit: int = LIMIT) -> str:
    """The text an explanation is stored as: both languages, a line each, within
    ``limit`` characters. Plain (language-neutral or older) text is stored as it is."""
    if value is None:
        return ""
    if not isinstance(value, Said):
        return str(value)[:limit]
    room = (limit - sum(len(tag) for tag in TAGS.values()) - len(LANGUAGES) + 1) // 2
    lines = []
    for language in LANGUAGES:
        text = " ".join(value.text(language).splitlines())
        if len(text) > room:
            text = text[: room - 1] + "…"
        lines.append(TAGS[language] + text)
    return "\n".join(lines)


def read_stored(text: str | None) -> Said | str:
    """A stored explanation read back: a bilingual one as a :class:`Said` that renders
    either of its lines; older (untagged) text as it is."""
    if not text or not _is_tagged(text):
        return text or ""
    texts = {}
    for line in text.split("\n"):
        for language, tag in TAGS.items():
            if line.startswith(tag):
                texts[language] = line[len(tag) :]
    return Said("_texts", texts)


def appended(text: str | None, note: Said) -> str:
    """A stored explanation with one more step (an accepted appeal), still stored."""
    return stored(steps([read_stored(text), note]))


def localized_lines(lines: Iterable[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """Rows (statement or scorecard lines) with their ``explanation`` in ``language``."""
    return [{**row, "explanation": show(row.get("explanation"), language)} for row in lines]


def target_amount(target: Target) -> tuple[Decimal, Said]:
    """A target's amount for the days its owner is active in the period (the target's own
    ``effective()``), and how it was prorated, in words of either language."""
    amount, _ = target.effective()
    period, full = target.period, format_number(target.amount)
    first = max(period.start, target.active_from) if target.active_from else period.start
    end = min(period.end, target.active_to + _DAY) if target.active_to else period.end
    active = max(0, (end - first).days)
    if active == period.days:
        return amount, said("prorate.all", days=period.days, period=period.key, amount=full)
    if active == 0:
        return amount, said("prorate.none", period=period.key)
    return amount, said(
        "prorate.part",
        first=first.isoformat(),
        last=(end - _DAY).isoformat(),
        active=active,
        days=period.days,
        period=period.key,
        amount=full,
        share=format_number(amount),
    )


# -- rendering ----------------------------------------------------------------------------

_SPECIAL = ("_steps", "_texts")
_DAY = dt.timedelta(days=1)


def _render(key: str, params: Mapping[str, Any], language: str) -> str:
    if language not in LANGUAGES:
        language = "en"
    if key == "_steps":
        return SEPARATORS[language].join(_param(p, language) for p in params["parts"])
    if key == "_texts":
        return params.get(language) or next(iter(params.values()), "")
    template = MESSAGES[key]
    return template.get(language, template["en"]).format(
        **{name: _param(value, language) for name, value in params.items()}
    )


def _param(value: Any, language: str) -> str:
    if isinstance(value, Said):
        return value.text(language)
    if isinstance(value, (list, tuple)):
        return SEPARATORS[language].join(_param(v, language) for v in value)
    return "" if value is None else str(value)


def _is_tagged(text: str) -> bool:
    return text.startswith(TAGS[LANGUAGES[0]]) and f"\n{TAGS[LANGUAGES[1]]}" in text
