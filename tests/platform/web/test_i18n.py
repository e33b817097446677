"""The UI in Chinese and English: every UI text has a Chinese translation, pages follow the
reader's language, and every error code the engine raises reads as Chinese to a zh-CN reader."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from formflow.definitions.spec import compile_spec
from formflow.errors import FieldError
from formflow.fields.base import _is_data_keyword
from formflow.people import service as people
from formflow.web import i18n
from formflow.web import transfer as transfer_pages
from tests.platform.test_fields import PROPERTIES

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "platform" / "formflow"
CATALOG = PACKAGE / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOG.with_suffix(".mo")
PASSWORD = "i18n tests password"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")

VISIT = {
    "title": "拜访记录",
    "x-label": {"zh-CN": "拜访记录", "en": "Visit"},
    "type": "object",
    "required": ["customer"],
    "properties": {
        "customer": {
            "x-field": "text",
            "type": "string",
            "x-label": {"zh-CN": "客户", "en": "Customer"},
        },
        "amount": {
            "x-field": "number",
            "type": "number",
            "x-label": {"zh-CN": "金额", "en": "Amount"},
        },
    },
}


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The reader's language does not depend on the database: SQLite is enough."""
    return sqlite_url


@pytest.fixture
def compiled() -> None:
    """Pages are translated from the compiled catalog, which scripts/setup.sh makes."""
    if not COMPILED.exists():
        pytest.fail(f"{COMPILED.relative_to(ROOT)} is missing: run scripts/setup.sh to compile it")
    if COMPILED.stat().st_mtime < CATALOG.stat().st_mtime:
        pytest.fail(
            f"{COMPILED.relative_to(ROOT)} is older than {CATALOG.name}: "
            "run scripts/setup.sh to compile it again"
        )


# -- the catalog -------------------------------------------------------------------------------


def _extract(target: Path) -> None:
    """The UI's text as scripts/i18n.sh extracts it (same tool, same keywords)."""
    pybabel = Path(sys.executable).with_name("pybabel")
    command = ["extract", "-F", ROOT / "babel.cfg", "-k", "N_", "-k", "_", "-o", target, PACKAGE]
    subprocess.run([pybabel, "--quiet", *command], check=True, capture_output=True)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_every_ui_text_has_a_complete_chinese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    _extract(template)
    with template.open("rb") as f:
        wanted = [m for m in read_po(f) if m.id]
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    assert catalog.num_plurals == 1  # Chinese has one form for every count
    assert len(wanted) > 300  # the extraction did find the UI's text
    problems = []
    for message in wanted:
        translated = catalog.get(message.id)
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if translated is None or translated.fuzzy:
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        forms = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        for form in forms:
            if not form:
                problems.append(f"empty translation: {ids[0]!r}")
            elif _placeholders(form) != _placeholders(ids[-1]):
                problems.append(f"placeholders differ: {ids[0]!r} → {form!r}")
    assert not problems, "run scripts/i18n.sh, then translate:\n" + "\n".join(problems)


# -- pages in the reader's language --------------------------------------------------------------


def test_the_sign_in_page_follows_the_browsers_language_and_defaults_to_chinese(app, compiled):
    client = app.test_client()
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")  # a browser that says nothing
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"})
    unsaid = client.get("/login")
    for page in (chinese, unsaid):
        html = page.get_data(as_text=True)
        assert 'lang="zh-CN"' in html and "<h1>登录</h1>" in html and "用户名" in html
        assert "Sign in" not in html
    html = english.get_data(as_text=True)
    assert 'lang="en"' in html and "<h1>Sign in</h1>" in html and "Username" in html


@pytest.fixture
def readers(app, runtime, make_app, api) -> dict[str, Any]:
    """A visit form, and a signed-in client for a zh-CN reader and for an English one."""
    app.config["WTF_CSRF_ENABLED"] = False
    make_app("demo")
    assert api.put("/forms/demo.visit", VISIT).status_code == 201
    clients = {}
    for name, language in (("zhang", "zh-CN"), ("smith", "en")):
        with runtime.write() as work:
            people.create_user(work, name, password=PASSWORD, language=language, is_admin=True)
        client = app.test_client()
        signed_in = client.post("/login", data={"username": name, "password": PASSWORD})
        assert signed_in.status_code == 302
        clients[language] = client
    return clients


def test_a_record_form_renders_in_the_readers_language(readers, compiled):
    chinese = readers["zh-CN"].get("/f/demo.visit/new").get_data(as_text=True)
    assert 'lang="zh-CN"' in chinese
    assert "拜访记录" in chinese and "客户" in chinese and ">提交</button>" in chinese
    assert "Submit" not in chinese and "Customer" not in chinese
    english = readers["en"].get("/f/demo.visit/new").get_data(as_text=True)
    assert 'lang="en"' in english
    assert "Visit" in english and "Customer" in english and ">Submit</button>" in english
    assert "提交" not in english and "客户" not in english


def test_the_record_list_counts_records_in_the_readers_language(readers, compiled):
    for client in readers.values():
        assert client.post("/f/demo.visit/new", data={"customer": "甲公司"}).status_code == 302
    chinese = readers["zh-CN"].get("/f/demo.visit/").get_data(as_text=True)
    english = readers["en"].get("/f/demo.visit/").get_data(as_text=True)
    assert "共 2 条记录" in chinese and "筛选" in chinese
    assert "2 records" in english and "Filters" in english


def test_field_errors_read_in_the_readers_language(readers, compiled):
    bad = {"customer": "", "amount": "abc"}
    chinese = readers["zh-CN"].post("/f/demo.visit/new", data=bad)
    english = readers["en"].post("/f/demo.visit/new", data=bad)
    assert chinese.status_code == english.status_code == 422
    html = chinese.get_data(as_text=True)
    assert 'id="err-customer">必填<' in html and 'id="err-amount">必须是数字<' in html
    assert "请修改下方标出的字段" in html
    html = english.get_data(as_text=True)
    assert 'id="err-customer">is required<' in html and 'id="err-amount">must be a number<' in html


# -- error codes -----------------------------------------------------------------------------------

#: The calls that make a field error, and where each takes its code (position, keyword).
ERROR_MAKERS = {"FieldError": 2, "FieldValueError": 1, "_file_error": 1}
#: Codes that are not written out where the error is made: errors passed on with the code
#: they came with, and the codes named below.
PASSED_ON = {"code", "e.code", "error.code", "self.code"}
#: records.prepare reports a JSON Schema failure under the failing keyword's name.
SCHEMA_KEYWORD = "keyword or 'invalid'"
#: records.transfer names a cell that named no single user, department or record.
LOOKUPS = {"f'unknown_{what}'": "unknown_", "f'ambiguous_{what}'": "ambiguous_"}
#: The JSON Schema (2020-12) keywords that can fail on their own and so be reported.
ASSERTIONS = {
    *("type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
    *("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
    *("uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties"),
    *("required", "dependentRequired", "format", "additionalProperties", "propertyNames"),
    *("unevaluatedProperties", "unevaluatedItems", "contains", "not", "anyOf", "oneOf"),
}


def _calls(name: str) -> Iterator[ast.Call]:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = node.func
                called_name = getattr(called, "id", None) or getattr(called, "attr", None)
                if called_name == name:
                    yield node


def _code_of(call: ast.Call, position: int) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "code":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def _schema_keywords(field_types: Any) -> set[str]:
    """The JSON Schema keywords a record's data schema may hold: what admins may write on
    each field type, and what the types add themselves (a form with every type shows it)."""
    found = {
        key
        for field_type in field_types
        for key in field_type.definition_schema()["properties"]
        if _is_data_keyword(key)
    }

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                for child in value.values() if key == "properties" else [value]:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    every = {"title": "Every", "type": "object", "properties": PROPERTIES}
    walk(compile_spec(every, field_types).data_schema)
    return found & ASSERTIONS


def engine_error_codes(field_types: Any) -> set[str]:
    """Every code the engine's services give a field error, read from their source."""
    codes, unknown = set(), set()
    lookups = {call.args[2].value for call in _calls("_single")}
    for maker, position in ERROR_MAKERS.items():
        for call in _calls(maker):
            code = _code_of(call, position)
            if code is None:
                codes.add("invalid")
            elif isinstance(code, ast.Constant) and isinstance(code.value, str):
                codes.add(code.value)
            elif ast.unparse(code) == SCHEMA_KEYWORD:
                codes |= {"invalid", *_schema_keywords(field_types)}
            elif ast.unparse(code) in LOOKUPS:
                codes |= {LOOKUPS[ast.unparse(code)] + what for what in lookups}
            elif ast.unparse(code) not in PASSED_ON:
                unknown.add(ast.unparse(code))
    assert not unknown, f"codes this test cannot read; teach it their values: {unknown}"
    return codes


def test_every_error_code_the_engine_raises_reads_as_chinese(app, runtime, compiled):
    codes = engine_error_codes(runtime.field_types)
    assert {"required", "unique", "reference", "in_use", "self", "cycle", "minLength"} <= codes
    assert {"type", "format", "maxItems", "unknown_user", "ambiguous_record"} <= codes
    # The import and export pages word their own codes (web.transfer.MESSAGES).
    untemplated = codes - set(i18n.ERROR_MESSAGES) - set(transfer_pages.MESSAGES)
    assert not untemplated, f"give these codes a template in web/i18n.py: {sorted(untemplated)}"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        for code in sorted(codes & set(i18n.ERROR_MESSAGES)):
            # Without params too: several services raise (or pass on) errors without them.
            for error in (FieldError("f", "ENGLISH", code), FieldError(None, "ENGLISH", code)):
                text = i18n.error_text(error)
                assert CHINESE.search(text) and "%(" not in text, (code, text)


@pytest.mark.parametrize(
    ("error", "chinese"),
    [
        (FieldError("f", "must be a number", "type", {"expected": "number"}), "必须是数字"),
        (FieldError("f", "must be text", "type", {"expected": "text"}), "必须是文本"),
        (FieldError("f", "must be of type integer", "type", {"limit": "integer"}), "必须是整数"),
        (FieldError("f", "must be a list", "type"), "类型不正确"),
        (
            FieldError("f", "must be a date like 2026-03-31", "format", {"format": "date"}),
            "必须是日期，如 2026-03-31",
        ),
        (FieldError("f", "must be an email address", "format", {"limit": "email"}), "邮箱"),
        (FieldError("email", "is not an email address", "format"), "格式不正确"),
        (FieldError("password", "8 characters", "minLength", {"limit": 8}), "不能少于 8 个字符"),
        (FieldError("password", "must be at least 8 characters", "minLength"), "长度不足"),
        (FieldError("f", "must be at most 5", "maximum", {"limit": None}), "数值过大"),
        (FieldError("username", "'li' is taken", "unique"), "已存在相同的值，不能重复"),
        (FieldError(None, "move its members to another department first", "in_use"), "成员"),
        (FieldError("is_active", "you cannot deactivate yourself", "self"), "停用自己"),
        (FieldError(None, "no record #12"), "操作未能完成"),
    ],
)
def test_an_error_reads_as_specifically_as_its_params_allow(app, compiled, error, chinese):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert chinese in i18n.error_text(error)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.error_text(error) == error.message  # the engine's own, more specific words


def test_a_code_without_a_template_keeps_the_engines_message(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert i18n.error_text(FieldError("f", "plugin words", "plugin_code")) == "plugin words"


class _Bilingual(str):
    """A message that renders itself, as the sales plugin's explanations do."""

    def text(self, language: str) -> str:
        return "方案的权重合计必须为 100" if language == "zh-CN" else str.__str__(self)


def test_a_message_that_renders_itself_is_shown_in_the_readers_language(app):
    error = FieldError("metrics", _Bilingual("the weights must add up to 100"), "invalid")
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert i18n.error_text(error) == "方案的权重合计必须为 100"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.error_text(error) == "the weights must add up to 100"
