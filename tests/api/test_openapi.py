"""The OpenAPI document is a contract for generated clients and Swagger UI: short operation ids,
one problem schema for every error, named enums and pages, typed metrics and reports, and a
summary, a description and a valid example wherever a person or a generator looks."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from app.main import create_app
from tests.conftest import make_settings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = ("get", "post", "put", "patch", "delete")
SHORT_ID = re.compile(r"^[a-z]+(_[a-z]+){0,3}$")


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openapi') / 'unused.db'}"
    return create_app(make_settings(url)).openapi()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def schema_of(spec: dict, name: str) -> dict:
    return spec["components"]["schemas"][name]


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def test_every_operation_has_a_short_unique_operation_id_without_path_noise(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(set(ids)) == len(ids)
    for operation_id in ids:
        assert SHORT_ID.match(operation_id), operation_id
        # FastAPI's default would be register_company_v1_companies_post: path, parameters and method
        assert not re.search(r"(^|_)v1(_|$)|_id(_|$)|_(get|post|put|patch|delete)$", operation_id), operation_id
    for expected in ("register_company", "create_dataset", "upload_customers", "upload_orders", "decide",
                     "decide_batch", "list_decisions", "list_training_jobs", "read_training_job", "list_models",
                     "activate_model", "evaluate_model", "read_company"):
        assert expected in ids


def test_every_error_response_is_the_one_problem_schema(spec):
    errors = 0
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code[0] in "45":
                errors += 1
                assert response["content"] == PROBLEM, (method, path, code)
                assert response["description"], (method, path, code)
        assert "default" not in operation["responses"]
    assert errors > 100
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_operation_has_a_summary_and_a_description(spec):
    for path, method, operation in operations(spec):
        assert operation.get("summary"), (method, path)
        assert len(operation.get("description", "")) >= 40, (method, path)


def test_every_request_body_has_an_example_valid_against_its_own_schema(spec):
    """JSON bodies; a file upload (multipart) gets Swagger's file picker, not an example."""
    bodies = 0
    for path, method, operation in operations(spec):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            assert "schema" in media, (method, path, media_type)
            if not media_type.endswith("json"):
                continue
            bodies += 1
            assert "example" in media, (method, path, media_type)
            validator = Draft202012Validator({"components": spec["components"], **media["schema"]},
                                             format_checker=Draft202012Validator.FORMAT_CHECKER)
            problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(media["example"])]
            assert problems == [], (method, path, problems)
    assert bodies >= 10


def test_an_example_that_breaks_its_schema_is_caught(spec):
    """The check above can fail: a wrong amount and an unknown field are found."""
    media = spec["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"]
    validator = Draft202012Validator({"components": spec["components"], **media["schema"]})
    broken = {"order": {**media["example"]["order"], "amount": "lots"}, "surprise": 1}
    assert len(list(validator.iter_errors(broken))) == 2


def test_decision_examples_use_the_demo_customer_ids(spec):
    single = spec["paths"]["/v1/decisions"]["post"]["requestBody"]["content"]["application/json"]["example"]
    batch = spec["paths"]["/v1/decisions/batch"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert single["order"]["customer_id"] == "C000001"  # `creditgate demo-data` always writes C000001
    assert len(batch["orders"]) == 2 and "context" in batch["orders"][1]
    orders = spec["paths"]["/v1/datasets/{dataset_id}/orders"]["post"]["requestBody"]["content"]
    assert orders["application/json"]["example"]["items"][0]["customer_id"] == "C000001"


def test_statuses_and_kinds_are_named_enums(spec):
    enums = {name: schema["enum"] for name, schema in spec["components"]["schemas"].items() if "enum" in schema}
    assert enums["BillingDecision"] == ["bill", "block", "review"]  # review: companies whose policy asks it
    assert set(enums["DatasetStatus"]) >= {"receiving", "validating", "valid", "invalid", "trained"}
    assert enums["JobStatus"] == ["queued", "running", "succeeded", "failed"]
    assert set(enums["Kind"]) == {"customers", "credit_limits", "serasa_reports", "orders"}
    assert set(enums["OrderStatus"]) == {"billed", "blocked"}
    assert schema_of(spec, "DecisionRead")["properties"]["decision"] == ref("BillingDecision")
    assert schema_of(spec, "DatasetSummary")["properties"]["status"] == ref("DatasetStatus")
    assert schema_of(spec, "TrainingJobRead")["properties"]["status"] == ref("JobStatus")
    assert schema_of(spec, "EvaluationRead")["properties"]["status"] == ref("JobStatus")
    assert schema_of(spec, "ModelSummary")["properties"]["status"] == ref("ModelStatus")
    assert schema_of(spec, "BatchReceipt")["properties"]["kind"] == ref("Kind")
    decision_filter = next(p for p in spec["paths"]["/v1/decisions"]["get"]["parameters"] if p["name"] == "decision")
    assert ref("BillingDecision") in decision_filter["schema"]["anyOf"]


def test_metrics_reports_evaluations_and_comparisons_are_typed(spec):
    metrics = schema_of(spec, "ModelMetrics")
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "confusion_matrix",
            "support", "threshold"} <= set(metrics["properties"])
    assert metrics["additionalProperties"] is True  # keys added later (a calibration table) pass through
    assert metrics["properties"]["confusion_matrix"] == ref("ConfusionMatrix")
    assert schema_of(spec, "ModelSummary")["properties"]["metrics"] == ref("ModelMetrics")
    assert ref("ModelMetrics") in schema_of(spec, "EvaluationRead")["properties"]["metrics"]["anyOf"]
    report = schema_of(spec, "IntegrityReport")
    assert set(report["required"]) >= {"valid", "checked_at", "rows", "outcomes", "problems"}
    assert report["properties"]["problems"]["items"] == ref("IntegrityProblem")
    assert set(schema_of(spec, "IntegrityProblem")["properties"]) == {"code", "message", "count", "examples"}
    assert ref("IntegrityReport") in schema_of(spec, "DatasetRead")["properties"]["report"]["anyOf"]
    comparison = schema_of(spec, "ModelComparison")["properties"]["metrics"]
    assert comparison["additionalProperties"] == ref("MetricComparison")


def test_lists_answer_named_pages(spec):
    names = set(spec["components"]["schemas"])
    assert not [name for name in names if not re.match(r"^[A-Za-z0-9]+$", name)]  # no Page_DatasetSummary_
    for path, method, operation in operations(spec):
        params = {p["name"] for p in operation.get("parameters", [])}
        if method == "get" and {"limit", "cursor"} <= params:
            target = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert target.endswith("Page"), (path, target)
    assert {"DatasetPage", "DecisionPage", "TrainingJobPage", "ModelPage", "EvaluationPage", "AuditEventPage",
            "BatchPage", "TokenPage"} <= names


def test_every_success_response_has_a_schema(spec):
    """A generated client returns a typed object for every documented success (204 has no body):
    a named schema for JSON, a schema for any other content (a page, a file)."""
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code.startswith("2") and code != "204":
                assert response.get("content"), (method, path, code)
                for media_type, media in response["content"].items():
                    schema = media.get("schema")
                    assert schema, (method, path, code, media_type)
                    if media_type == "application/json":
                        assert "$ref" in schema, (method, path, code, schema)
