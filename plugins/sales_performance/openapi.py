"""The sales plugin's part of the OpenAPI document (``/api/v1/openapi.json``): the routes of
``api.py``, tagged ``sales``, merged by the engine through the ``formflow_openapi`` hook.

Numbers the plugin computes (amounts, actuals, scores) are exact decimals sent as text, so
no client rounds a cent away. Explanations are in the language the client asks for
(``Accept-Language``), else the caller's own (see ``api.py``).
"""

from __future__ import annotations

from typing import Any

from formflow.api.openapi_common import errors, json_response, ref

from .incentives.plans import KINDS
from .kpi.scoring import DIMENSIONS
from .periods import ACCEPTED
from .targets.tree import LEVELS, METHODS

_TAGS = ["sales"]

DECIMAL = {"type": "string", "format": "decimal", "description": "An exact decimal, as text"}
MAYBE_DECIMAL = {**DECIMAL, "type": ["string", "null"]}
MAYBE_ID = {"type": ["integer", "null"]}
STEPS = {
    "type": "array",
    "items": {"type": "string"},
    "description": "How the number was reached, a sentence a step",
}
PERIOD_TEXT = f"A period: {ACCEPTED}"
EXPLAINED = (
    "in the language of the response's `Content-Language` (zh-CN or en); statements "
    "stored before explanations were bilingual read as stored (English)"
)
EXPLANATION = {"type": "string", "description": f"How the number was reached, {EXPLAINED}"}
EXPLAINED_STEPS = {
    **STEPS,
    "description": f"How the number was reached, a sentence a step, {EXPLAINED}",
}
_ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "The language of the explanations: zh-CN (any `zh`) or en (any `en`), "
    "the first of them by quality; without either, the caller's own language (their "
    "profile's, zh-CN by default)",
    "schema": {"type": "string", "examples": ["en", "zh-CN"]},
}
_CONTENT_LANGUAGE = {
    "Content-Language": {
        "description": "The language the explanations are written in",
        "schema": {"enum": ["zh-CN", "en"]},
    }
}


def _explained(response: dict[str, Any]) -> dict[str, Any]:
    """A 200 response whose explanations are in the negotiated language."""
    return {**response, "headers": _CONTENT_LANGUAGE}


def _period(*, required: bool, where: str = "query") -> dict[str, Any]:
    return {
        "name": "period",
        "in": where,
        "required": required,
        "description": PERIOD_TEXT + ("" if required else "; every period when left out"),
        "schema": {"type": "string", "examples": ["2026-Q1"]},
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_TARGET_ID = {
    "name": "target_id",
    "in": "path",
    "required": True,
    "description": "The `sales_target` record's id",
    "schema": {"type": "integer", "minimum": 1},
}
_STATEMENT_ID = {
    "name": "statement_id",
    "in": "path",
    "required": True,
    "description": "The `bonus_statement` record's id",
    "schema": {"type": "integer", "minimum": 1},
}
STATEMENT_STATUSES = ["draft", "in_approval", "approved", "rejected", "superseded"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MEMBER = {
    "name": "member",
    "in": "path",
    "required": True,
    "description": "The user the scorecard is of",
    "schema": {"type": "integer", "minimum": 1},
}

SCHEMAS: dict[str, Any] = {
    "SalesTarget": {
        "type": "object",
        "description": "A sales target and, nested, the targets it was split into",
        "required": ["id", "name", "period", "level", "amount", "effective_amount", "children"],
        "properties": {
            "id": {"type": "integer"},
            "revision": {"type": "integer"},
            "name": {"type": "string"},
            "measure": {**MAYBE_ID, "description": "The `sales_measure` record it counts"},
            "period": {"type": "string"},
            "level": {"enum": list(LEVELS)},
            "department": MAYBE_ID,
            "member": MAYBE_ID,
            "product_line": {"type": ["string", "null"]},
            "amount": DECIMAL,
            "effective_amount": {
                **DECIMAL,
                "description": "The amount for the days its owner is active in the period",
            },
            "proration": {"type": ["string", "null"], "description": "How it was prorated"},
            "parent": MAYBE_ID,
            "method": {"enum": [*METHODS, None]},
            "weight": MAYBE_DECIMAL,
            "locked": {"type": "boolean", "description": "Overridden by hand: kept as set"},
            "children": {"type": "array", "items": ref("SalesTarget")},
        },
    },
    "SalesTargetDetail": {
        "allOf": [
            ref("SalesTarget"),
            {
                "type": "object",
                "required": ["explanation"],
                "properties": {
                    "explanation": {
                        **STEPS,
                        "description": "How its children were split from it (largest "
                        "remainder on cents)",
                    }
                },
            },
        ]
    },
    "SalesTargetList": {
        "type": "object",
        "required": ["period", "targets"],
        "properties": {
            "period": {"type": ["string", "null"]},
            "targets": {
                "type": "array",
                "description": "The tops of what the caller may see, each with its tree",
                "items": ref("SalesTarget"),
            },
        },
    },
    "SalesDecompose": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "by": {
                "enum": ["period", "org"],
                "default": "period",
                "description": "Over time, or over the departments (or members) below",
            },
            "into": {
                "enum": ["quarter", "month", "week", None],
                "description": "For `by: period`: the finer period",
            },
            "method": {"enum": list(METHODS), "default": "equal"},
            "weights": {
                "type": ["array", "null"],
                "items": {"type": ["number", "string"]},
                "description": "For `seasonality` and `custom`: one weight a child, in order",
            },
            "replace": {
                "type": "boolean",
                "default": False,
                "description": "Split again a target that already has children",
            },
        },
    },
    "SalesOverride": {
        "type": "object",
        "required": ["amount"],
        "additionalProperties": False,
        "properties": {
            "amount": {"type": ["number", "string"], "description": "At most 2 decimals, ≥ 0"},
            "reason": {
                "type": ["string", "null"],
                "description": "Required when the change goes through approval",
            },
        },
    },
    "SalesTargetRebalanced": {
        "type": "object",
        "required": ["target"],
        "properties": {
            "target": {
                **ref("SalesTarget"),
                "description": "The parent, its children rebalanced to keep its total",
            }
        },
    },
    "SalesAdjustmentFiled": {
        "type": "object",
        "required": ["adjustment"],
        "properties": {
            "adjustment": {
                "type": "integer",
                "description": "The `target_adjustment` record, now in its approval flow",
            }
        },
    },
    "SalesProgress": {
        "type": "object",
        "required": ["target", "period", "level", "amount", "actual", "elapsed", "trailing"],
        "properties": {
            "target": {"type": "integer"},
            "name": {"type": "string"},
            "period": {"type": "string"},
            "level": {"enum": list(LEVELS)},
            "department": MAYBE_ID,
            "member": MAYBE_ID,
            "measure": MAYBE_ID,
            "amount": DECIMAL,
            "effective_amount": DECIMAL,
            "actual": DECIMAL,
            "attainment": {**MAYBE_DECIMAL, "description": "actual / effective amount"},
            "elapsed": {**DECIMAL, "description": "The share of the period gone, 0 to 1"},
            "pipeline": {**DECIMAL, "description": "Open opportunities × stage probability"},
            "forecast": {**DECIMAL, "description": "actual + pipeline"},
            "trailing": {"type": "boolean"},
            "explanation": STEPS,
        },
    },
    "SalesProgressList": {
        "type": "object",
        "required": ["period", "progress"],
        "properties": {
            "period": {"type": "string"},
            "progress": {"type": "array", "items": ref("SalesProgress")},
        },
    },
    "SalesScorecardLine": {
        "type": "object",
        "required": ["metric", "weight", "score", "explanation"],
        "properties": {
            "metric": {"type": "string"},
            "name": {"type": "string"},
            "dimension": {"enum": list(DIMENSIONS)},
            "weight": DECIMAL,
            "source": {"type": "string"},
            "measure": {"type": ["string", "null"]},
            "actual": MAYBE_DECIMAL,
            "target": MAYBE_DECIMAL,
            "attainment": MAYBE_DECIMAL,
            "score": MAYBE_DECIMAL,
            "adjustment": {**MAYBE_DECIMAL, "description": "Added by an accepted appeal"},
            "explanation": EXPLANATION,
        },
    },
    "SalesScorecard": {
        "type": "object",
        "required": ["member", "period", "plan", "status", "score", "grade", "lines"],
        "properties": {
            "member": {"type": "integer"},
            "period": {"type": "string"},
            "plan": {"type": "integer"},
            "plan_name": {"type": "string"},
            "status": {
                "enum": ["live", "published"],
                "description": "Computed now, or frozen when published",
            },
            "result": {**MAYBE_ID, "description": "The published `kpi_result` record"},
            "score": DECIMAL,
            "grade": {"type": "string"},
            "lines": {"type": "array", "items": ref("SalesScorecardLine")},
            "explanation": EXPLAINED_STEPS,
        },
    },
    "SalesScorecardList": {
        "type": "object",
        "required": ["period", "scorecards"],
        "properties": {
            "period": {"type": "string"},
            "scorecards": {"type": "array", "items": ref("SalesScorecard")},
        },
    },
    "SalesCountedRecord": {
        "type": "object",
        "required": ["measure", "form", "record", "member", "value"],
        "properties": {
            "measure": {"type": "string"},
            "form": {"type": "string"},
            "record": {"type": "integer"},
            "member": {"type": "integer"},
            "value": DECIMAL,
            "link": {"type": "string", "description": "The record's page"},
        },
    },
    "SalesPublish": {
        "type": "object",
        "required": ["period"],
        "additionalProperties": False,
        "properties": {"period": {"type": "string", "description": PERIOD_TEXT}},
    },
    "SalesPublished": {
        "type": "object",
        "required": ["period", "published", "already_published"],
        "properties": {
            "period": {"type": "string"},
            "published": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The `kpi_result` records written",
            },
            "already_published": {"type": "integer"},
        },
    },
    "SalesRun": {
        "type": "object",
        "required": ["period"],
        "additionalProperties": False,
        "properties": {"period": {"type": "string", "description": PERIOD_TEXT}},
    },
    "SalesRunReport": {
        "type": "object",
        "required": ["period", "drafts", "adjustments", "unchanged", "in_approval"],
        "properties": {
            "period": {"type": "string"},
            "drafts": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The draft statements written (new, or rewritten in place)",
            },
            "adjustments": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "Adjustment statements of what differs from an approved one",
            },
            "unchanged": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The people whose approved statement still holds",
            },
            "in_approval": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "The people whose statement is in approval: left alone",
            },
        },
    },
    "SalesStatementLine": {
        "type": "object",
        "required": ["rule", "kind", "amount", "explanation"],
        "properties": {
            "rule": {"type": "string", "description": "The plan rule's key"},
            "name": {"type": ["string", "null"]},
            "kind": {"enum": list(KINDS)},
            "base": {**MAYBE_DECIMAL, "description": "What the rate was applied to"},
            "attainment": {**MAYBE_DECIMAL, "description": "Actual / target, 1 = 100 %"},
            "rate": {**MAYBE_DECIMAL, "description": "The rate applied, 0.02 = 2 %"},
            "amount": DECIMAL,
            "explanation": {**EXPLANATION, "type": ["string", "null"]},
            "records": {
                "type": ["string", "null"],
                "description": "The records it counted, as `form:id=value,…` (`;` between forms)",
            },
        },
    },
    "SalesStatement": {
        "type": "object",
        "description": "A person's bonus statement (奖金单) of a period under one plan",
        "required": ["id", "member", "period", "plan", "total", "status", "lines"],
        "properties": {
            "id": {"type": "integer"},
            "revision": {"type": "integer"},
            "member": {"type": "integer"},
            "period": {"type": "string"},
            "plan": {"type": "integer", "description": "The `incentive_plan` record"},
            "total": MAYBE_DECIMAL,
            "status": {
                "enum": STATEMENT_STATUSES,
                "description": "Approved statements are locked; a rerun adds an adjustment",
            },
            "adjusts": {**MAYBE_ID, "description": "The approved statement this one adjusts"},
            "note": {
                "type": ["string", "null"],
                "description": "An adjustment's note, in the explanations' language",
            },
            "lines": {"type": "array", "items": ref("SalesStatementLine")},
        },
    },
    "SalesStatementList": {
        "type": "object",
        "required": ["period", "statements"],
        "properties": {
            "period": {"type": "string"},
            "statements": {
                "type": "array",
                "description": "Of the people the caller may see; superseded drafts left out",
                "items": ref("SalesStatement"),
            },
        },
    },
    "SalesStatementSubmitted": {
        "type": "object",
        "required": ["statement", "status", "instance"],
        "properties": {
            "statement": {"type": "integer"},
            "status": {"const": "in_approval"},
            "instance": {"type": "integer", "description": "The bonus approval's flow instance"},
        },
    },
    "SalesEstimateRequest": {
        "type": "object",
        "required": ["period", "opportunities"],
        "additionalProperties": False,
        "properties": {
            "member": {
                "type": "integer",
                "minimum": 1,
                "description": "Whose payout (someone the caller may see); the caller when "
                "left out",
            },
            "period": {"type": "string", "description": PERIOD_TEXT},
            "opportunities": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "description": "Open opportunities of theirs, counted as signed in the period",
            },
        },
    },
    "SalesEstimateLine": {
        "type": "object",
        "required": ["rule", "kind", "amount", "explanation"],
        "properties": {
            "rule": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"enum": list(KINDS)},
            "amount": DECIMAL,
            "explanation": EXPLANATION,
        },
    },
    "SalesEstimate": {
        "type": "object",
        "required": [
            "member",
            "period",
            "opportunities",
            "added",
            "current",
            "estimated",
            "difference",
            "current_lines",
            "estimated_lines",
        ],
        "properties": {
            "member": {"type": "integer"},
            "period": {"type": "string"},
            "opportunities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "amount"],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": ["string", "null"]},
                        "amount": DECIMAL,
                    },
                },
            },
            "added": {**DECIMAL, "description": "The opportunities' amounts, summed"},
            "current": {**DECIMAL, "description": "The payout as things stand"},
            "estimated": {**DECIMAL, "description": "The payout with them signed"},
            "difference": {**DECIMAL, "description": "estimated − current"},
            "current_lines": {"type": "array", "items": ref("SalesEstimateLine")},
            "estimated_lines": {"type": "array", "items": ref("SalesEstimateLine")},
        },
    },
}


def paths() -> dict[str, Any]:
    return {
        "/sales/targets": {
            "get": {
                "operationId": "listSalesTargets",
                "tags": _TAGS,
                "summary": "The targets the caller may see (of a period), as trees from the "
                "top of what they see",
                "parameters": [_period(required=False)],
                "responses": {
                    "200": json_response(ref("SalesTargetList")),
                    **errors(400, 401),
                },
            }
        },
        "/sales/targets/{target_id}": {
            "get": {
                "operationId": "getSalesTarget",
                "tags": _TAGS,
                "summary": "A target with its tree and how it was split",
                "parameters": [_TARGET_ID],
                "responses": {
                    "200": json_response(ref("SalesTargetDetail")),
                    **errors(401, 403, 404),
                },
            }
        },
        "/sales/targets/{target_id}/decompose": {
            "post": {
                "operationId": "decomposeSalesTarget",
                "tags": _TAGS,
                "summary": "Split a target into children over time or over the organisation, "
                "to the cent (its department's head or an admin)",
                "parameters": [_TARGET_ID],
                "requestBody": _body(ref("SalesDecompose")),
                "responses": {
                    "200": json_response(ref("SalesTarget"), "The target with its new children"),
                    **errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/sales/targets/{target_id}/override": {
            "post": {
                "operationId": "overrideSalesTarget",
                "tags": _TAGS,
                "summary": "Set one target's amount: its unlocked siblings are rebalanced "
                "(200), or, when its parent asks for approval or it has none, a target "
                "adjustment is filed (202)",
                "parameters": [_TARGET_ID],
                "requestBody": _body(ref("SalesOverride")),
                "responses": {
                    "200": json_response(ref("SalesTargetRebalanced"), "Rebalanced"),
                    "202": json_response(ref("SalesAdjustmentFiled"), "Waiting for approval"),
                    **errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/sales/targets/progress": {
            "get": {
                "operationId": "salesTargetProgress",
                "tags": _TAGS,
                "summary": "Each target of the period the caller may see: actual, attainment "
                "beside the time elapsed, forecast, whether it trails",
                "parameters": [
                    _period(required=True),
                    {
                        "name": "level",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": list(LEVELS)},
                    },
                    _ACCEPT_LANGUAGE,
                ],
                "responses": {
                    "200": _explained(json_response(ref("SalesProgressList"))),
                    **errors(400, 401),
                },
            }
        },
        "/sales/kpi/scorecards": {
            "get": {
                "operationId": "listKpiScorecards",
                "tags": _TAGS,
                "summary": "The period's KPI scorecards of the people the caller may see "
                "(a rep: their own), published ones as frozen",
                "parameters": [
                    _period(required=True),
                    {
                        "name": "member",
                        "in": "query",
                        "required": False,
                        "description": "Only this person's (403 when the caller may not see them)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {
                        "name": "live",
                        "in": "query",
                        "required": False,
                        "description": "`true` to compute published scorecards again",
                        "schema": {"type": "boolean"},
                    },
                    _ACCEPT_LANGUAGE,
                ],
                "responses": {
                    "200": _explained(json_response(ref("SalesScorecardList"))),
                    **errors(400, 401, 403),
                },
            }
        },
        "/sales/kpi/scorecards/{member}/{period}/{metric}/records": {
            "get": {
                "operationId": "kpiScorecardRecords",
                "tags": _TAGS,
                "summary": "The records one metric of one person's scorecard counted",
                "parameters": [
                    _MEMBER,
                    _period(required=True, where="path"),
                    {
                        "name": "metric",
                        "in": "path",
                        "required": True,
                        "description": "The metric's key in the person's KPI plan",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "required": ["records"],
                            "properties": {
                                "records": {"type": "array", "items": ref("SalesCountedRecord")}
                            },
                        }
                    ),
                    **errors(400, 401, 403, 404),
                },
            }
        },
        "/sales/kpi/publish": {
            "post": {
                "operationId": "publishKpiScorecards",
                "tags": _TAGS,
                "summary": "Freeze the period's live scorecards into published results "
                "(admins only)",
                "requestBody": _body(ref("SalesPublish")),
                "responses": {
                    "200": json_response(ref("SalesPublished")),
                    **errors(400, 401, 403, 422),
                },
            }
        },
        "/sales/incentives/runs": {
            "post": {
                "operationId": "runSalesIncentives",
                "tags": _TAGS,
                "summary": "Compute and store the period's bonus statements: drafts rewritten, "
                "approved ones adjusted, those in approval left alone (finance, HR or an "
                "admin)",
                "requestBody": _body(ref("SalesRun")),
                "responses": {
                    "200": json_response(ref("SalesRunReport")),
                    **errors(400, 401, 403, 422),
                },
            }
        },
        "/sales/incentives/statements": {
            "get": {
                "operationId": "listBonusStatements",
                "tags": _TAGS,
                "summary": "The period's bonus statements of the people the caller may see "
                "(a rep: their own)",
                "parameters": [
                    _period(required=True),
                    {
                        "name": "member",
                        "in": "query",
                        "required": False,
                        "description": "Only this person's (403 when the caller may not see them)",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    _ACCEPT_LANGUAGE,
                ],
                "responses": {
                    "200": _explained(json_response(ref("SalesStatementList"))),
                    **errors(400, 401, 403),
                },
            }
        },
        "/sales/incentives/statements/{statement_id}": {
            "get": {
                "operationId": "getBonusStatement",
                "tags": _TAGS,
                "summary": "A bonus statement, each line with how it was reached",
                "parameters": [_STATEMENT_ID, _ACCEPT_LANGUAGE],
                "responses": {
                    "200": _explained(json_response(ref("SalesStatement"))),
                    **errors(401, 403, 404),
                },
            }
        },
        "/sales/incentives/statements/{statement_id}/submit": {
            "post": {
                "operationId": "submitBonusStatement",
                "tags": _TAGS,
                "summary": "Send a draft (or rejected) statement to the bonus approval: the "
                "person's manager, then finance and HR (finance, HR or an admin)",
                "parameters": [_STATEMENT_ID],
                "responses": {
                    "200": json_response(ref("SalesStatementSubmitted")),
                    **errors(400, 401, 403, 404),
                },
            }
        },
        "/sales/incentives/export": {
            "get": {
                "operationId": "exportBonusStatements",
                "tags": _TAGS,
                "summary": "The period's approved statements for payroll: a row per person "
                "(CSV), or that sheet and a sheet of every line (XLSX) (finance, HR or an "
                "admin)",
                "parameters": [
                    _period(required=True),
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["csv", "xlsx"], "default": "csv"},
                    },
                    _ACCEPT_LANGUAGE,
                ],
                "responses": {
                    "200": {
                        "description": "The file, as an attachment named "
                        "`bonus-<period>.<format>`; the XLSX's explanations in the language "
                        "of `Content-Language` (column names the same in every language)",
                        "headers": _CONTENT_LANGUAGE,
                        "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            XLSX: {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **errors(400, 401, 403),
                },
            }
        },
        "/sales/incentives/estimate": {
            "post": {
                "operationId": "estimateSalesPayout",
                "tags": _TAGS,
                "summary": "What if: the period's payout as things stand and with the chosen "
                "open opportunities signed, line by line (one's own, or of someone the "
                "caller may see)",
                "parameters": [_ACCEPT_LANGUAGE],
                "requestBody": _body(ref("SalesEstimateRequest")),
                "responses": {
                    "200": _explained(json_response(ref("SalesEstimate"))),
                    **errors(400, 401, 403),
                },
            }
        },
    }


def document_part() -> dict[str, Any]:
    """What the ``formflow_openapi`` hook returns."""
    return {"paths": paths(), "schemas": SCHEMAS}
