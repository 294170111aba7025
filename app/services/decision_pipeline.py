"""The stages of a decision, each a small typed function over one group of orders:

    features -> score -> policy -> result -> record

- features: the live kernel over the customer's cached snapshot (= `build_features`' row);
- score: the model's `Scorer` port gives the booster's block probabilities and exact TreeSHAP
  contributions, unchanged; then `calibrate` applies the version's calibration to the probabilities;
- policy: turns calibrated probabilities into verdicts (`Policy` port; today the model's own threshold);
- result: the response, with the reasons in words, each compared with the version's reference;
- record: what the decision log writes (decision rows and the request's audit event).

`DecisionEngine` (app/services/decisions.py) runs them; a new stage (a policy with rules, a
shadow model in `record`) replaces or adds one function without touching the others.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import orjson

from app.domain.principal import Principal
from app.errors import InvalidInput
from app.ml.explain import explain_rows, missing_features, rounded
from app.ml.live import CustomerSnapshot, is_empty, live_features
from app.ml.model import BILL, BLOCK
from app.schemas.decisions import DecisionRequest
from app.services import audit
from app.services.customer_data import with_context
from app.services.decision_log import LogRecord
from app.services.scoring import LoadedModel

FeatureRow = dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Scores:
    """A group's calibrated block probabilities, their contributions (log-odds of the booster's
    own probability `raw`) and that raw probability, rows aligned with the group."""

    probability: np.ndarray
    contributions: np.ndarray
    raw: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: str
    threshold: float
    decided_by: str = "model"
    rules: tuple = ()
    """The policy's rules that matched the order (app/ml/policy.py CompiledRule), in order."""
    policy_version: int | None = None


class Policy(Protocol):
    def apply(self, model: LoadedModel, rows: Sequence[FeatureRow], scores: Scores) -> list[Verdict]: ...


class ModelThreshold:
    """Block when the calibrated probability reaches the model's threshold (chosen at training,
    on the calibrated scale): a company without an active credit policy."""

    def apply(self, model: LoadedModel, rows: Sequence[FeatureRow], scores: Scores) -> list[Verdict]:
        threshold = model.threshold
        block, bill = Verdict(BLOCK, threshold), Verdict(BILL, threshold)
        return [block if p >= threshold else bill for p in scores.probability.tolist()]


MODEL_THRESHOLD = ModelThreshold()


def features(index: int, request: DecisionRequest, stored: CustomerSnapshot, now: datetime) -> FeatureRow:
    """Stage 1: the order's point-in-time features from the stored snapshot and any context."""
    order = request.order
    ordered_at = order.ordered_at or now
    data = with_context(stored, request.context, ordered_at.date())
    if is_empty(data):
        raise InvalidInput(
            f"No data for customer {order.customer_id}: upload its history in a dataset, or send "
            "context.customer, context.credit_limit and context.serasa_report with the order.",
            errors=[{"index": index, "field": "order.customer_id",
                     "message": "no stored customer, credit limit, Serasa report or order history"}],
        )
    return live_features(data, ordered_at=ordered_at, amount=order.amount, payment_terms_days=order.payment_terms_days)


def score(model: LoadedModel, rows: Sequence[FeatureRow]) -> Scores:
    """Stage 2: one vectorised scoring of the group's rows, then their calibration. A big batch
    is scored in halves on two threads: TreeSHAP's NumPy gathers release the GIL (500 rows: ~26
    instead of ~42 ms here while the other core is free)."""
    names = model.scorer.feature_names
    X = np.array([[np.nan if row[n] is None else row[n] for n in names] for row in rows], dtype=np.float32)
    if len(X) >= SPLIT_ROWS:
        half = len(X) // 2
        first = _scoring_threads().submit(model.scorer.score, X[:half])
        raw_b, contributions_b = model.scorer.score(X[half:])
        raw_a, contributions_a = first.result()
        raw, contributions = np.concatenate([raw_a, raw_b]), np.concatenate([contributions_a, contributions_b])
    else:
        raw, contributions = model.scorer.score(X)
    return Scores(calibrate(model, raw), contributions, raw)


SPLIT_ROWS = 128


@functools.cache
def _scoring_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")


def calibrate(model: LoadedModel, raw: np.ndarray) -> np.ndarray:
    """The version's calibration of the booster's probabilities (a separate step: the Scorer's
    probabilities stay XGBoost's own, bit for bit)."""
    return model.calibration(raw)


Result = dict[str, Any]
"""A decision as the API answers it: `DecisionRead`'s fields in its order, as JSON values, so that
`to_json` writes the very bytes pydantic would (tests/services/test_decision_pipeline.py checks)
without building ~7 pydantic objects per order; the decision log stores its parts as they are."""


def results(requests: Sequence[DecisionRequest], rows: Sequence[FeatureRow], model: LoadedModel, scores: Scores,
            verdicts: Sequence[Verdict], lang: str, now: datetime, *, decision_ids: Sequence[str],
            supersedes: Sequence[str | None]) -> list[Result]:
    """Stage 4: the responses of one model's group of orders, each with the reasons that pushed
    towards its verdict (a deciding rule's label first). Pushes, totals, orders, contributions and
    shares of the reasons, bias, margins and every rounding come from whole-group NumPy
    operations; only the sentences and the answers' dicts are per order."""
    probabilities = scores.probability.tolist()
    towards = [_towards(verdict, p) for verdict, p in zip(verdicts, probabilities, strict=True)]
    why = explain_rows(rows, scores.contributions, model.scorer.feature_names, towards, lang,
                       reference=model.reference)
    # every order's reasons as the answer writes them, then each order's slice
    reasons = [{"feature": f, "value": v, "contribution": c, "share": s, "direction": d, "percentile": p, "text": t}
               for f, v, c, s, d, p, t in zip(why.features, why.values, rounded(why.contributions, 6), why.shares,
                                              why.directions, why.percentiles, why.texts, strict=True)]
    starts = [0, *why.ends]
    bases, margins = scores.contributions[:, -1], scores.contributions.sum(axis=1)
    contributions = why.contributions.tolist()
    # margin - base - the shown contributions, summed by Python's sum() as before (not NumPy's)
    others = [margin - base - sum(contributions[start:end]) for margin, base, start, end
              in zip(margins.tolist(), bases.tolist(), starts, why.ends, strict=False)]
    numbers = list(zip(rounded(scores.probability, 6), rounded(bases, 6), rounded(margins, 6),
                       rounded(np.array(others), 6), strict=True))
    created_at = now.replace(tzinfo=UTC)
    return [_answer(request, rows[k], model, verdicts[k], numbers[k], reasons[starts[k]:why.ends[k]], lang, created_at,
                    decision_ids[k], supersedes[k]) for k, request in enumerate(requests)]


def _answer(request: DecisionRequest, row: FeatureRow, model: LoadedModel, verdict: Verdict,
            numbers: tuple[float, float, float, float], shown: list[dict[str, Any]], lang: str, created_at: datetime,
            decision_id: str, supersedes: str | None) -> Result:
    """One response; `numbers`: its probability, base value, margin and other contributions, each
    rounded to 6 decimals; `shown`: its reasons' dicts (a list of its own)."""
    probability, base, margin, other = numbers
    hits = [{"id": rule.id, "label": rule.label[lang], "action": rule.action} for rule in verdict.rules]
    if verdict.decided_by == "rule":
        shown.insert(0, {"feature": f"rule:{hits[0]['id']}", "value": None, "contribution": 0.0, "share": None,
                         "direction": None, "percentile": None, "text": hits[0]["label"]})
    return {
        "decision_id": decision_id, "order_id": request.order.order_id, "customer_id": request.order.customer_id,
        "decision": verdict.decision, "probability_block": probability, "threshold": float(verdict.threshold),
        "model_version": model.version, "base_value": base, "margin": margin, "other_contributions": other,
        "reasons": shown, "missing_features": missing_features(row), "created_at": created_at,
        "decided_by": verdict.decided_by, "rules": hits, "policy_version": verdict.policy_version,
        "supersedes": supersedes,
    }


def to_json(result: Result) -> bytes:
    """A decision as the API answers it: compact JSON, byte for byte `DecisionRead`'s."""
    return orjson.dumps(result, option=orjson.OPT_UTC_Z)


def _towards(verdict: Verdict, probability: float) -> str:
    """Which way the shown reasons pushed: the verdict's, or for a review where the model leaned."""
    if verdict.decision in (BILL, BLOCK):
        return verdict.decision
    return BLOCK if probability >= verdict.threshold else BILL


def record(principal: Principal, requests: Sequence[DecisionRequest], rows: Sequence[FeatureRow],
           results: Sequence[Result], models: Sequence[LoadedModel],
           digests: Sequence[str | None] | None = None, dumped: Sequence[dict] | None = None) -> list[LogRecord]:
    """Stage 5: the stored decisions, and one audit event for the request (`dumped`: the
    requests as JSON values, when the caller has them already)."""
    digests = digests or [None] * len(requests)
    dumped = dumped or [r.model_dump(mode="json", exclude_none=True) for r in requests]
    records = [LogRecord(_decision_values(principal, *parts))
               for parts in zip(dumped, rows, results, models, digests, strict=True)]
    records[0].audit = _audit_values(principal, results)
    return records


def _decision_values(principal: Principal, request: dict, row: FeatureRow, result: Result,
                     model: LoadedModel, digest: str | None) -> dict:
    return {
        "id": result["decision_id"], "company_id": principal.company.id, "model_id": model.model_id,
        "model_version": model.version, "customer_id": result["customer_id"], "order_id": result["order_id"],
        "decision": result["decision"], "probability_block": result["probability_block"],
        "threshold": result["threshold"], "request": request,
        "features": dict(row),  # `live_features`' row: every FEATURE_NAMES key, in order
        "reasons": {"reasons": result["reasons"], "missing_features": result["missing_features"],
                    "base_value": result["base_value"], "margin": result["margin"],
                    "other_contributions": result["other_contributions"], "rules": result["rules"]},
        "created_at": result["created_at"], "decided_by": result["decided_by"],
        "policy_version": result["policy_version"], "supersedes": result["supersedes"], "request_digest": digest,
    }


def _audit_values(principal: Principal, results: Sequence[Result]) -> dict:
    """One event per request: the decision, or the batch with its counts."""
    first = results[0]
    if len(results) == 1:
        summary = {key: first[key] for key in ("order_id", "customer_id", "decision", "model_version")}
        action = "decision.made"
    else:
        summary = {"count": len(results), "blocked": sum(r["decision"] == BLOCK for r in results),
                   "first_decision_id": first["decision_id"]}
        action = "decision.batch"
    return audit.event_values(company_id=principal.company.id, action=action, subject_type="decision",
                              subject_id=first["decision_id"], summary=summary, actor=principal.jti)
