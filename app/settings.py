"""Configuration: one pydantic-settings class, environment prefix ``CREDITGATE_``."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Literal

import limits
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "creditgate-development-secret-do-not-use-in-production"
MIN_SECRET_BYTES = 32
MIN_DISTINCT_BYTES = 12  # a random 32-byte URL-safe token has ~25; "aaaa..." or "abcabc..." far fewer
# Values found in tutorials, .env examples and framework defaults (compared without case and separators).
KNOWN_DEFAULTS = frozenset({
    "secret", "changeme", "changeit", "password", "yoursecretkey", "secretkey", "jwtsecret", "supersecret",
    "mysecret", "development", "test", "example", "insecure", "default", "pleasechangeme", "replaceme",
})


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDITGATE_", env_file=".env", extra="ignore", frozen=True
    )

    env: Environment = Environment.development
    log_level: str = "INFO"
    database_url: str = "sqlite+aiosqlite:///./creditgate.db"
    database_echo: bool = False

    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "creditgate"
    jwt_audience: str = "creditgate-api"
    token_ttl_days: int = Field(default=30, ge=1, le=3650)
    registration_key: str | None = None
    # Rate limits ("<n>/<second|minute|hour|day>", empty: off), counted in `rate_limit_storage`:
    # memory:// counts per process; redis://host:6379 shares the counts between replicas.
    rate_limit_registrations: str = "10/hour"  # per client address
    rate_limit_tokens: str = "30/hour"  # per company and per client address
    rate_limit_storage: str = "memory://"
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=60)

    # Decisions are journaled here and written to the database off the request path; empty:
    # each request waits for the database commit of its decision.
    decision_journal_dir: str = "var/decision-journal"
    # Where the journaled decisions are committed: "process", a writer process of its own (the
    # serving process keeps its GIL for requests; docs/decisions/0013), or "inline", on the
    # serving process's event loop.
    decision_writer: Literal["process", "inline"] = "process"

    kafka_bootstrap_servers: str = ""
    kafka_topic_prefix: str = "creditgate"
    kafka_group_id: str = "creditgate-workers"
    kafka_partitions: int = Field(default=4, ge=1)

    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    # Bulk files (POST /v1/datasets/{id}/{kind}/files): their own body limit, and the folder they
    # are streamed to while validated and stored (empty: the system's temporary folder).
    max_file_bytes: int = Field(default=2_000_000_000, ge=1024)
    upload_dir: str = ""
    file_chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # read, validated and stored at a time
    min_orders_per_outcome: int = Field(default=50, ge=1)
    ingest_batches_per_commit: int = Field(default=32, ge=1)

    training_workers: int = Field(default=1, ge=1)
    training_threads: int = Field(default=2, ge=1)
    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    # Trainings (and, separately, evaluations) a company may have queued or running at once.
    max_unfinished_jobs_per_company: int = Field(default=4, ge=1)
    auto_train: bool = True
    # A Dask scheduler address (tcp://host:8786): training runs there with xgboost.dask, the
    # features built per customer partition on the workers. Empty: the local process pool.
    dask_scheduler: str = ""
    dask_partitions: int = Field(default=0, ge=0)  # customer partitions; 0: two per worker

    # Monitoring (docs/decisions/0011): a PSI of the score or a feature above `monitoring_psi_threshold`,
    # or a live ROC AUC more than `monitoring_auc_margin` below the version's hold-out AUC, raises an
    # alert; checked every `monitoring_interval_seconds` (0: never in the background) over the last
    # `monitoring_window_days`, once a version has `monitoring_min_decisions` decisions (drift) or
    # `monitoring_min_outcomes` outcomes (performance) there.
    monitoring_psi_threshold: float = Field(default=0.25, gt=0)
    monitoring_auc_margin: float = Field(default=0.05, ge=0, le=1)
    monitoring_interval_seconds: float = Field(default=60.0, ge=0)
    monitoring_window_days: int = Field(default=7, ge=1, le=400)
    monitoring_min_decisions: int = Field(default=100, ge=1)
    monitoring_min_outcomes: int = Field(default=50, ge=1)

    # Crash tests only (app/kit/failpoints.py): "name=seconds,...", and the file each hit is noted in.
    failpoints: str = ""
    failpoints_marker: str = ""

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> Settings:
        if self.env is Environment.development:
            return self
        problem = secret_weakness(self.jwt_secret)
        if problem:
            raise ValueError(
                f"CREDITGATE_JWT_SECRET {problem}; outside development set it to a random value of "
                f"at least {MIN_SECRET_BYTES} bytes, e.g. "
                "export CREDITGATE_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @model_validator(mode="after")
    def _failpoints_only_in_tests(self) -> Settings:
        if self.failpoints and self.env is not Environment.test:
            raise ValueError("CREDITGATE_FAILPOINTS is for crash tests: set CREDITGATE_ENV=test or unset it")
        return self

    @field_validator("rate_limit_registrations", "rate_limit_tokens")
    @classmethod
    def _parse_rate(cls, value: str) -> str:
        if value.strip():
            try:
                limits.parse(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a rate such as 10/hour") from exc
        return value.strip()

    @property
    def kafka_enabled(self) -> bool:
        return bool(self.kafka_bootstrap_servers.strip())


def secret_weakness(secret: str) -> str | None:
    """Why a JWT secret is too weak to sign production tokens, or None. Length alone is not enough:
    48 times the same letter is 48 bytes."""
    raw = secret.encode()
    folded = "".join(ch for ch in secret.lower() if ch.isalnum())
    if not secret or secret == DEV_JWT_SECRET:
        return "is missing or is the development default"
    if len(raw) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    if any(ch.isspace() for ch in secret):
        return "contains whitespace (a copy-paste accident?)"
    if folded in KNOWN_DEFAULTS or any(folded == word * (len(folded) // len(word)) for word in KNOWN_DEFAULTS):
        return "is a well-known default"
    if len(set(raw)) < MIN_DISTINCT_BYTES:
        return f"has fewer than {MIN_DISTINCT_BYTES} distinct characters (a repeated pattern)"
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
