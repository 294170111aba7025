"""The decision pipeline's score, policy and result stages over a real trained model: calibration is
a separate step after the Scorer, the threshold compares the calibrated probability, and the
response's numbers add up."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from app.db.model_versions import ModelVersion
from app.ml import calibration as calibrations
from app.ml.calibration import Platt
from app.ml.explain import reasons
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.policy import CompiledRule
from app.ml.training import TrainingResult, train
from app.schemas.decisions import DecisionRead, DecisionRequest
from app.services import decision_pipeline as stage
from app.services.scoring import LoadedModel, load_model
from tests.ml.synthetic import make_dataset

NOW = datetime(2025, 1, 2, 12, 0)


@pytest.fixture(scope="module")
def trained() -> tuple[TrainingResult, list[dict]]:
    data = make_dataset(n_orders=3000, n_customers=200, seed=3)
    features = build_features(data.orders, data.history())
    rows = [features.row(i, named=True) for i in range(features.height - 60, features.height)]
    return train(features), [{name: row[name] for name in FEATURE_NAMES} for row in rows]


def _version(result: TrainingResult, **overrides) -> ModelVersion:
    values = dict(id="m1", version=3, booster=result.booster_ubjson, feature_names={"names": result.feature_names},
                  threshold=result.threshold, calibration=result.calibration, reference=result.reference)
    return ModelVersion(**(values | overrides))


def _request(n: int = 0) -> DecisionRequest:
    return DecisionRequest.model_validate({"order": {"order_id": f"O{n}", "customer_id": "C1", "amount": 100.0,
                                                     "payment_terms_days": 28}})


def test_scores_are_the_scorers_own_then_calibrated(trained) -> None:
    result, rows = trained
    model = load_model(_version(result))
    scores = stage.score(model, rows)
    X = feature_matrix_of(rows)
    raw, contributions = model.scorer.score(X)
    assert scores.raw.tobytes() == raw.tobytes()  # bit for bit the Scorer's (XGBoost's) probability
    assert scores.contributions.tobytes() == contributions.tobytes()
    assert scores.probability.tobytes() == result.calibrator()(raw).tobytes()
    assert (stage.calibrate(model, raw) == scores.probability).all()


def feature_matrix_of(rows: list[dict]) -> np.ndarray:
    return feature_matrix(pl.DataFrame(rows, schema={name: pl.Float64 for name in FEATURE_NAMES}))


def test_the_threshold_compares_the_calibrated_probability(trained) -> None:
    result, rows = trained
    plain = load_model(_version(result, calibration=None))
    raw = stage.score(plain, rows[:1]).raw[0]
    # a calibration that lifts every probability: the same raw score now reaches the threshold
    lifted = load_model(_version(result, calibration=Platt(1.0, 5.0).to_json(), threshold=float(raw) + 0.01))
    scores = stage.score(lifted, rows[:1])
    assert scores.raw[0] == raw and scores.probability[0] > raw + 0.01
    assert stage.ModelThreshold().apply(lifted, rows[:1], scores)[0].decision == "block"
    lowered = load_model(_version(result, calibration=Platt(1.0, -5.0).to_json(), threshold=float(raw) - 0.01))
    assert stage.ModelThreshold().apply(lowered, rows[:1], stage.score(lowered, rows[:1]))[0].decision == "bill"


def _results(model, rows, lang: str = "en", verdicts=None, supersedes=None) -> list[dict]:
    scores = stage.score(model, rows)
    verdicts = verdicts or stage.ModelThreshold().apply(model, rows, scores)
    return stage.results([_request(k) for k in range(len(rows))], rows, model, scores, verdicts, lang, NOW,
                         decision_ids=[f"d{k}" for k in range(len(rows))], supersedes=supersedes or [None] * len(rows))


def test_the_result_adds_up(trained) -> None:
    result, rows = trained
    model = load_model(_version(result))
    scores = stage.score(model, rows)
    for k, read in enumerate(_results(model, rows)):
        read = DecisionRead.model_validate(read)
        contributions = scores.contributions[k]
        assert read.probability_block == round(float(scores.probability[k]), 6)
        assert read.base_value == pytest.approx(contributions[-1], abs=1e-6)
        assert read.margin == pytest.approx(contributions.sum(), abs=1e-6)
        total = read.base_value + sum(r.contribution for r in read.reasons) + read.other_contributions
        assert total == pytest.approx(read.margin, abs=1e-5)
        sign = 1 if read.decision == "block" else -1
        pushes = sign * contributions[:-1]
        for reason in read.reasons:
            assert reason.direction == read.decision and sign * reason.contribution > 0
            i = FEATURE_NAMES.index(reason.feature)
            assert reason.share == pytest.approx(100 * pushes[i] / pushes[pushes > 0].sum(), abs=0.06)
        assert all(r.percentile is not None or r.value is None for r in read.reasons)


def test_the_batch_reasons_are_each_rows_own(trained) -> None:
    """One NumPy pass over the group gives every row the reasons `reasons()` gives it alone."""
    result, rows = trained
    model = load_model(_version(result))
    scores = stage.score(model, rows)
    for lang in ("en", "pt-BR"):
        for k, read in enumerate(_results(model, rows, lang)):
            alone = reasons(rows[k], scores.contributions[k], model.scorer.feature_names, read["decision"], lang,
                            reference=model.reference)
            assert [(r["feature"], r["text"], r["share"]) for r in read["reasons"]] == [
                (r.feature, r.text, r.share) for r in alone]


def test_every_number_of_the_answer_is_pythons_round(trained) -> None:
    """The group's roundings are NumPy passes (app/ml/explain.py `rounded`): each number is still
    round() of the very float it rounded before, bit for bit (repr: the sign of a zero too)."""
    result, rows = trained
    model = load_model(_version(result))
    scores = stage.score(model, rows)
    names = list(model.scorer.feature_names)
    margins = scores.contributions.sum(axis=1).tolist()
    answers = _results(model, rows)
    assert sum(len(a["reasons"]) for a in answers) >= 32  # rounded's NumPy path
    for k, answer in enumerate(answers):
        contributions = scores.contributions[k].tolist()
        shown = [contributions[names.index(r["feature"])] for r in answer["reasons"]]
        base, margin = contributions[-1], margins[k]
        expected = [round(float(scores.probability[k]), 6), round(base, 6), round(margin, 6),
                    round(margin - base - sum(shown), 6), *(round(c, 6) for c in shown)]
        got = [answer[key] for key in ("probability_block", "base_value", "margin", "other_contributions")]
        assert repr(got + [r["contribution"] for r in answer["reasons"]]) == repr(expected)


def test_the_answer_is_decision_reads_own_json(trained) -> None:
    """The result is built as plain JSON values and written by orjson: byte for byte what pydantic
    writes for `DecisionRead` - with reasons, rule hits, a review, a superseded decision and nulls."""
    result, rows = trained
    model = load_model(_version(result))
    rule = CompiledRule(id="over-limit", action="review", label={"en": "Over the limit", "pt-BR": "Acima do limite"},
                        matches=lambda values: values)
    verdicts = [stage.Verdict("review", 0.25, "rule", (rule,), 4) if k % 3 == 0 else
                stage.Verdict("bill" if k % 3 == 1 else "block", 0.5, policy_version=4) for k in range(len(rows))]
    for lang in ("en", "pt-BR"):
        answers = _results(model, rows, lang, verdicts, supersedes=[f"s{k}" if k % 2 else None
                                                                    for k in range(len(rows))])
        for answer in answers:
            written = stage.to_json(answer)
            assert written == DecisionRead.model_validate(answer).model_dump_json().encode()
            assert written == DecisionRead.model_validate_json(written).model_dump_json().encode()
        assert answers[0]["reasons"][0]["feature"] == "rule:over-limit" and answers[0]["decided_by"] == "rule"
        assert {a["decision"] for a in answers} == {"bill", "block", "review"}


def test_a_version_stored_before_calibration_scores_raw_and_compares_nothing(trained) -> None:
    result, rows = trained
    model = load_model(_version(result, calibration=None, reference=None))
    assert model.calibration is calibrations.IDENTITY and model.reference is None
    scores = stage.score(model, rows[:5])
    assert (scores.probability == scores.raw).all()
    read = _results(model, rows[:1], "pt-BR")[0]
    assert read["reasons"] and all(r["percentile"] is None and " - " not in r["text"] for r in read["reasons"])


def test_loaded_model_carries_calibration_and_reference(trained) -> None:
    result, _ = trained
    model = load_model(_version(result))
    assert isinstance(model, LoadedModel)
    assert model.calibration.to_json() == result.calibration
    assert set(model.reference.features) == set(FEATURE_NAMES)
    assert model.threshold == result.threshold


def test_a_big_batch_scored_on_two_threads_equals_row_by_row(trained) -> None:
    result, rows = trained
    model = load_model(_version(result))
    many = (rows * 5)[: stage.SPLIT_ROWS + 45]  # split in halves on two threads
    scores = stage.score(model, many)
    for k in (0, stage.SPLIT_ROWS // 2 + 7, len(many) - 1):
        one = stage.score(model, [many[k]])
        assert scores.raw[k] == one.raw[0] and scores.probability[k] == one.probability[0]
        assert np.allclose(scores.contributions[k], one.contributions[0], rtol=0, atol=1e-6)
    assert scores.contributions.shape == (len(many), len(FEATURE_NAMES) + 1)
