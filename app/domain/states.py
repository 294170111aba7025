"""The state machines of datasets and jobs, named once for every layer."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The four kinds of history a company uploads."""

    customers = "customers"
    credit_limits = "credit_limits"
    serasa_reports = "serasa_reports"
    orders = "orders"


class Purpose(StrEnum):
    training = "training"
    evaluation = "evaluation"


class DatasetStatus(StrEnum):
    """receiving -> validating -> valid | invalid; a valid training dataset -> training -> trained | failed;
    any -> deleted (its rows are gone; the row stays for the versions and evaluations that name it)."""

    receiving = "receiving"
    validating = "validating"
    valid = "valid"
    invalid = "invalid"
    training = "training"
    trained = "trained"
    failed = "failed"
    deleted = "deleted"

    @property
    def usable(self) -> bool:
        """Validated and found valid: its rows feed decisions, evaluations and new trainings
        (a training that failed or runs does not make the data less valid)."""
        return self in USABLE_DATASET_STATUSES


USABLE_DATASET_STATUSES = frozenset(
    {DatasetStatus.valid, DatasetStatus.training, DatasetStatus.trained, DatasetStatus.failed}
)


class JobStatus(StrEnum):
    """queued -> running -> succeeded | failed (a job left running by a crash runs again)."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed)


UNFINISHED_JOB_STATUSES = (JobStatus.queued, JobStatus.running)


class JobKind(StrEnum):
    """What a queued job does; each kind has its handler in the services."""

    training = "training"
    evaluation = "evaluation"


class BillingDecision(StrEnum):
    """What a decision says of an order: bill it, or block it for credit review (`review` may
    join them for companies whose policy asks an analyst)."""

    bill = "bill"
    block = "block"
    review = "review"


class OrderStatus(StrEnum):
    """An uploaded order's real outcome, the label a model learns (liberado / bloqueado)."""

    billed = "billed"
    blocked = "blocked"


class ModelStatus(StrEnum):
    """A stored model version; every version that exists can score (activation is separate)."""

    ready = "ready"
