"""The client's retries (which failures, how long, Retry-After) and answers that are not the API's.
Answers the real server cannot be made to give on cue (a 429 on a batch, a 503 then a 200, a
proxy's page) come from an httpx MockTransport."""

from __future__ import annotations

import time

import httpx
import pytest

from app.client import ApiError, CreditGateClient
from app.client.retry import RetryPolicy, retry_after


def scripted(*answers):
    """A transport answering each request with the next of `answers` (a status, a response or an exception)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"title": "t", "status": answer, "detail": "d"} if answer >= 400 else {})
        return answer

    return httpx.MockTransport(handle), seen


async def test_429_waits_for_retry_after_then_succeeds():
    receipt = {"batch_id": "orders-0000000", "kind": "orders", "items": 1, "final": False}
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "slow down"}),
                               httpx.Response(202, json=receipt))
    notices = []
    async with CreditGateClient("http://api", transport=transport, retry_seconds=10, on_retry=notices.append) as api:
        started = time.monotonic()
        assert await api.upload_batch("d1", "orders", "orders-0000000", [{"order_id": "O1"}]) == receipt
    assert time.monotonic() - started >= 1.0
    assert len(seen) == 2 and notices[0].reason == "429 Too Many Requests" and notices[0].delay >= 1.0


async def test_a_get_retries_5xx_and_connection_errors():
    transport, seen = scripted(503, httpx.ConnectError("refused"), 502, httpx.Response(200, json={"id": "d1"}))
    async with CreditGateClient("http://api", "t", transport=transport, retry_seconds=10) as api:
        assert await api.dataset("d1") == {"id": "d1"}
    assert len(seen) == 4


async def test_a_decision_is_not_repeated_after_a_5xx_but_after_a_refused_connection():
    transport, seen = scripted(503)
    async with CreditGateClient("http://api", "t", transport=transport, retry_seconds=10) as api:
        with pytest.raises(ApiError) as info:
            await api.decide({"order_id": "O1"})
    assert info.value.status_code == 503 and len(seen) == 1  # it may have been decided: not sent again
    transport, seen = scripted(httpx.ConnectError("refused"), httpx.Response(201, json={"decision": "bill"}))
    async with CreditGateClient("http://api", "t", transport=transport, retry_seconds=10) as api:
        assert (await api.decide({"order_id": "O1"}))["decision"] == "bill"
    assert len(seen) == 2


async def test_gives_up_after_the_total_time():
    transport, seen = scripted(httpx.ConnectError("refused"))
    async with CreditGateClient("http://api", "t", transport=transport, retry_seconds=1.0) as api:
        started = time.monotonic()
        with pytest.raises(httpx.ConnectError):
            await api.datasets()
    assert 1.0 <= time.monotonic() - started < 2.5
    assert len(seen) >= 4  # 0.25 s doubling, with jitter


async def test_a_retry_after_beyond_the_budget_ends_at_once():
    transport, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "later"}))
    async with CreditGateClient("http://api", "t", transport=transport, retry_seconds=5) as api:
        started = time.monotonic()
        with pytest.raises(ApiError) as info:
            await api.datasets()
    assert info.value.status_code == 429 and len(seen) == 1 and time.monotonic() - started < 1


def test_retry_after_forms_and_backoff():
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after(httpx.Response(429)) is None
    policy = RetryPolicy(first_delay=0.25, max_delay=10)
    delays = [policy.delay(attempt, httpx.ConnectError("x")) for attempt in range(8)]
    assert 0.125 <= delays[0] <= 0.25 and 5 <= delays[-1] <= 10
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "4"})) >= 4


async def test_an_answer_that_is_not_the_apis_json_is_an_api_error():
    page = httpx.Response(200, text="<html><body>Welcome to nginx</body></html>", headers={"content-type": "text/html"})
    transport, _ = scripted(page)
    async with CreditGateClient("http://proxy", "t", transport=transport) as api:
        with pytest.raises(ApiError) as info:
            await api.datasets()
    assert info.value.body["detail"] == ("http://proxy/v1/datasets?limit=50 answered text/html, not the API's JSON: "
                                         "<html><body>Welcome to nginx</body></html>")
