"""Decision ids are RFC 4122 version-5 UUIDs of the request's key."""

from __future__ import annotations

import uuid

from app.services.idempotency import NAMESPACE, uuid5


def test_decision_ids_are_the_standard_uuid5_of_their_key():
    names = ["", "a", "é|PED-1|" + "f" * 64, "x" * 1000] + [f"company|PED-{n}|digest|model|None|{n % 7}"
                                                           for n in range(2000)]
    for name in names:
        assert uuid5(name) == str(uuid.uuid5(NAMESPACE, name)), name
