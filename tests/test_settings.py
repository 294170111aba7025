from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import DEV_JWT_SECRET, Settings


def test_development_accepts_default_secret():
    assert Settings(_env_file=None, env="development").jwt_secret == DEV_JWT_SECRET


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "", "short-secret"])
@pytest.mark.parametrize("env", ["production", "test"])
def test_weak_secret_refused_outside_development(env, secret):
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, env=env, jwt_secret=secret)
    assert "CREDITGATE_JWT_SECRET" in str(info.value)


def test_strong_secret_accepted_in_production():
    settings = Settings(_env_file=None, env="production", jwt_secret="x" * 48)
    assert settings.env == "production"


def test_reads_prefixed_environment(monkeypatch):
    monkeypatch.setenv("CREDITGATE_TOKEN_TTL_DAYS", "7")
    monkeypatch.setenv("CREDITGATE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    settings = Settings(_env_file=None)
    assert settings.token_ttl_days == 7
    assert settings.kafka_enabled
