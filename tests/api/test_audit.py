from __future__ import annotations

from tests.conftest import register_company


async def test_registration_and_tokens_are_audited(client, tenant):
    issued = await client.post("/v1/companies/me/tokens", headers=tenant.headers)
    await client.delete(f"/v1/companies/me/tokens/{issued.json()['jti']}", headers=tenant.headers)
    response = await client.get("/v1/audit-events", headers=tenant.headers)
    assert response.status_code == 200
    actions = [e["action"] for e in response.json()["items"]]
    assert actions == ["token.revoked", "token.issued", "company.registered"]
    revoked = response.json()["items"][0]
    assert revoked["subject_id"] == issued.json()["jti"]
    assert revoked["actor"] == tenant.jti
    assert revoked["request_id"]


async def test_request_id_is_recorded(client, tenant):
    await client.post("/v1/companies/me/tokens", headers={**tenant.headers, "X-Request-ID": "req-abc-123"})
    events = (await client.get("/v1/audit-events?action=token.issued", headers=tenant.headers)).json()["items"]
    assert events[0]["request_id"] == "req-abc-123"


async def test_isolation_between_companies(client):
    first = await register_company(client, "Primeira Ltda")
    second = await register_company(client, "Segunda Ltda")
    await client.post("/v1/companies/me/tokens", headers=first.headers)
    first_events = (await client.get("/v1/audit-events", headers=first.headers)).json()["items"]
    second_events = (await client.get("/v1/audit-events", headers=second.headers)).json()["items"]
    assert {e["subject_id"] for e in second_events} == {second.company_id}
    assert len(first_events) == 2
    assert not {e["id"] for e in first_events} & {e["id"] for e in second_events}
    filtered = await client.get(f"/v1/audit-events?subject_id={first.company_id}", headers=second.headers)
    assert filtered.json()["items"] == []


async def test_filters_and_cursor_pagination(client, tenant):
    for _ in range(5):
        await client.post("/v1/companies/me/tokens", headers=tenant.headers)
    seen, cursor = [], None
    while True:
        params = {"action": "token.issued", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/audit-events", params=params, headers=tenant.headers)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True)
    assert {e["action"] for e in seen} == {"token.issued"}

    newest = seen[0]["created_at"]
    later = await client.get("/v1/audit-events", params={"since": newest}, headers=tenant.headers)
    assert [e["id"] for e in later.json()["items"]] == [seen[0]["id"]]
    earlier = await client.get("/v1/audit-events", params={"until": newest}, headers=tenant.headers)
    assert seen[0]["id"] not in [e["id"] for e in earlier.json()["items"]]


async def test_bad_cursor_is_422(client, tenant):
    response = await client.get("/v1/audit-events?cursor=abc", headers=tenant.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
