"""Every RFC 8725 refusal answers 401."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import update

from app.db.companies import Company
from tests.conftest import TEST_SECRET


def claims_for(tenant, settings, **changes):
    now = datetime.now(UTC)
    claims = {
        "sub": tenant.company_id,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(hours=1),
        "jti": tenant.jti,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).rstrip(b"=").decode()


async def assert_refused(client, token: str, reason: str | None = None) -> None:
    response = await client.get("/v1/companies/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if reason:
        assert reason in response.json()["detail"].lower()


async def test_valid_forged_token_is_accepted(client, tenant, settings):
    """Control: the helper builds tokens the service accepts, so each refusal below is meaningful."""
    token = jwt.encode(claims_for(tenant, settings), TEST_SECRET, algorithm="HS256")
    response = await client.get("/v1/companies/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_alg_none_refused(client, tenant, settings):
    payload = claims_for(tenant, settings)
    payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
    await assert_refused(client, token)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # a forged token, on purpose
async def test_algorithm_outside_allow_list_refused(client, tenant, settings):
    token = jwt.encode(claims_for(tenant, settings), TEST_SECRET, algorithm="HS512")
    await assert_refused(client, token, "algorithm is not accepted")


async def test_tampered_payload_refused(client, tenant, other_tenant, settings):
    token = jwt.encode(claims_for(tenant, settings), TEST_SECRET, algorithm="HS256")
    header, _, signature = token.split(".")
    forged = claims_for(tenant, settings, sub=other_tenant.company_id)
    forged = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in forged.items()}
    await assert_refused(client, f"{header}.{b64(forged)}.{signature}", "signature")


async def test_wrong_key_refused(client, tenant, settings):
    token = jwt.encode(claims_for(tenant, settings), "another-secret-of-enough-length-000000", algorithm="HS256")
    await assert_refused(client, token, "signature")


async def test_expired_refused(client, tenant, settings):
    past = datetime.now(UTC) - timedelta(hours=2)
    token = jwt.encode(
        claims_for(tenant, settings, iat=past, exp=past + timedelta(minutes=5)), TEST_SECRET, algorithm="HS256"
    )
    await assert_refused(client, token, "expired")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub", "jti", "iat"])
async def test_missing_claim_refused(client, tenant, settings, claim):
    payload = claims_for(tenant, settings)
    payload.pop(claim)
    token = jwt.encode(payload, TEST_SECRET, algorithm="HS256")
    await assert_refused(client, token)


async def test_wrong_issuer_refused(client, tenant, settings):
    token = jwt.encode(claims_for(tenant, settings, iss="someone-else"), TEST_SECRET, algorithm="HS256")
    await assert_refused(client, token, "issuer")


async def test_wrong_audience_refused(client, tenant, settings):
    token = jwt.encode(claims_for(tenant, settings, aud="other-api"), TEST_SECRET, algorithm="HS256")
    await assert_refused(client, token, "audience")


async def test_unknown_jti_refused(client, tenant, settings):
    token = jwt.encode(claims_for(tenant, settings, jti="not-issued"), TEST_SECRET, algorithm="HS256")
    await assert_refused(client, token, "unknown")


async def test_revoked_jti_refused(client, tenant):
    response = await client.delete(f"/v1/companies/me/tokens/{tenant.jti}", headers=tenant.headers)
    assert response.status_code == 204
    await assert_refused(client, tenant.token, "revoked")


async def deactivate(app, company_id: str) -> None:
    """As an operator would, straight in the database (no API call this replica could notice)."""
    async with app.state.runtime.sessions() as session:
        await session.execute(update(Company).where(Company.id == company_id).values(is_active=False))
        await session.commit()


async def test_deactivated_company_refused(client, app, tenant):
    await client.get("/v1/companies/me", headers=tenant.headers)  # now cached for a few seconds
    await deactivate(app, tenant.company_id)
    app.state.runtime.auth_cache.clear()
    await assert_refused(client, tenant.token, "deactivated")


async def test_deactivation_elsewhere_is_seen_after_the_cache_ttl(client, app, tenant, monkeypatch):
    """On a clock the test moves (no race with a busy machine): cached within the TTL, refused after."""
    import types

    from app.services import auth_cache as auth_cache_module

    now = [1000.0]
    monkeypatch.setattr(auth_cache_module, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(app.state.runtime.auth_cache, "ttl", 5.0)
    app.state.runtime.auth_cache.clear()
    assert (await client.get("/v1/companies/me", headers=tenant.headers)).status_code == 200
    await deactivate(app, tenant.company_id)
    now[0] += 4.9
    assert (await client.get("/v1/companies/me", headers=tenant.headers)).status_code == 200  # cached
    now[0] += 0.2
    await assert_refused(client, tenant.token, "deactivated")


async def test_revocation_in_this_replica_is_immediate_despite_the_cache(client, tenant):
    issued = (await client.post("/v1/companies/me/tokens", headers=tenant.headers)).json()
    second = {"Authorization": f"Bearer {issued['token']}"}
    assert (await client.get("/v1/companies/me", headers=second)).status_code == 200  # cached now
    await client.delete(f"/v1/companies/me/tokens/{issued['jti']}", headers=tenant.headers)
    await assert_refused(client, issued["token"], "revoked")


async def test_garbage_token_refused(client):
    await assert_refused(client, "not.a.jwt")


async def test_concurrent_requests_with_an_expired_entry_share_one_verification(client, app, tenant, monkeypatch):
    from app.services import companies

    app.state.runtime.auth_cache.clear()
    verifications = []
    real = companies.authenticate

    async def counting(session, settings, raw_token):
        verifications.append(raw_token)
        await asyncio.sleep(0.05)  # a slow database: every request arrives while it runs
        return await real(session, settings, raw_token)

    monkeypatch.setattr("app.services.auth.authenticate", counting)
    responses = await asyncio.gather(*(client.get("/v1/companies/me", headers=tenant.headers) for _ in range(8)))
    assert [r.status_code for r in responses] == [200] * 8
    assert verifications == [tenant.token]


async def test_a_shared_verification_refuses_every_waiter(client, app, tenant):
    await deactivate(app, tenant.company_id)
    app.state.runtime.auth_cache.clear()
    responses = await asyncio.gather(*(client.get("/v1/companies/me", headers=tenant.headers) for _ in range(4)))
    assert [r.status_code for r in responses] == [401] * 4


@pytest.mark.parametrize("exp", ["9999999999", "soon", 1.5e10, None])
async def test_an_exp_that_is_not_an_integer_is_refused(client, tenant, settings, exp):
    payload = claims_for(tenant, settings)
    payload = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()} | {"exp": exp}
    token = jwt.encode(payload, TEST_SECRET, algorithm="HS256")
    await assert_refused(client, token)


async def test_refusals_never_echo_the_decoders_words(client, tenant, settings):
    """The 401 says what kind of problem it is, not PyJWT's internal message."""
    cases = [jwt.encode(claims_for(tenant, settings), "another-secret-of-enough-length-000000", algorithm="HS256"),
             "not.a.jwt", "a.b", jwt.encode(claims_for(tenant, settings, aud="x"), TEST_SECRET, algorithm="HS256")]
    for token in cases:
        response = await client.get("/v1/companies/me", headers={"Authorization": f"Bearer {token}"})
        detail = response.json()["detail"]
        assert response.status_code == 401
        for internal in ("Signature verification failed", "Not enough segments", "Invalid audience", "Invalid header",
                         "Invalid crypto padding", "Invalid token type"):
            assert internal not in detail


async def test_the_stored_expiry_is_checked_too(client, app, tenant):
    """A token whose row says it expired is refused even if its own exp lies ahead (a shortened lifetime)."""
    from app.db.companies import ApiToken

    async with app.state.runtime.sessions() as session:
        await session.execute(update(ApiToken).where(ApiToken.jti == tenant.jti)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.commit()
    app.state.runtime.auth_cache.clear()
    await assert_refused(client, tenant.token, "expired")
