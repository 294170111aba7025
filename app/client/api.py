"""Typed async client: one method per API operation, plus a batched uploader with retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import polars as pl

from app.client.retry import RETRY_STATUSES as RETRY_STATUSES  # the 5xx retried, importable from here as before
from app.client.retry import RetryNotice, RetryPolicy, describe

KIND_PATHS = {
    "customers": "customers",
    "credit_limits": "credit-limits",
    "serasa_reports": "serasa-reports",
    "orders": "orders",
}
KINDS = tuple(KIND_PATHS)
BATCH_SIZE = 500
FILE_TYPES = {".csv": "text/csv", ".parquet": "application/vnd.apache.parquet"}
FILE_CHUNK = 1024 * 1024

Progress = Callable[[str, int], None]  # (kind, rows just stored)


class ApiError(Exception):
    """An answer of 400 or more; `body` is the problem (`title`, `detail`, `errors`, `request_id`)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        self.body: dict = body if isinstance(body, dict) else {"detail": _not_a_problem(response)}
        super().__init__(f"{response.status_code}: {self.body.get('detail', self.body)}")

    @property
    def errors(self) -> list[dict]:
        return list(self.body.get("errors") or [])


class BatchFailed(ApiError):
    """A batch the API refused (or kept failing): its kind and number, with the API's answer."""

    def __init__(self, error: ApiError, kind: str, number: int) -> None:
        Exception.__init__(self, f"{batch_id(kind, number)}: {error}")
        self.status_code, self.body, self.kind, self.number = error.status_code, error.body, kind, number


def batch_id(kind: str, number: int) -> str:
    """Batch ids are deterministic, so an upload resumed for the same dataset sends only what is missing."""
    return f"{kind}-{number:07d}"


def batch_count(rows: int) -> int:
    return max(-(-rows // BATCH_SIZE), 1)


class CreditGateClient:
    """`retry_seconds`: how long a request keeps being retried after its first transient failure
    (connection errors, 429 after its Retry-After, 5xx for idempotent requests); `retries` caps the
    number of retries too (None: as many as the time allows); `on_retry` hears of each wait."""

    def __init__(self, base_url: str, token: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 60.0, retries: int | None = 8, retry_seconds: float = 60.0,
                 on_retry: Callable[[RetryNotice], None] | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)
        self.retries = retries
        self.retry = RetryPolicy(total_seconds=retry_seconds, max_retries=retries, on_retry=on_retry)
        if token:
            self.use_token(token)

    async def __aenter__(self) -> CreditGateClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"

    async def request(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                      params: dict | None = None, headers: dict | None = None, retry: bool | None = None) -> Any:
        """The decoded JSON answer (None if empty); ApiError for 400 or more. `retry`: True for a
        request that is idempotent whatever its method, False never; by default GET, PUT and DELETE
        retry every transient failure, other methods only a connection never made or a 429."""
        response = await self.send(method, path, json=json, content=content, params=params, headers=headers,
                                   retry=retry)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(response) from None

    async def send(self, method: str, path: str, *, json: Any = None, content: bytes | None = None,
                   params: dict | None = None, headers: dict | None = None, retry: bool | None = None
                   ) -> httpx.Response:
        """`request` without decoding: the response of 2xx/3xx after retries, else ApiError."""
        headers = dict(headers or {})
        if json is not None:
            content, headers["content-type"] = orjson.dumps(json), "application/json"
        loop, policy = asyncio.get_running_loop(), self.retry
        deadline, attempt = None, 0
        while True:
            failure: httpx.Response | Exception
            try:
                response = await self.http.request(method, path, content=content, params=params, headers=headers)
            except httpx.TransportError as exc:
                failure = exc
            else:
                if response.status_code < 400:
                    return response
                failure = response
            if deadline is None:
                deadline = loop.time() + policy.total_seconds
            delay, remaining = policy.delay(attempt, failure), deadline - loop.time()
            attempt += 1
            if not policy.may_retry(method, retry, failure) or _out_of_budget(policy, attempt, delay, remaining,
                                                                              failure):
                if isinstance(failure, httpx.Response):
                    raise ApiError(failure)
                raise failure
            delay = min(delay, remaining)
            if policy.on_retry:
                policy.on_retry(RetryNotice(method, path, describe(failure), delay, remaining))
            await asyncio.sleep(delay)

    # companies -------------------------------------------------------------------------------
    async def register(self, name: str, email: str, registration_key: str | None = None) -> dict:
        headers = {"X-Registration-Key": registration_key} if registration_key else None
        body = await self.request("POST", "/v1/companies", json={"name": name, "email": email}, headers=headers)
        self.use_token(body["access_token"]["token"])
        return body

    async def me(self) -> dict:
        return await self.request("GET", "/v1/companies/me")

    # datasets --------------------------------------------------------------------------------
    async def create_dataset(self, name: str | None = None, purpose: str = "training") -> dict:
        return await self.request("POST", "/v1/datasets", json={"name": name, "purpose": purpose})

    async def datasets(self, limit: int = 50, cursor: str | None = None) -> dict:
        """One page of the company's datasets (`items`, `next_cursor`), newest first."""
        return await self.request("GET", "/v1/datasets", params=_params(limit=limit, cursor=cursor))

    async def dataset(self, dataset_id: str) -> dict:
        return await self.request("GET", f"/v1/datasets/{dataset_id}")

    async def delete_dataset(self, dataset_id: str, keep_versions: bool = False) -> None:
        params = {"keep_versions": "true"} if keep_versions else None
        await self.request("DELETE", f"/v1/datasets/{dataset_id}", params=params)

    async def batches(self, dataset_id: str) -> list[dict]:
        """Every batch receipt of the dataset so far (all pages)."""
        return await self.pages(f"/v1/datasets/{dataset_id}/batches")

    async def upload_batch(self, dataset_id: str, kind: str, batch_id: str, items: list[dict],
                           final: bool = False) -> dict:
        body = {"batch_id": batch_id, "items": items, "final": final}
        return await self.request("POST", f"/v1/datasets/{dataset_id}/{KIND_PATHS[kind]}", json=body, retry=True)

    async def upload_file(self, dataset_id: str, kind: str, path: str | Path, final: bool = True, *,
                          timeout: float | None = None) -> dict:
        """Send one kind as a CSV or Parquet file (by its suffix), streamed from disk. The receipt's
        batch_id is the file's digest, so a retry after a lost answer stores nothing twice; it is
        retried like a batch on transport errors and 5xx."""
        path = Path(path)
        media = FILE_TYPES.get(path.suffix.lower())
        if media is None:
            raise ValueError(f"{path.name}: send a .csv or .parquet file")
        headers = {"content-type": media, "content-length": str(path.stat().st_size)}
        url = f"/v1/datasets/{dataset_id}/{KIND_PATHS[kind]}/files"
        loop, policy = asyncio.get_running_loop(), self.retry
        deadline, attempt = loop.time() + policy.total_seconds, 0
        while True:  # the body is a stream: each attempt reads the file again
            failure: httpx.Response | Exception
            try:
                response = await self.http.post(url, content=_file_chunks(path), headers=headers,
                                                params={"final": "true" if final else "false"},
                                                timeout=httpx.Timeout(timeout, connect=10.0))
            except httpx.TransportError as exc:
                failure = exc
            else:
                if response.status_code < 400:
                    break
                failure = response
            delay, remaining = policy.delay(attempt, failure), deadline - loop.time()
            attempt += 1
            if not policy.may_retry("POST", True, failure) or _out_of_budget(policy, attempt, delay, remaining,
                                                                              failure):
                if isinstance(failure, httpx.Response):
                    raise ApiError(failure)
                raise failure
            await asyncio.sleep(min(delay, remaining))
        return response.json()

    async def upload_frames(self, dataset_id: str, frames: dict[str, pl.DataFrame], *, concurrency: int = 4,
                            progress: Progress | None = None, skip: Collection[str] = ()) -> dict[str, int]:
        """Send every kind in 500-item batches, several in flight; the last batch of each kind is
        sent alone after the others succeeded, marked final. Batch ids are deterministic
        (`batch_id`), so a rerun for the same dataset never stores anything twice, and the ids in
        `skip` (receipts the dataset already has) are not sent again. A batch that fails raises
        BatchFailed (its kind and number) and stops the others."""
        gate = asyncio.Semaphore(concurrency)

        async def send(kind: str, frame: pl.DataFrame, number: int, final: bool) -> None:
            async with gate:
                count, body = _items_json(frame, number)
                try:
                    await self._upload_raw(dataset_id, kind, batch_id(kind, number), body, final)
                except ApiError as exc:
                    raise BatchFailed(exc, kind, number) from None
            if progress:
                progress(kind, count)

        async def send_kind(kind: str, frame: pl.DataFrame) -> None:
            last = batch_count(frame.height) - 1
            async with asyncio.TaskGroup() as group:
                for number in range(last):
                    if batch_id(kind, number) not in skip:
                        group.create_task(send(kind, frame, number, False))
            if batch_id(kind, last) not in skip:
                await send(kind, frame, last, True)

        try:
            async with asyncio.TaskGroup() as group:
                for kind in KINDS:
                    group.create_task(send_kind(kind, frames[kind]))
        except BaseExceptionGroup as failed:
            raise _first(failed) from None
        return {kind: frames[kind].height for kind in KINDS}

    async def _upload_raw(self, dataset_id: str, kind: str, batch_id: str, items_json: bytes, final: bool) -> dict:
        """`upload_batch` with the items already a JSON array (as Polars writes them)."""
        body = b'{"batch_id":%s,"final":%s,"items":%s}' % (orjson.dumps(batch_id), b"true" if final else b"false",
                                                         items_json)
        return await self.request("POST", f"/v1/datasets/{dataset_id}/{KIND_PATHS[kind]}", content=body,
                                  headers={"content-type": "application/json"}, retry=True)

    async def wait_for_dataset(self, dataset_id: str, until: Sequence[str], timeout: float = 300.0,
                               interval: float = 0.25) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = await self.dataset(dataset_id)
            if body["status"] in until or asyncio.get_running_loop().time() > deadline:
                return body
            await asyncio.sleep(interval)

    async def train(self, dataset_id: str) -> dict:
        return await self.request("POST", f"/v1/datasets/{dataset_id}/train")

    async def pages(self, path: str, params: dict | None = None, limit: int = 500) -> list[dict]:
        """Every item of a paged list (`limit`, `cursor`, `next_cursor`), newest first."""
        items, query = [], dict(params or {}) | {"limit": limit}
        while True:
            page = await self.request("GET", path, params=query)
            items += page["items"]
            if page["next_cursor"] is None:
                return items
            query["cursor"] = page["next_cursor"]

    # models ----------------------------------------------------------------------------------
    async def training_jobs(self) -> list[dict]:
        return await self.pages("/v1/training-jobs")

    async def models(self) -> list[dict]:
        return await self.pages("/v1/models")

    async def model(self, version: int) -> dict:
        return await self.request("GET", f"/v1/models/{version}")

    async def activate(self, version: int) -> dict:
        return await self.request("POST", f"/v1/models/{version}/activate")

    async def model_report(self, version: int) -> bytes:
        """The model's report page (HTML), as the API sends it."""
        response = await self.send("GET", f"/v1/models/{version}/report", headers={"Accept": "text/html"})
        return response.content

    async def compare(self, *versions: int) -> dict:
        return await self.request("GET", "/v1/models/compare", params={"versions": ",".join(map(str, versions))})

    async def evaluate(self, version: int, dataset_id: str, *, wait: bool = True, timeout: float = 600.0) -> dict:
        """Queue an evaluation; with `wait`, poll it until it succeeded or failed."""
        evaluation = await self.request("POST", f"/v1/models/{version}/evaluations", json={"dataset_id": dataset_id})
        deadline = asyncio.get_running_loop().time() + timeout
        while wait and evaluation["status"] in ("queued", "running"):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.25)
            evaluation = await self.request("GET", f"/v1/models/{version}/evaluations/{evaluation['id']}")
        return evaluation

    # decisions -------------------------------------------------------------------------------
    async def decide(self, order: dict, *, model_version: int | None = None, context: dict | None = None,
                     language: str | None = None) -> dict:
        body: dict[str, Any] = {"order": order}
        if model_version is not None:
            body["model_version"] = model_version
        if context:
            body["context"] = context
        headers = {"Accept-Language": language} if language else None
        return await self.request("POST", "/v1/decisions", json=body, headers=headers)

    async def decide_batch(self, requests: list[dict], language: str | None = None) -> dict:
        headers = {"Accept-Language": language} if language else None
        return await self.request("POST", "/v1/decisions/batch", json={"orders": requests}, headers=headers)

    async def decisions(self, *, customer_id: str | None = None, decision: str | None = None,
                        since: str | None = None, until: str | None = None, limit: int = 50,
                        cursor: str | None = None) -> dict:
        """One page of stored decisions (`items`, `next_cursor`), newest first, filtered."""
        params = _params(customer_id=customer_id, decision=decision, since=since, until=until, limit=limit,
                         cursor=cursor)
        return await self.request("GET", "/v1/decisions", params=params)

    async def audit_events(self, **params: Any) -> dict:
        return await self.request("GET", "/v1/audit-events", params=params)


def _out_of_budget(policy: RetryPolicy, attempt: int, delay: float, remaining: float,
                   failure: httpx.Response | Exception) -> bool:
    """No time or retries left (`attempt` failures so far); a Retry-After beyond the budget ends the
    retries at once (retrying sooner would be refused again)."""
    if remaining <= 0 or (policy.max_retries is not None and attempt > policy.max_retries):
        return True
    return delay > remaining and isinstance(failure, httpx.Response) and "retry-after" in failure.headers


def _not_a_problem(response: httpx.Response) -> str:
    """An answer that is not a problem+json (a proxy's page, another server): what it is, briefly."""
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    text = " ".join(response.text.split())
    return f"{response.request.url} answered {kind}, not the API's JSON: {text[:120]}{'...' if len(text) > 120 else ''}"


def _first(group: BaseExceptionGroup) -> BaseException:
    """The first failure of (nested) task groups, which is what stopped the others."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _items(frame: pl.DataFrame, number: int) -> list[dict]:
    return [_clean(row) for row in frame.slice(number * BATCH_SIZE, BATCH_SIZE).to_dicts()]


def _items_json(frame: pl.DataFrame, number: int) -> tuple[int, bytes]:
    """A batch's item count and its JSON array, written by Polars (a null is an absent value to
    the API), ~10x faster than rows as dicts through orjson."""
    part = frame.slice(number * BATCH_SIZE, BATCH_SIZE)
    return part.height, part.write_json().encode()


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:  # noqa: ASYNC230 (1 MiB reads from the page cache)
        while chunk := await asyncio.to_thread(handle.read, FILE_CHUNK):
            yield chunk


def _clean(row: dict) -> dict:
    """Drop nulls of optional fields (e.g. a missing score) so the API sees them as absent."""
    return {k: v for k, v in row.items() if v is not None}
