"""Every command against a real server with a trained model, and `--help` with every default."""

from __future__ import annotations

import argparse
import json
from datetime import date

import httpx
import pytest

from app.cli import HelpFormatter, build_parser
from tests.client.conftest import cli, register


@pytest.fixture(scope="module")
def trained(server, demo_dir):
    """A company with model version 1 trained on the demo data (the upload waits for it)."""
    token = register(server)
    run = cli("upload", "--url", server.url, "--token", token, "--format", "parquet", str(demo_dir))
    assert run.code == 0, run.text
    assert "training: trained" in run.out and "model version 1 (active)" in run.out
    return token, run.out.splitlines()[0].split()[1]


def api(server, token: str) -> tuple[str, ...]:
    return ("--url", server.url, "--token", token)


def test_datasets_list_show_delete(server, trained, demo):
    token, dataset_id = trained
    run = cli("datasets", "list", *api(server, token))
    assert run.code == 0 and dataset_id in run.out and "trained" in run.out
    listed = json.loads(cli("datasets", "list", *api(server, token), "--json").out)
    assert [d["id"] for d in listed] == [dataset_id]
    run = cli("datasets", "show", dataset_id, *api(server, token))
    assert run.code == 0 and f"dataset  {dataset_id}" in run.out and "status   trained (training)" in run.out
    assert f"orders                4       4       0  {demo.orders.height:,}  yes" in run.out
    shown = json.loads(cli("datasets", "show", dataset_id, *api(server, token), "--json").out)
    assert shown["kinds"]["customers"]["rows_stored"] == demo.customers.height

    run = cli("datasets", "delete", dataset_id, *api(server, token))
    assert run.code == 1 and "error: 409" in run.err  # a model version was trained on it
    run = cli("datasets", "show", "no-such-dataset", *api(server, token))
    assert run.code == 1 and "error: 404 Not found" in run.err


def test_models_list_show_activate(server, trained):
    token, dataset_id = trained
    run = cli("models", "list", *api(server, token))
    assert run.code == 0 and run.out.splitlines()[0].split()[:3] == ["version", "active", "status"]
    assert dataset_id in run.out
    run = cli("models", "show", "1", *api(server, token))
    assert run.code == 0 and "model version 1 (active)" in run.out and "roc_auc" in run.out
    assert "most important features" in run.out
    run = cli("models", "activate", "1", *api(server, token))
    assert run.code == 0 and run.out.strip() == "model version 1 is active"
    run = cli("models", "show", "7", *api(server, token))
    assert run.code == 1 and "error: 404" in run.err


def test_models_report_writes_the_page(server, trained, tmp_path):
    token, _ = trained
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    out = tmp_path / "report.html"
    run = cli("models", "report", "1", "--out", str(out), *api(server, token))
    if "/v1/models/{version}/report" not in paths:
        assert run.code == 1 and "error: 404" in run.err  # said, not a traceback
        pytest.skip("GET /v1/models/{version}/report is not served yet")
    assert run.code == 0, run.text
    page = out.read_bytes()
    assert run.out.strip() == f"wrote {out} ({len(page):,} bytes)"
    assert b"<html" in page.lower()


def test_evaluate_waits_for_the_job(server, trained, demo_dir):
    token, _ = trained
    run = cli("upload", *api(server, token), "--format", "csv", "--purpose", "evaluation", str(demo_dir))
    assert run.code == 0, run.text
    evaluation_set = run.out.splitlines()[0].split()[1]
    run = cli("evaluate", "1", "--dataset", evaluation_set, *api(server, token))
    assert run.code == 0, run.text
    assert f"of model version 1 on dataset {evaluation_set}: succeeded" in run.out and "roc_auc" in run.out


def context_of(demo, customer_id: str) -> dict:
    """A customer the server has never seen, with its limit and Serasa report, as decide --context takes it."""
    def row(frame, drop):
        values = frame.row(0, named=True)
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()
                if k not in drop and v is not None}

    customer = row(demo.customers, ()) | {"customer_id": customer_id}
    return {"customer": customer, "credit_limit": row(demo.credit_limits, ("customer_id",)),
            "serasa_report": row(demo.serasa_reports, ("customer_id",))}


def test_decide_with_a_context_file_then_list_decisions(server, trained, demo, tmp_path):
    token, _ = trained
    context = tmp_path / "context.json"
    context.write_text(json.dumps(context_of(demo, "NOVO-001")))
    run = cli("decide", "--context", str(context), "--amount", "15000", "--terms", "30", *api(server, token))
    assert run.code == 0, run.text
    assert run.out.split()[0] in ("BILL", "BLOCK") and "model v1" in run.out
    run = cli("decide", "--customer", "C000001", "--amount", "900.50", "--lang", "pt-BR", "--json",
              *api(server, token))
    decided = json.loads(run.out)
    assert decided["customer_id"] == "C000001"

    run = cli("decisions", "list", "--customer", "NOVO-001", *api(server, token))
    assert run.code == 0 and len(run.out.splitlines()) == 2 and "NOVO-001" in run.out
    run = cli("decisions", "list", "--limit", "1", *api(server, token))
    assert len(run.out.splitlines()) == 2 and "more: --all, or --cursor" in run.err
    everything = json.loads(cli("decisions", "list", "--limit", "1", "--all", "--json", *api(server, token)).out)
    assert {d["customer_id"] for d in everything} == {"NOVO-001", "C000001"}
    same = json.loads(cli("decisions", "list", "--decision", decided["decision"], "--json",
                          "--since", decided["created_at"], *api(server, token)).out)
    assert decided["decision_id"] in {d["decision_id"] for d in same}
    none = json.loads(cli("decisions", "list", "--until", "2000-01-01T00:00:00Z", "--json", *api(server, token)).out)
    assert none == []


def test_decide_context_errors_name_the_file_and_field(server, trained, demo, tmp_path):
    token, _ = trained
    context = tmp_path / "context.json"
    bad = context_of(demo, "NOVO-002")
    bad["customer"]["document"] = "12345678000100"
    context.write_text(json.dumps(bad, indent=2))
    run = cli("decide", "--context", str(context), "--amount", "100", *api(server, token))
    assert run.code == 2
    assert f"{context}, field customer.document: Value error, must be a CNPJ (14) or CPF (11)" in run.err
    context.write_text('{\n  "customer": {\n    "customer_id": "X",\n  }\n}')
    run = cli("decide", "--context", str(context), "--amount", "100", *api(server, token))
    assert run.code == 2 and f"error: {context}, line 4: not JSON" in run.err
    context.write_text('{"order": {}}')
    run = cli("decide", "--context", str(context), "--customer", "C1", "--amount", "100", *api(server, token))
    assert run.code == 2 and "unknown part 'order'; the parts are customer, credit_limit, serasa_report" in run.err


def test_every_option_says_its_default():
    commands = list(_parsers(build_parser()))
    assert {"creditgate serve", "creditgate demo-data", "creditgate upload", "creditgate models report",
            "creditgate decisions list"} <= {command.prog for command in commands}
    for command in commands:
        assert command.formatter_class is HelpFormatter, command.prog
        text = command.format_help()
        for action in command._actions:
            if action.help is argparse.SUPPRESS or not action.option_strings or action.dest == "help":
                continue
            assert action.help, f"{command.prog} {action.option_strings} has no help"
            if action.default not in (None, False):
                assert "default" in action.help or f"(default: {action.default})" in " ".join(text.split()), (
                    command.prog, action.option_strings)


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def test_main_help_lists_every_command():
    run = cli("--help")
    assert run.code == 0
    for command in ("serve", "upload", "datasets", "models", "evaluate", "decide", "decisions", "register"):
        assert command in run.out
    run = cli("serve", "--help")
    assert "--port PORT" in run.out and "(default: 8000)" in run.out
