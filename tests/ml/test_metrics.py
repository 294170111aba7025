import numpy as np
import pytest
from sklearn import metrics as skm

from app.ml.metrics import average_precision, best_f1_threshold, classification_metrics, roc_auc


def _sample(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.25).astype(int)
    proba = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return y, np.round(proba, 2)  # rounding creates many ties


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_equal_scikit_learn(seed: int) -> None:
    y, proba = _sample(seed=seed)
    threshold = 0.45
    pred = (proba >= threshold).astype(int)
    got = classification_metrics(y, proba, threshold)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert got["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, proba))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-9)
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, proba))
    assert got["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, pred).tolist()
    blocked = int(y.sum())
    assert got["support"] == {"billed": len(y) - blocked, "blocked": blocked, "total": len(y)}
    assert got["threshold"] == threshold


def test_log_loss_is_clipped_at_certain_wrong_answers() -> None:
    got = classification_metrics([1, 0], [0.0, 1.0], 0.5)
    assert np.isfinite(got["log_loss"])


def test_one_class_input_does_not_crash() -> None:
    only_billed = classification_metrics([0, 0, 0], [0.1, 0.7, 0.2], 0.5)
    assert only_billed["roc_auc"] is None and only_billed["pr_auc"] is None
    assert only_billed["precision"] == 0.0 and only_billed["recall"] == 0.0
    only_blocked = classification_metrics([1, 1], [0.9, 0.2], 0.5)
    assert only_blocked["roc_auc"] is None and only_blocked["pr_auc"] == pytest.approx(1.0)
    assert only_blocked["recall"] == 0.5


def test_auc_with_all_scores_tied_is_one_half() -> None:
    assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == 0.5
    assert average_precision([0, 1, 0, 1], [0.3] * 4) == pytest.approx(0.5)


def test_best_f1_threshold_maximises_f1_and_prefers_the_higher_threshold() -> None:
    y, proba = _sample(seed=4)
    best = best_f1_threshold(y, proba)
    f1 = {t: skm.f1_score(y, (proba >= t).astype(int)) for t in np.unique(proba)}
    top = max(f1.values())
    assert f1[best] == pytest.approx(top)
    assert best == max(t for t, v in f1.items() if v == pytest.approx(top))
    # thresholds 0.9 and 0.6 both give F1 = 2/3 here: the higher wins
    assert best_f1_threshold([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6]) == 0.9


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        classification_metrics([], [], 0.5)
    with pytest.raises(ValueError):
        classification_metrics([0, 2], [0.1, 0.2], 0.5)
