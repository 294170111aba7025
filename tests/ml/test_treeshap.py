"""TreeShap against XGBoost's own pred_contribs, on small boosters trained here."""

import itertools
import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xgboost as xgb

from app.ml import treeshap
from app.ml.errors import ModelError
from app.ml.model import logistic32
from app.ml.scoring import load_scorer
from app.ml.treeshap import TreeShap, _leaf_game_tables, supported

N_FEATURES = 6
TOL = {"rtol": 1e-5, "atol": 1e-5}
BASE = {"objective": "binary:logistic", "tree_method": "hist", "seed": 3, "nthread": 1}


def _data(n: int = 400, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Feature 0 dominates, feature 2 is integer-valued (rows sit on thresholds), 10% NaN."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    X[:, 2] = rng.integers(0, 5, size=n)
    signal = 3 * X[:, 0] + X[:, 1] * X[:, 3] + 0.5 * X[:, 2] + rng.normal(size=n)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, (signal > 0.5).astype(np.float32)


def _train(rounds: int = 20, data: tuple | None = None, **params) -> xgb.Booster:
    X, y = data if data is not None else _data()
    return xgb.train({**BASE, **params}, xgb.DMatrix(X, label=y), rounds)


def _threshold_rows(booster: xgb.Booster, seed: int = 5) -> np.ndarray:
    """One row per split with that feature exactly at its threshold, the rest random or NaN."""
    trees = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"]
    splits = [
        (f, t)
        for tree in trees
        for f, t, left in zip(tree["split_indices"], tree["split_conditions"], tree["left_children"], strict=True)
        if left >= 0
    ]
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(len(splits), N_FEATURES)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.2] = np.nan
    for row, (f, t) in zip(rows, splits, strict=True):
        row[f] = t
    return rows


def _rows(booster: xgb.Booster) -> np.ndarray:
    X, _ = _data(300, seed=12)
    specials = np.array([[np.nan] * N_FEATURES, [0.0] * N_FEATURES, [-1e30] * N_FEATURES, [1e30] * N_FEATURES])
    return np.vstack([X, _threshold_rows(booster), specials]).astype(np.float32)


def _xgb_contribs(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    return booster.predict(xgb.DMatrix(X), pred_contribs=True, validate_features=False)


def _xgb_margin(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    return booster.predict(xgb.DMatrix(X), output_margin=True, validate_features=False)


BOOSTERS = {
    "depth1": {"max_depth": 1},
    "depth3": {"max_depth": 3},
    "depth4": {"max_depth": 4, "eta": 0.1},
    "depth6": {"max_depth": 6, "min_child_weight": 0.1},
    "many_rounds": {"max_depth": 3, "eta": 0.3, "rounds": 250},
    "deep_lossguide": {"grow_policy": "lossguide", "max_depth": 0, "max_leaves": 24, "min_child_weight": 0},
    "dropout": {"max_depth": 3, "rate_drop": 0.3, "skip_drop": 0.0},  # DART: trees carry weight_drop
}


@pytest.fixture(scope="module", params=list(BOOSTERS))
def booster(request: pytest.FixtureRequest) -> xgb.Booster:
    params = dict(BOOSTERS[request.param])
    return _train(params.pop("rounds", 20), **params)


def test_contributions_equal_xgboost(booster: xgb.Booster) -> None:
    X = _rows(booster)
    got = TreeShap.from_booster(booster).contributions(X)
    assert got.dtype == np.float64 and got.shape == (len(X), N_FEATURES + 1)
    np.testing.assert_allclose(got, _xgb_contribs(booster, X), **TOL)


def test_margin_equals_xgboost_and_contributions_sum_to_it(booster: xgb.Booster) -> None:
    X = _rows(booster)
    shap = TreeShap.from_booster(booster)
    margin = shap.margin(X)
    np.testing.assert_allclose(margin, _xgb_margin(booster, X), **TOL)
    np.testing.assert_allclose(shap.contributions(X).sum(axis=1), margin, rtol=1e-12, atol=1e-9)


def test_infinities_follow_inplace_predict() -> None:
    booster = _train(max_depth=4)
    rows = _rows(booster)[:40]
    rows[::3, 0], rows[1::3, 1] = np.inf, -np.inf
    expected = booster.inplace_predict(rows, predict_type="margin", validate_features=False)
    np.testing.assert_allclose(TreeShap.from_booster(booster).margin(rows), expected, **TOL)


def test_one_row_equals_the_batch_and_chunks_do_not_matter(booster: xgb.Booster) -> None:
    X = _rows(booster)
    shap = TreeShap.from_booster(booster)
    batch = shap.contributions(X)
    for i in (0, 1, 17, len(X) - 4, len(X) - 1):
        np.testing.assert_array_equal(shap.contributions(X[i]), batch[i : i + 1])
        np.testing.assert_array_equal(shap.contributions(X[i : i + 1]), batch[i : i + 1])
    shap._chunk = 7
    np.testing.assert_array_equal(shap.contributions(X), batch)
    np.testing.assert_array_equal(shap.margin(X[:50]), TreeShap.from_booster(booster).margin(X[:50]))


def test_scratch_arrays_grow_between_calls_and_are_per_thread(booster: xgb.Booster) -> None:
    """Each thread keeps its chunk scratch arrays from call to call: sized by a first call of one
    row, they grow for a batch in chunks of 7 or 8 (the last one partial), and threads explaining at
    the same time do not share them."""
    X = _rows(booster)
    contributions, margin = TreeShap.from_booster(booster).explain(X)
    shap = TreeShap.from_booster(booster)
    np.testing.assert_array_equal(shap.explain(X[:1])[0], contributions[:1])
    shap._chunk = 7 if len(X) % 7 else 8
    got, got_margin = shap.explain(X)
    np.testing.assert_array_equal(got, contributions)
    np.testing.assert_array_equal(got_margin, margin)
    assert shap.explain(X[:0])[0].shape == (0, N_FEATURES + 1)
    slices = [slice(start, start + size) for start, size in itertools.product(range(0, len(X) - 60, 37), (1, 9, 60))]
    with ThreadPoolExecutor(4) as threads:
        results = list(threads.map(lambda s: (s, shap.explain(X[s])), slices * 3))
    for s, (got, got_margin) in results:
        np.testing.assert_array_equal(got, contributions[s])
        np.testing.assert_array_equal(got_margin, None if margin is None else margin[s])


def test_float64_rows_are_rounded_to_float32_like_a_dmatrix() -> None:
    booster = _train(max_depth=4)
    X32 = _threshold_rows(booster)
    X64 = X32.astype(np.float64)
    X64[::2] -= 1e-12  # rounds back onto the threshold in float32
    X64[1::2] += 1e-4
    np.testing.assert_allclose(TreeShap.from_booster(booster).contributions(X64), _xgb_contribs(booster, X64), **TOL)


def test_feature_names_do_not_matter() -> None:
    X, y = _data()
    names = [f"f_{i}" for i in range(N_FEATURES)]
    named = xgb.train({**BASE, "max_depth": 3}, xgb.DMatrix(X, label=y, feature_names=names), 10)
    plain = _train(10, (X, y), max_depth=3)
    assert named.feature_names == names
    rows = _rows(plain)
    np.testing.assert_array_equal(TreeShap.from_booster(named).contributions(rows),
                                  TreeShap.from_booster(plain).contributions(rows))  # fmt: skip
    np.testing.assert_allclose(TreeShap.from_booster(named).contributions(rows), _xgb_contribs(named, rows), **TOL)


def test_single_leaf_trees() -> None:
    X, y = _data()
    stumps = xgb.train({**BASE, "gamma": 1e9}, xgb.DMatrix(X, label=y), 3)
    mixed = xgb.train({**BASE, "max_depth": 3}, xgb.DMatrix(X, label=y), 5, xgb_model=stumps)
    mixed = xgb.train({**BASE, "gamma": 1e9}, xgb.DMatrix(X, label=y), 2, xgb_model=mixed)
    for booster in (stumps, mixed):
        rows = _rows(booster)
        shap = TreeShap.from_booster(booster)
        np.testing.assert_allclose(shap.contributions(rows), _xgb_contribs(booster, rows), **TOL)
        np.testing.assert_allclose(shap.margin(rows), _xgb_margin(booster, rows), **TOL)
    assert not TreeShap.from_booster(stumps).contributions(rows)[:, :-1].any()


@pytest.mark.filterwarnings("ignore:.*updater:UserWarning")
def test_zero_cover_nodes_after_a_refresh() -> None:
    """Refreshing on a few rows leaves nodes with zero cover: XGBoost clamps the branch weights."""
    X, y = _data()
    booster = _train(8, (X, y), max_depth=4)
    few = np.flatnonzero(X[:, 0] > 0.5)[:20]
    refresh = {**BASE, "max_depth": 4, "process_type": "update", "updater": "refresh"}
    refreshed = xgb.train(refresh, xgb.DMatrix(X[few], label=y[few]), 8, xgb_model=booster)
    trees = json.loads(bytes(refreshed.save_raw("json")))["learner"]["gradient_booster"]["model"]["trees"]
    assert any(0.0 in tree["sum_hessian"] for tree in trees)
    rows = _rows(refreshed)
    shap = TreeShap.from_booster(refreshed)
    np.testing.assert_allclose(shap.contributions(rows), _xgb_contribs(refreshed, rows), **TOL)
    np.testing.assert_allclose(shap.margin(rows), _xgb_margin(refreshed, rows), **TOL)


def test_base_score_is_read_as_a_probability() -> None:
    booster = _train(5, max_depth=2, base_score=0.2)
    shap = TreeShap.from_booster(booster)
    assert shap.base_margin == pytest.approx(math.log(0.2 / 0.8), abs=1e-6)
    rows = _rows(booster)
    np.testing.assert_allclose(shap.contributions(rows), _xgb_contribs(booster, rows), **TOL)


def _softmax() -> xgb.Booster:
    X, y = _data()
    return xgb.train({**BASE, "objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(X, label=y * 2), 2)


def _categorical() -> xgb.Booster:
    X, y = _data()
    X[:, 2] = np.nan_to_num(X[:, 2])
    types = ["q", "q", "c", "q", "q", "q"]
    matrix = xgb.DMatrix(X, label=y, feature_types=types, enable_categorical=True)
    return xgb.train({**BASE, "max_cat_to_onehot": 1, "max_depth": 3}, matrix, 5)


UNSUPPORTED = {
    "gblinear": lambda: _train(3, booster="gblinear"),
    "multiclass": _softmax,
    "regression": lambda: _train(3, objective="reg:squarederror", max_depth=2),
    "categorical": _categorical,
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # gblinear is deprecated
@pytest.mark.parametrize("make", list(UNSUPPORTED.values()), ids=list(UNSUPPORTED))
def test_unsupported_boosters_are_refused(make) -> None:
    booster = make()
    with pytest.raises(ModelError):
        TreeShap.from_booster(booster)
    assert not supported(booster)


def test_too_large_tables_and_bad_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    booster = _train(5, max_depth=3)
    assert supported(booster)
    with pytest.raises(ModelError, match="MiB"):
        TreeShap.from_booster(booster, max_table_bytes=100)
    for limit in ("MAX_PATH_FEATURES", "MAX_PATTERN_BITS"):
        with monkeypatch.context() as patch:
            patch.setattr(treeshap, limit, 1)
            with pytest.raises(ModelError, match="limit 1"):
                TreeShap.from_booster(booster)
    shap = TreeShap.from_booster(booster)
    with pytest.raises(ModelError):
        shap.contributions(np.zeros((2, N_FEATURES + 1)))
    with pytest.raises(ModelError):
        shap.margin(np.zeros((2, 3, N_FEATURES)))


def _brute_force_shapley(v: float, z: np.ndarray, o: np.ndarray) -> np.ndarray:
    p = len(z)

    def game(S: set[int]) -> float:
        return v * math.prod(o[j] if j in S else z[j] for j in range(p))

    phi = np.zeros(p)
    for i in range(p):
        others = [j for j in range(p) if j != i]
        for size in range(p):
            weight = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for S in itertools.combinations(others, size):
                phi[i] += weight * (game({*S, i}) - game(set(S)))
    return phi


@pytest.mark.parametrize("p", [1, 2, 3, 5])
def test_leaf_game_tables_are_the_shapley_values(p: int) -> None:
    rng = np.random.default_rng(p)
    z, v = rng.uniform(0.01, 1, size=(3, p)), rng.normal(size=3)
    tables = _leaf_game_tables(z, v)
    assert tables.shape == (3, p, 1 << p)
    for g, pattern in itertools.product(range(3), range(1 << p)):
        o = np.array([(pattern >> j) & 1 for j in range(p)], dtype=float)
        np.testing.assert_allclose(tables[g, :, pattern], _brute_force_shapley(v[g], z[g], o), rtol=1e-12, atol=1e-14)


def test_explain_gives_xgboosts_own_float32_margin_bit_for_bit(booster: xgb.Booster) -> None:
    X = _rows(booster)
    explainer = TreeShap.from_booster(booster)
    contributions, margin = explainer.explain(X)
    np.testing.assert_allclose(contributions, _xgb_contribs(booster, X), **TOL)
    assert np.array_equal(contributions, explainer.contributions(X))
    dropout = json.loads(bytes(booster.save_raw("json")))["learner"]["gradient_booster"]["model"].get("weight_drop")
    if dropout:
        assert margin is None  # XGBoost's float32 arithmetic with dropout factors is not modelled
    else:
        assert margin.dtype == np.float32
        assert np.array_equal(margin, _xgb_margin(booster, X))
        assert np.array_equal(logistic32(margin), booster.inplace_predict(X, validate_features=False))


def test_probe_rows_reach_both_sides_of_every_split_feature(booster: xgb.Booster) -> None:
    explainer = TreeShap.from_booster(booster)
    X = explainer.probe_rows(400, seed=1)
    assert X.shape == (400, N_FEATURES) and X.dtype == np.float32
    leaves = booster.predict(xgb.DMatrix(X), pred_leaf=True, validate_features=False)
    assert np.isnan(X).any()
    assert all(len(np.unique(leaves[:, t])) > 1 for t in range(leaves.shape[1]) if leaves[:, t].max() > 0)


def _with_minus_inf_splits(booster: xgb.Booster) -> xgb.Booster:
    """XGBoost splits the unknown values of a feature from all others at -inf (seen in a monotone
    model of the demo data): every split on feature 2 becomes one, NaN going left at every other."""
    model = json.loads(bytes(booster.save_raw("json")))
    changed = 0
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for k, (f, left) in enumerate(zip(tree["split_indices"], tree["left_children"], strict=True)):
            if left >= 0 and f == 2:
                tree["split_conditions"][k] = -math.inf
                tree["default_left"][k] = changed % 2
                changed += 1
    assert changed > 4
    out = xgb.Booster()
    out.load_model(bytearray(json.dumps(model).encode()))
    return out


@pytest.mark.parametrize("params", [{"max_depth": 4}, {"max_depth": 6, "min_child_weight": 0.1}])
def test_splits_at_minus_infinity(params: dict) -> None:
    booster = _with_minus_inf_splits(_train(30, **params))
    explainer = TreeShap.from_booster(booster)
    X = _rows(booster)
    X[np.isneginf(X)] = np.finfo(np.float32).min  # threshold rows sit on -inf: the nearest finite value
    X[::4, 2] = np.nan
    contributions, margin = explainer.explain(X)
    np.testing.assert_allclose(contributions, _xgb_contribs(booster, X), **TOL)
    assert np.array_equal(margin, _xgb_margin(booster, X))
    infinite = X.copy()
    infinite[::3, 2], infinite[1::3, 2] = -np.inf, np.inf  # inplace_predict takes them (a DMatrix does not)
    expected = booster.inplace_predict(infinite, predict_type="margin", validate_features=False)
    assert np.array_equal(explainer.explain(infinite)[1], expected)
    probes = explainer.probe_rows(256)
    assert np.isfinite(probes[~np.isnan(probes)]).all()
    scorer = load_scorer(booster, [f"f{i}" for i in range(N_FEATURES)])
    assert scorer.name == "treeshap" and scorer.exact_probability


def test_probability_alone_is_scores_probability_bit_for_bit(booster: xgb.Booster) -> None:
    """A challenger in shadow and a backtest score without contributions: the same probabilities."""
    from app.ml.scoring import XGBoostScorer

    X = _rows(booster)
    names = [f"f{i}" for i in range(N_FEATURES)]
    for scorer in (load_scorer(booster, names), XGBoostScorer(booster, names)):
        assert scorer.probability(X).tobytes() == scorer.score(X)[0].tobytes(), scorer.name
