"""Flows shipped as files: installed with their app, exported back byte for byte."""

from __future__ import annotations

import copy

from formflow import jsoncodec
from tests.platform.flows.world import FLOW, QUOTE
from tests.platform.test_cli import env, formflow, sqlite_env  # noqa: F401 - CLI fixtures


def folders(tmp_path, flow=FLOW):
    forms, flows = tmp_path / "schemas", tmp_path / "workflows"
    forms.mkdir()
    flows.mkdir()
    (forms / "quote.json").write_text(jsoncodec.dumps_pretty(QUOTE), encoding="utf-8")
    (flows / "quote_discount.json").write_text(jsoncodec.dumps_pretty(flow), encoding="utf-8")
    return forms, flows


def test_an_apps_flows_install_with_it_and_export_exactly(env, tmp_path):  # noqa: F811
    forms, flows = folders(tmp_path)
    formflow(env, "init-db")
    args = ("install-app", "sales", "--path", str(forms), "--flows", str(flows))
    out = formflow(env, *args).stdout
    assert "1 flow(s) published" in out
    assert "0 flow(s) published, 1 unchanged" in formflow(env, *args).stdout
    target = tmp_path / "out"
    out = formflow(
        env, "export-app", "sales", str(target / "forms"), "--flows", str(target / "flows")
    ).stdout
    assert "exported 1 flow(s)" in out
    exported = (target / "flows" / "quote_discount.json").read_bytes()
    assert exported == (flows / "quote_discount.json").read_bytes()


def test_a_wrong_flow_file_is_named_and_nothing_is_installed(sqlite_env, tmp_path):  # noqa: F811
    broken = copy.deepcopy(FLOW)
    broken["nodes"][1]["approvers"] = [{"field": "amount"}]
    forms, flows = folders(tmp_path, broken)
    formflow(sqlite_env, "init-db")
    result = formflow(
        sqlite_env, "install-app", "sales", "--path", str(forms), "--flows", str(flows), check=False
    )
    assert result.returncode == 1
    assert "quote_discount.json/nodes/1/approvers/0/field" in result.stderr
    exported = formflow(sqlite_env, "export-app", "sales", str(tmp_path / "out"), check=False)
    assert exported.returncode == 1  # the forms were not installed either
