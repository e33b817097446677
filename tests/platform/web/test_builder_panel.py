"""The builder's panel loses nothing: for any valid definition, opening every field in the
panel and saving it again gives back exactly the same definition."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from formflow.definitions.checks import check_definition
from formflow.fields import field_types
from formflow.web.builder_panel import apply_panel, keyword_inputs, panel_values

words = st.text(alphabet="abcdefghij客户金额 ", min_size=1, max_size=12).map(str.strip).filter(bool)
i18n = st.dictionaries(st.sampled_from(["zh-CN", "en"]), words, min_size=1)
text_or_i18n = st.one_of(words, i18n)


def _generic(field_type):
    """Values for the keywords that get a generic input, shaped so the meta-schema accepts."""
    out = {}
    for item in keyword_inputs(field_type):
        name = item.keyword
        if item.kind == "boolean":
            out[name] = st.booleans()
        elif item.kind == "choice":
            out[name] = st.sampled_from(item.choices)
        elif name in ("maxLength", "maxItems", "x-max", "x-precision", "x-scale", "x-max-size"):
            upper = {"x-max": 10, "x-precision": 10, "x-scale": 6, "maxItems": 50}.get(name, 200)
            out[name] = st.integers(1, upper)
        elif name in ("minLength", "minItems"):
            out[name] = st.integers(0, 5)
        elif item.kind in ("integer", "number"):
            out[name] = st.one_of(
                st.integers(1, 10_000), st.decimals(min_value=1, max_value=9999, places=2)
            )
        elif name == "pattern":
            out[name] = st.sampled_from(["^[A-Z]", "\\d{3}", "^[a-z]+$"])
        elif name == "x-currency":
            out[name] = st.sampled_from(["CNY", "USD"])
        else:
            out[name] = words
    return out


@st.composite
def properties(draw, field_type):
    prop = {"x-field": field_type.name}
    if field_type.json_type is not None:
        prop["type"] = field_type.json_type
    optional = {
        "title": words,
        "x-label": i18n,
        "description": words,
        "x-description": i18n,
        "x-placeholder": text_or_i18n,
        "x-layout": st.sampled_from([{}, {"width": "half"}, {"width": "third"}, {"width": "full"}]),
        "x-visible-when": st.just("1 = 1"),
        "x-readonly": st.booleans(),
        **_generic(field_type),
    }
    if field_type.stores_data and not field_type.computed:
        optional["x-default-formula"] = st.sampled_from(["TODAY()", "'a' & 'b'", "1 + 2"])
    for key, strategy in optional.items():
        if draw(st.booleans()):
            prop[key] = draw(strategy)
    name = field_type.name
    if name in ("select", "radio", "multi-select", "checkbox"):
        values = draw(
            st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True)
        )
        if name in ("select", "radio"):
            prop["enum"] = values
        else:
            prop["items"] = {"type": "string", "enum": values}
        if draw(st.booleans()):
            prop["x-options"] = [
                {
                    "value": v,
                    **({"label": draw(text_or_i18n)} if draw(st.booleans()) else {}),
                    **({"color": "#1f6feb"} if draw(st.booleans()) else {}),
                }
                for v in values
                if draw(st.booleans())
            ]
    if name == "relation":
        multiple = draw(st.sampled_from([None, True, False]))
        prop["x-relation"] = {"form": "other"}
        if draw(st.booleans()):
            prop["x-relation"]["display"] = "name"
        if multiple is not None:
            prop["x-relation"]["multiple"] = multiple
        prop["type"] = "array" if multiple else "integer"
        if multiple:
            prop["items"] = {"type": "integer"}
    if name == "formula":
        result = draw(st.sampled_from([None, "number", "money", "text", "boolean"]))
        prop["x-formula"] = draw(st.sampled_from(["1 + 2", '"x"', "TRUE"]))
        if result:
            prop["x-result"] = result
        prop["type"] = {"text": "string", "boolean": "boolean"}.get(result or "number", "number")
    if name == "serial":
        prop["x-serial"] = {"pattern": draw(st.sampled_from(["QT-{YYYY}{MM}-{0000}", "N{000}"]))}
    if name == "subform":
        prop["items"] = {
            "type": "object",
            "properties": {"q": {"x-field": "number", "type": "integer"}},
        }
    if name == "number" and draw(st.booleans()):
        prop["type"] = "integer"
    if name in ("member", "members") and draw(st.booleans()):
        prop["x-default"] = "current_user"
    if name in ("text", "textarea") and draw(st.booleans()):
        prop["default"] = draw(words)
    if name in ("image", "attachment") and name == "attachment" and draw(st.booleans()):
        prop["x-accept"] = ["application/pdf"]
    if name == "description" and draw(st.booleans()):
        prop["x-content"] = draw(text_or_i18n)
    if name in ("date",) and draw(st.booleans()):
        prop["format"] = "date"
    if name in ("multi-select", "checkbox") and draw(st.booleans()):
        prop["uniqueItems"] = True
    if name == "money" and draw(st.booleans()):
        prop["default"] = draw(st.sampled_from([Decimal("12.50"), 3]))
    return prop


@st.composite
def definitions(draw):
    chosen = draw(st.lists(st.sampled_from(list(field_types)), min_size=1, max_size=6))
    props = {f"f{i}": draw(properties(t)) for i, t in enumerate(chosen)}
    return {"title": "Generated", "type": "object", "properties": props}


OTHER = {
    "title": "Other",
    "type": "object",
    "properties": {"name": {"x-field": "text", "type": "string"}},
}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(definitions())
def test_saving_the_panel_of_every_field_gives_back_the_definition(definition):
    from formflow.definitions.spec import compile_spec

    other = compile_spec(OTHER, field_types)
    assume(
        check_definition(
            definition, field_types, resolve_form=lambda name: other if name == "other" else None
        )
        == []
    )
    saved = {"title": definition["title"], "type": "object", "properties": {}}
    for key, prop in definition["properties"].items():
        field_type = field_types.get(prop["x-field"])
        again, errors = apply_panel(prop, panel_values(prop, field_type), field_type)
        assert errors == []
        saved["properties"][key] = again
    assert saved == definition


def test_an_edit_changes_only_what_was_edited():
    prop = {
        "x-field": "money",
        "type": "number",
        "title": "Amount",
        "minimum": 0,
        "x-scale": 2,
        "x-label": {"en": "Amount"},
    }
    field_type = field_types.get("money")
    values = panel_values(prop, field_type)
    values["kw:maximum"] = ["100000"]
    values["label:zh-CN"] = ["金额"]
    saved, errors = apply_panel(prop, values, field_type)
    assert errors == []
    assert saved == {**prop, "maximum": 100000, "x-label": {"zh-CN": "金额", "en": "Amount"}}
    values["kw:maximum"] = ["lots"]
    _, errors = apply_panel(prop, values, field_type)
    assert [e.field for e in errors] == ["kw:maximum"]
