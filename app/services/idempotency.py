"""Idempotent decisions without a database read on the decision path.

An ERP retries: the same `order_id` with the same request must get the stored decision back, and
nothing be stored twice; the same `order_id` with another request is decided again, and the new
decision names the one it supersedes.

- Each process keeps its recent decisions per (company, order id) with the digest of their
  request: a repeat answers the stored response (200) at once; a changed request knows what it
  supersedes.
- A decision's id is derived from the company, the order, the request's digest, the model, the
  policy version and the company's data version: a repeat that reaches another replica is decided
  there by the same model on the same data and policy - the same result - under the same id, and
  the writer stores an id once (app/services/decision_log.py). That replica answers 201, with the
  same decision id and content. The writer also fills `supersedes` for decisions whose process
  did not know the order's previous one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from app.domain.principal import Principal
from app.services.scoring import LoadedModel

NAMESPACE = uuid.UUID("8d7f1c1e-5f0b-4a53-9c2e-6b4f2c1d9a70")
DEFAULT_CAPACITY = 50_000  # ~1.5 KB a decision: ~75 MB per process at most


@dataclass(frozen=True, slots=True)
class Recent:
    digest: str
    decision_id: str
    response: bytes
    """The decision as the API answered it (JSON)."""


def request_digest(request: dict[str, Any], lang: str) -> str:
    """SHA-256 of what was asked (the request as stored: the order, the version asked for, any
    context) and the language of the reasons."""
    return hashlib.sha256(orjson.dumps(request) + lang.encode()).hexdigest()


def decision_keys(principal: Principal, order_ids: list[str], digests: list[str], model: LoadedModel,
                  policy_version: int | None) -> list[str]:
    """The decision ids of orders decided by `model` under `policy_version`."""
    company = principal.company
    scope = f"|{model.model_id}|{policy_version}|{company.data_version}"
    return [uuid5(f"{company.id}|{order_id}|{digest}{scope}")
            for order_id, digest in zip(order_ids, digests, strict=True)]


def uuid5(name: str) -> str:
    """`str(uuid.uuid5(NAMESPACE, name))` without building a UUID object: a third of the cost
    (500 ids: ~1.4 -> ~0.5 ms)."""
    hashed = _NAMESPACE_SHA1.copy()
    hashed.update(name.encode())
    digest = bytearray(hashed.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


class RecentDecisions:
    """LRU of this process's decisions by (company, order id)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Recent] = OrderedDict()

    def get(self, company_id: str, order_id: str) -> Recent | None:
        return self._entries.get((company_id, order_id))

    def put(self, company_id: str, order_id: str, digest: str, decision_id: str, response: bytes) -> None:
        key = (company_id, order_id)
        self._entries[key] = Recent(digest, decision_id, response)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
