import numpy as np
import polars as pl
import pytest

from app.ml.errors import EvaluationError, TrainingError
from app.ml.features import FEATURE_NAMES
from app.ml.training import TrainConfig, TrainingResult, evaluate, split_by_time, train


def test_known_signal_is_learned(trained: TrainingResult) -> None:
    assert trained.metrics["roc_auc"] > 0.75
    assert trained.metrics["support"]["total"] == trained.counts["holdout_rows"]
    assert 0.0 < trained.threshold < 1.0
    assert trained.metrics["threshold"] == trained.threshold


def test_shuffled_labels_learn_nothing(features: pl.DataFrame) -> None:
    rng = np.random.default_rng(11)
    shuffled = features.with_columns(
        pl.Series("label", rng.permutation(features["label"].to_numpy()), dtype=pl.Int8)
    )
    assert train(shuffled).metrics["roc_auc"] < 0.65


def test_training_is_deterministic(features: pl.DataFrame, trained: TrainingResult) -> None:
    again = train(features, TrainConfig())
    assert again.metrics == trained.metrics
    assert again.booster_ubjson == trained.booster_ubjson
    assert again.threshold == trained.threshold
    assert again.feature_importance == trained.feature_importance


def test_result_records_what_a_model_version_needs(
    trained: TrainingResult, config: TrainConfig
) -> None:
    assert trained.feature_names == list(FEATURE_NAMES)
    assert trained.params == config.to_params()
    assert trained.params["objective"] == "binary:logistic"
    assert trained.params["eval_metric"] == ["logloss", "auc"]
    assert 0 <= trained.best_iteration < config.num_boost_round
    assert trained.model().booster.num_boosted_rounds() == trained.best_iteration + 1
    assert sum(trained.feature_importance.values()) == pytest.approx(1.0)
    assert set(trained.feature_importance) == set(FEATURE_NAMES)
    assert set(trained.timings) == {"fit_s", "evaluate_s"}
    counts = trained.counts
    assert counts["train_rows"] + counts["validation_rows"] + counts["holdout_rows"] == 4000
    assert counts["holdout_rows"] == 800 and counts["validation_rows"] == 480
    assert all(counts[f"{part}_blocked"] > 0 for part in ("train", "validation", "holdout"))


def test_split_is_by_time(features: pl.DataFrame) -> None:
    split = split_by_time(features.sample(fraction=1.0, shuffle=True, seed=5))
    assert split.train["ordered_at"].max() <= split.validation["ordered_at"].min()
    assert split.validation["ordered_at"].max() <= split.holdout["ordered_at"].min()


def test_unlabelled_rows_are_left_out(features: pl.DataFrame) -> None:
    every_tenth = pl.int_range(pl.len()) % 10 == 0
    with_pending = features.with_columns(
        pl.when(every_tenth).then(None).otherwise(pl.col("label")).alias("label")
    )
    split = split_by_time(with_pending)
    assert sum(part.height for part in split.parts().values()) == 3600


def test_evaluate_matches_the_holdout_metrics(
    features: pl.DataFrame, trained: TrainingResult
) -> None:
    holdout = split_by_time(features).holdout
    assert evaluate(trained.model(), holdout, trained.calibrator()) == trained.metrics


def test_too_few_rows_is_a_training_error(features: pl.DataFrame) -> None:
    with pytest.raises(TrainingError, match="too few"):
        train(features.head(60))


def test_a_split_without_both_classes_is_a_training_error(features: pl.DataFrame) -> None:
    late = pl.col("ordered_at") >= features["ordered_at"].quantile(0.8)
    all_billed_holdout = features.with_columns(
        pl.when(late).then(pl.lit(0, pl.Int8)).otherwise(pl.col("label")).alias("label")
    )
    with pytest.raises(TrainingError, match="holdout split needs both"):
        train(all_billed_holdout)
    with pytest.raises(TrainingError):
        train(features.with_columns(pl.lit(0, pl.Int8).alias("label")))


def test_evaluate_needs_labels(trained: TrainingResult, features: pl.DataFrame) -> None:
    unlabelled = features.head(5).with_columns(pl.lit(None, pl.Int8).alias("label"))
    with pytest.raises(EvaluationError):
        evaluate(trained.model(), unlabelled)


def test_config_fractions_are_checked() -> None:
    with pytest.raises(TrainingError):
        TrainConfig(holdout_fraction=1.0)
