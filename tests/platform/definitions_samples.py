"""Definitions the engine tests share."""

from __future__ import annotations

from typing import Any

QUOTE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "报价单",
    "x-label": {"zh-CN": "报价单", "en": "Quotation"},
    "type": "object",
    "properties": {
        "number": {
            "x-field": "serial",
            "type": "string",
            "title": "编号",
            "x-serial": {"pattern": "QT-{YYYY}{MM}-{0000}"},
        },
        "customer": {
            "x-field": "text",
            "type": "string",
            "title": "客户",
            "maxLength": 100,
            "x-index": True,
        },
        "status": {
            "x-field": "select",
            "type": "string",
            "title": "状态",
            "enum": ["draft", "sent", "won", "lost"],
            "default": "draft",
            "x-index": True,
        },
        "lines": {
            "x-field": "subform",
            "type": "array",
            "title": "明细",
            "maxItems": 20,
            "items": {
                "type": "object",
                "properties": {
                    "product": {"x-field": "text", "type": "string", "title": "产品"},
                    "unit_price": {
                        "x-field": "money",
                        "type": "number",
                        "title": "单价",
                        "minimum": 0,
                    },
                    "quantity": {
                        "x-field": "number",
                        "type": "integer",
                        "title": "数量",
                        "minimum": 1,
                    },
                    "line_total": {
                        "x-field": "formula",
                        "type": "number",
                        "x-result": "money",
                        "title": "小计",
                        "x-formula": "unit_price * quantity",
                    },
                },
                "required": ["product", "unit_price", "quantity"],
            },
        },
        "discount": {
            "x-field": "percent",
            "type": "number",
            "title": "折扣",
            "minimum": 0,
            "maximum": 1,
        },
        "subtotal": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "title": "合计",
            "x-formula": "SUM(lines.line_total)",
        },
        "total": {
            "x-field": "formula",
            "type": "number",
            "x-result": "money",
            "title": "总价",
            "x-formula": "subtotal * (1 - discount)",
            "x-index": True,
        },
        "lost_reason": {
            "x-field": "textarea",
            "type": "string",
            "title": "输单原因",
            "x-visible-when": 'status = "lost"',
        },
        "valid_until": {"x-field": "date", "type": "string", "format": "date", "title": "有效期"},
    },
    "required": ["customer", "lines", "lost_reason"],
}
