from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import DEV_JWT_SECRET, Settings


def test_development_accepts_default_secret():
    assert Settings(_env_file=None, env="development").jwt_secret == DEV_JWT_SECRET


WEAK = [DEV_JWT_SECRET, "", "short-secret", "x" * 48, "ab" * 24, "changeme" * 5, "secret" * 8,
        "correct horse battery staple and more words", " " + "k3J9!fQ2#wL8@zR5$tY1%uI6^oP4&aS7", "0123456789" * 4]


@pytest.mark.parametrize("secret", WEAK)
@pytest.mark.parametrize("env", ["production", "test"])
def test_weak_secret_refused_outside_development(env, secret):
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None, env=env, jwt_secret=secret)
    assert "CREDITGATE_JWT_SECRET" in str(info.value)


def test_strong_secret_accepted_in_production():
    import secrets

    settings = Settings(_env_file=None, env="production", jwt_secret=secrets.token_urlsafe(48))
    assert settings.env == "production"


def test_reads_prefixed_environment(monkeypatch):
    monkeypatch.setenv("CREDITGATE_TOKEN_TTL_DAYS", "7")
    monkeypatch.setenv("CREDITGATE_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    settings = Settings(_env_file=None)
    assert settings.token_ttl_days == 7
    assert settings.kafka_enabled
