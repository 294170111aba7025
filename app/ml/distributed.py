"""Training across a Dask cluster with `xgboost.dask`: the same features, split and model as
`app.ml.training.train`, for datasets one machine cannot hold while it trains.

Features are per customer (every block reads only the customer's own history), so the history is
cut into partitions of whole customers (a hash of `customer_id`) and each partition's features are
built by `build_features` in a Dask task on a worker. Each partition splits its rows by the same
time cut as the local training (the latest `holdout_fraction` of labelled orders by
(`ordered_at`, `order_id`), the `validation_fraction` before them), so train, validation and
hold-out hold exactly the local rows. XGBoost trains across the workers on the train parts with
early stopping on the validation parts; the validation and hold-out features (35 % of the rows)
come back to pick the threshold and compute the metrics as the local training does. The booster is
an ordinary XGBoost model: stored, explained and scored like any other version.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import polars as pl

from app.ml.errors import TrainingError
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.training import MIN_ROWS_PER_SPLIT, Split, TrainConfig, TrainingResult, finish

SPLITS = ("train", "validation", "holdout")
Cut = tuple[Any, str]  # (ordered_at, order_id) of the last row of a split


def partition(history: History, parts: int) -> list[History]:
    """`parts` histories of whole customers (hash of customer_id); empty partitions are dropped."""
    keyed = {kind: frame.with_columns((pl.col("customer_id").hash(seed=20261202) % parts).alias("_part"))
             for kind, frame in history.items()}
    out = []
    for part in range(parts):
        frames = {kind: frame.filter(pl.col("_part") == part).drop("_part") for kind, frame in keyed.items()}
        if frames["orders"].height:
            out.append(History(frames))
    return out


def time_cuts(orders: pl.DataFrame, config: TrainConfig) -> tuple[Cut, Cut]:
    """The last (ordered_at, order_id) of the train and of the validation split, counted over the
    labelled orders exactly as `split_by_time` counts them."""
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    keys = orders.filter(status.is_in(["billed", "blocked"])).select("ordered_at", "order_id").sort(
        "ordered_at", "order_id")
    n = keys.height
    n_holdout = math.ceil(n * config.holdout_fraction)
    n_validation = math.ceil((n - n_holdout) * config.validation_fraction)
    n_train = n - n_holdout - n_validation
    if min(n_train, n_validation, n_holdout) < MIN_ROWS_PER_SPLIT:
        raise TrainingError(f"too few labelled orders to split {n} rows into train, validation and hold-out")
    return keys.row(n_train - 1), keys.row(n_train + n_validation - 1)


def partition_features(history: History, cuts: tuple[Cut, Cut]) -> dict[str, pl.DataFrame]:
    """A Dask task: one partition's features (the local `build_features`), split by time."""
    features = build_features(history["orders"], history).filter(pl.col("label").is_not_null())
    upto = [_at_or_before(cut) for cut in cuts]
    return {"train": features.filter(upto[0]), "validation": features.filter(~upto[0] & upto[1]),
            "holdout": features.filter(~upto[1])}


def _at_or_before(cut: Cut) -> pl.Expr:
    at, order_id = cut
    return (pl.col("ordered_at") < at) | ((pl.col("ordered_at") == at) & (pl.col("order_id") <= order_id))


def split_matrix(parts: dict[str, pl.DataFrame], split: str) -> np.ndarray:
    return feature_matrix(parts[split])


def split_labels(parts: dict[str, pl.DataFrame], split: str) -> np.ndarray:
    return parts[split]["label"].cast(pl.Float32).to_numpy()


def split_frame(parts: dict[str, pl.DataFrame], split: str) -> pl.DataFrame:
    return parts[split]


def split_counts(parts: dict[str, pl.DataFrame]) -> dict[str, tuple[int, int]]:
    return {split: (frame.height, int(frame["label"].sum())) for split, frame in parts.items()}


REFERENCE_ROWS = 200_000  # training rows gathered for the reference percentiles


def train_on_cluster(client, history: History, config: TrainConfig, parts: int) -> TrainingResult:
    """Train on the cluster `client` (a `distributed.Client`) and evaluate as `train` does."""
    with client.as_current():  # xgboost.dask looks the client up as the current one
        return _train_on_cluster(client, history, config, parts)


def _train_on_cluster(client, history: History, config: TrainConfig, parts: int) -> TrainingResult:
    import dask.array as da
    import xgboost as xgb
    import xgboost.dask  # noqa: F401 (xgb.dask)
    from dask import delayed

    cuts = time_cuts(history["orders"], config)
    futures = [client.submit(partition_features, part, cuts, pure=False)
               for part in client.scatter(partition(history, parts))]
    counted = client.gather([client.submit(split_counts, f) for f in futures])
    heights = {split: [c[split][0] for c in counted] for split in SPLITS}
    for split in SPLITS:
        blocked = sum(c[split][1] for c in counted)
        if sum(heights[split]) < MIN_ROWS_PER_SPLIT or blocked in (0, sum(heights[split])):
            raise TrainingError(f"the {split} split needs at least {MIN_ROWS_PER_SPLIT} rows and both outcomes")

    def matrices(split: str):
        used = [(f, n) for f, n in zip(futures, heights[split], strict=True) if n]
        x = da.concatenate([da.from_delayed(delayed(split_matrix)(f, split), shape=(n, len(FEATURE_NAMES)),
                                            dtype=np.float32) for f, n in used])
        y = da.concatenate([da.from_delayed(delayed(split_labels)(f, split), shape=(n,), dtype=np.float32)
                            for f, n in used])
        return x, y

    started = time.perf_counter()
    names = list(FEATURE_NAMES)
    dtrain = xgb.dask.DaskQuantileDMatrix(client, *matrices("train"), feature_names=names)
    dvalid = xgb.dask.DaskQuantileDMatrix(client, *matrices("validation"), feature_names=names, ref=dtrain)
    params = {k: v for k, v in config.to_params().items() if k != "nthread"}  # each worker uses its threads
    stop = xgb.callback.EarlyStopping(rounds=config.early_stopping_rounds, metric_name="logloss",
                                      data_name="validation", save_best=True)
    output = xgb.dask.train(client, params, dtrain, num_boost_round=config.num_boost_round,
                            evals=[(dvalid, "validation")], callbacks=[stop], verbose_eval=False)
    fit_s = time.perf_counter() - started

    counts = {f"{split}_rows": sum(heights[split]) for split in SPLITS}
    counts |= {f"{split}_blocked": sum(c[split][1] for c in counted) for split in SPLITS}
    share = min(1.0, REFERENCE_ROWS / max(1, sum(heights["train"])))  # percentiles need a sample only
    gathered = {split: pl.concat(client.gather([client.submit(split_frame, f, split) for f in futures]))
                for split in ("validation", "holdout")}
    train = pl.concat(client.gather([client.submit(split_sample, f, "train", share) for f in futures]))
    result = finish(output["booster"], Split(train, gathered["validation"], gathered["holdout"]), config, fit_s,
                    counts)
    result.config = result.config | {"dask_partitions": parts}
    return result


def split_sample(features_by_split: dict[str, pl.DataFrame], split: str, share: float) -> pl.DataFrame:
    frame = features_by_split[split]
    return frame if share >= 1.0 else frame.sample(fraction=share, seed=0)


