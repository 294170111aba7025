"""compose.yaml: a valid Compose file with the stack the README describes.

Checked against the Compose specification's JSON schema (the copy the check-jsonschema package
ships, vendored there from compose-spec/compose-spec under Apache-2.0) and, where a Compose v2
binary is installed, by `docker compose config`. No docker engine is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from app.settings import Settings

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "compose.yaml"
# The variables compose.yaml requires (${VAR:?...}), for `docker compose config`.
REQUIRED_ENV = {
    "CREDITGATE_JWT_SECRET": "x" * 64,
    "MSSQL_SA_PASSWORD": "Str0ng-Passw0rd",
    "POSTGRES_PASSWORD": "postgres-password",
}
CREDITGATE_SERVICES = ("api", "worker", "api-postgres", "worker-postgres")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the anchors and << merges


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def compose_schema() -> dict:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())


def test_valid_against_the_compose_specification(compose):
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_a_mistake(compose):
    schema = compose_schema()
    api = {key: value for key, value in compose["services"]["api"].items() if key != "deploy"}
    broken = {**compose, "services": {**compose["services"], "api": {**api, "replicas": 2}}}  # not under deploy
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


def test_sql_server_is_the_default_database(services):
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {"kafka", "mssql", "mssql-init", "api", "worker"}
    assert services["mssql"]["image"] == "mcr.microsoft.com/mssql/server:2022-latest"
    for name in ("api", "worker"):
        url = services[name]["environment"]["CREDITGATE_DATABASE_URL"]
        assert url.startswith("mssql+aioodbc://")
        assert "driver=ODBC+Driver+18+for+SQL+Server" in url
        assert services[name]["build"]["args"]["EXTRAS"] == "mssql"  # the ODBC driver and aioodbc
        assert "mssql-init" in services[name]["depends_on"]


def test_postgres_profile_replaces_sql_server(services):
    profiled = {name for name, service in services.items() if service.get("profiles")}
    assert profiled == {"postgres", "api-postgres", "worker-postgres"}
    assert all(services[name]["profiles"] == ["postgres"] for name in profiled)
    for name in ("api-postgres", "worker-postgres"):
        assert services[name]["environment"]["CREDITGATE_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "postgres" in services[name]["depends_on"]
        assert not {"mssql", "mssql-init"} & set(services[name]["depends_on"])


@pytest.mark.parametrize(("api", "worker"), [("api", "worker"), ("api-postgres", "worker-postgres")])
def test_two_api_replicas_and_one_worker(services, api, worker):
    assert services[api]["deploy"]["replicas"] == 2
    assert "command" not in services[api]  # the image's default: creditgate serve --host 0.0.0.0
    assert services[worker]["command"] == ["creditgate", "worker"]
    assert services[worker].get("deploy", {}).get("replicas", 1) == 1


def test_kafka_runs_in_kraft_mode(services):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert not any("ZOOKEEPER" in key for key in kafka["environment"])
    for name in CREDITGATE_SERVICES:
        assert services[name]["environment"]["CREDITGATE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_configuration_uses_known_creditgate_settings(services):
    known = {f"CREDITGATE_{name.upper()}" for name in Settings.model_fields}
    for name in CREDITGATE_SERVICES:
        environment = services[name]["environment"]
        assert environment["CREDITGATE_ENV"] == "production"
        assert {key for key in environment if key.startswith("CREDITGATE_")} <= known


def compose_v2() -> list[str] | None:
    """`docker compose` (the plugin) or a `docker-compose` of version 2, if installed."""
    candidates = []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for command in candidates:
        result = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, timeout=30)
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2"):
            return command
    return None


@pytest.mark.parametrize("profile", [None, "postgres"])
def test_docker_compose_config_accepts_it(profile):
    command = compose_v2()
    if command is None:
        pytest.skip("no Compose v2 binary here; the schema test covers compose.yaml")
    profiles = ["--profile", profile] if profile else []
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), *profiles, "config", "--quiet"],
        env={**os.environ, **REQUIRED_ENV}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
