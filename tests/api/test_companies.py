from __future__ import annotations

from tests.conftest import register_company


class TestRegister:
    async def test_registers_and_token_works(self, client):
        tenant = await register_company(client)
        me = await client.get("/v1/companies/me", headers=tenant.headers)
        assert me.status_code == 200
        assert me.json()["id"] == tenant.company_id
        assert me.json()["email"] == tenant.email

    async def test_duplicate_email_is_409(self, client, tenant):
        response = await client.post("/v1/companies", json={"name": "Again", "email": tenant.email.upper()})
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        assert tenant.email in response.json()["detail"]

    async def test_invalid_name_and_email_list_both_fields(self, client):
        response = await client.post("/v1/companies", json={"name": "", "email": "not-an-email"})
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"name", "email"}

    async def test_unknown_field_refused(self, client):
        response = await client.post(
            "/v1/companies", json={"name": "Acme", "email": "a@example.com", "admin": True}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "admin"


class TestTokens:
    async def test_issue_list_and_revoke(self, client, tenant):
        issued = await client.post("/v1/companies/me/tokens", headers=tenant.headers)
        assert issued.status_code == 201
        second = {"Authorization": f"Bearer {issued.json()['token']}"}
        assert (await client.get("/v1/companies/me", headers=second)).status_code == 200

        listed = await client.get("/v1/companies/me/tokens", headers=tenant.headers)
        assert {t["jti"] for t in listed.json()["items"]} == {tenant.jti, issued.json()["jti"]}

        revoked = await client.delete(f"/v1/companies/me/tokens/{issued.json()['jti']}", headers=tenant.headers)
        assert revoked.status_code == 204
        refused = await client.get("/v1/companies/me", headers=second)
        assert refused.status_code == 401
        assert "revoked" in refused.json()["detail"]
        assert (await client.get("/v1/companies/me", headers=tenant.headers)).status_code == 200

    async def test_cannot_revoke_another_company_token(self, client, tenant, other_tenant):
        response = await client.delete(f"/v1/companies/me/tokens/{other_tenant.jti}", headers=tenant.headers)
        assert response.status_code == 404
        assert (await client.get("/v1/companies/me", headers=other_tenant.headers)).status_code == 200

    async def test_missing_token_is_401(self, client):
        response = await client.get("/v1/companies/me")
        assert response.status_code == 401
        assert "Bearer" in response.json()["detail"]


class TestRegistrationKey:
    async def test_key_required_when_configured(self, database_url):
        import httpx

        from app.main import create_app
        from tests.conftest import make_settings

        app = create_app(make_settings(database_url, registration_key="let-me-in"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                body = {"name": "Keyed", "email": "keyed-" + __import__("uuid").uuid4().hex[:8] + "@ex.com"}
                refused = await http.post("/v1/companies", json=body)
                assert refused.status_code == 403
                accepted = await http.post("/v1/companies", json=body, headers={"X-Registration-Key": "let-me-in"})
                assert accepted.status_code == 201
