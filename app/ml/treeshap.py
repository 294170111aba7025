"""Exact path-dependent TreeSHAP for XGBoost in pure NumPy, fast for one row.

Matches ``booster.predict(DMatrix(X), pred_contribs=True)`` for ``binary:logistic`` gbtree
boosters with numeric splits (float32 precision: XGBoost computes in float32, we in float64;
the largest difference seen is ~4e-6 on contributions of magnitude ~5).

Algorithm (per-leaf tables, "Fast TreeSHAP v2"): path-dependent TreeSHAP is the sum over leaves
of the Shapley values of one game per leaf. For a leaf of value v, let P be the distinct features
split on along its root path (p = |P|). For j in P, z_j is the product of cover(child taken) /
cover(node) over the path nodes splitting on j, and o_j(x) = 1 if x follows the path at every one
of them. The game g(S) = v * prod_{S} o_j * prod_{P\\S} z_j has Shapley values
    phi_i = v (o_i - z_i) sum_s s!(p-1-s)!/p! [t^s] prod_{j != i} (z_j + o_j t),
which depend on x only through the bits o. So, when the model is loaded, every leaf gets a
table of phi for all 2^p bit patterns, built for all leaves with the same p at once from prefix
and suffix products of those polynomials (O(2^p p^2) per leaf, no division, float64), and the
contributions of a row are the sum over leaves of one table row each.

Explaining a row is then a handful of array operations over all leaves of all trees at once,
no Python loop over trees: o_j is the interval test lo_j <= x_j < hi_j (hi the smallest
threshold of the path nodes on j going left, lo the largest going right), one pattern bit per
bound present, each bit a single float32 ``<`` against a row-expanded vector
[x, -x, x with NaN->-inf, -x with NaN->-inf] (x >= lo is -x < nextafter(-lo); the copy chosen
also says where NaN goes). A leaf's bit bytes are packed into its pattern by one integer
multiply; its row offset plus the pattern picks a row of its table (for a feature bounded on
both sides o_j is the AND of its two bits, so the table repeats rows: 2^bits rows, bits <= 2p).
The P-wide rows of all leaves are gathered at once, put in a precomputed feature-sorted order
(a second gather, real slots only) and ``np.add.reduceat`` adds each feature's run into its column.
Cost: ~15 NumPy calls per chunk of rows over O(leaves * p) elements, the three gathers (bit
operands, table rows, feature order) dominating at ~0.5 ns an element. One row: about 25-40 us
for 140-150 trees of depth 4 and 110-145 us for 122 trees of depth 6, against 120-320 us for
XGBoost's pred_contribs plus ~70 us for its DMatrix; in a batch of 500, ~23 us a row for 150
trees of depth 4 (2,300 leaves) and ~150 us for 122 of depth 6 (6,800 leaves; XGBoost: ~80 and
~250 us). A batch goes in chunks of rows whose scratch arrays take ~``WORK_BYTES`` (20 rows and
4 rows of those two), kept per thread from call to call: allocated anew per chunk, their page
faults cost more than the arithmetic (500 rows of the depth-4 model took 30 ms, not 11), and
bigger chunks fall out of cache. Memory: tables of 8 * P * sum over leaves of 2^bits bytes
(P = largest p; 1 MiB and 17 MiB for those two), built in 15-60 ms for them and ~0.14 s for 300
trees of depth 6 (a third of it XGBoost's JSON export and its parsing), plus ~``WORK_BYTES`` of
scratch arrays per thread that explains.
Refused (`ModelError`, callers fall back to XGBoost): tables above ``max_table_bytes``, paths
on more than MAX_PATH_FEATURES features or MAX_PATTERN_BITS bits.

What XGBoost 3.x does, checked against its output (it uses an 8-point Gauss quadrature
TreeSHAP, exact for these polynomials up to float32 rounding):
- A row goes left when float32(x) < split_condition (float32); NaN follows ``default_left``.
- Cover is the JSON ``sum_hessian``; the child weight is child/parent cover, with parent cover
  <= 0 giving 0.5 and a weight below 1e-12 clamped to 1e-12. A feature split several times on a
  path multiplies its weights and ANDs its conditions.
- A leaf's value is its ``split_conditions`` entry (the learning rate is already applied);
  ``base_weights`` holds the same for freshly trained trees but not after a ``refresh``
  update, and XGBoost predicts and explains with ``split_conditions``.
  Dropout (DART, in 3.x a gbtree with ``rate_drop``) stores per-tree factors in
  ``weight_drop``: contributions, bias and prediction all use leaf value * weight.
- Bias column = base margin (logit of ``learner_model_param.base_score``, stored as a string,
  "[4.481E-1]" in 3.x, "4.481E-1" before) + per tree the cover-weighted mean of its leaf values
  (computed from the root down in double, a zero-cover parent averaging its children).
- A DMatrix refuses +-inf; here they are ordinary values, as in ``inplace_predict``. A
  per-row ``base_margin`` set on a DMatrix is not modelled (the service sets none).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import xgboost as xgb

from app.ml import libm
from app.ml.errors import ModelError

MAX_PATH_FEATURES = 12
MAX_PATTERN_BITS = 16  # what `_pack` can pack
MAX_TABLE_BYTES = 256 << 20
WORK_BYTES = 4 << 20  # rows per chunk: their scratch arrays take ~4 MiB (bigger ones fall out of cache)
GAME_CHUNK = 2048  # leaves per table-building step (bounds the memory of the precomputation)
MIN_BRANCH_WEIGHT = float(np.float32(1e-12))  # XGBoost's kQuadratureTreeShapMinChildWeight
# bytes of 0/1 -> bits: (little-endian word of W bytes) * magic puts bit k in the top byte
_MAGIC = {1: (np.uint8, 1), 2: (np.uint16, 0x0102), 4: (np.uint32, 0x01020408),
          8: (np.uint64, 0x0102040810204080)}  # fmt: skip


def supported(booster: xgb.Booster) -> bool:
    """True if `TreeShap.from_booster(booster)` succeeds (it builds, then drops, the tables)."""
    try:
        TreeShap.from_booster(booster)
    except ModelError:
        return False
    return True


@dataclass(frozen=True)
class _Slots:
    """Per leaf, per distinct path feature j < p: the leaf game inputs and the interval test."""

    feature: np.ndarray  # (L, P) int, the feature (n_features for padding)
    z: np.ndarray  # (L, P) float64, product of cover ratios (1 for padding)
    hi: np.ndarray  # (L, P) float32, x < hi (inf when no path node goes left)
    lo: np.ndarray  # (L, P) float32, x >= lo (-inf when no path node goes right)
    nan_hi: np.ndarray  # (L, P) bool, NaN passes the `< hi` test
    nan_lo: np.ndarray  # (L, P) bool, NaN passes the `>= lo` test
    has_hi: np.ndarray  # (L, P) bool, some path node on this feature goes left
    has_lo: np.ndarray  # (L, P) bool, some path node on this feature goes right
    p: np.ndarray  # (L,) int, distinct features per leaf

    @property
    def two_sided(self) -> np.ndarray:
        """(L, P) bool: slots bounded on both sides, tested with two pattern bits."""
        return self.has_hi & self.has_lo

    @property
    def bits(self) -> np.ndarray:
        """(L,) pattern bits per leaf: one per slot plus one per two-sided slot."""
        return self.p + self.two_sided.sum(axis=1)


class TreeShap:
    """Exact TreeSHAP (and the margin) of a binary:logistic XGBoost booster."""

    def __init__(self, n_features: int, base_margin: float, expected: float, leaf_value: np.ndarray,
                 slots: _Slots, table: np.ndarray, row_offset: np.ndarray, margin32: _Margin32 | None,
                 splits: tuple[np.ndarray, np.ndarray]):  # fmt: skip
        self.n_features = n_features
        self.base_margin = base_margin
        self.bias = base_margin + expected  # what XGBoost puts in the last column
        self.table = table  # (sum of 2^bits, P) float64: phi of every leaf and bit pattern
        self._value = leaf_value
        self._margin32 = margin32
        self._splits = splits
        self._row_offset = row_offset
        self._reached_row = row_offset + (1 << slots.bits) - 1  # table row of the leaf reached
        self._width = 1 << max(int(slots.bits.max()) - 1, 0).bit_length()  # 1, 2, 4, 8 or 16
        self._src, self._thr, self._blocks = _comparisons(slots, n_features, self._width)
        flat = slots.feature.ravel()  # padding slots (feature n_features) hold zeros: skipped
        real = np.flatnonzero(flat < n_features)
        self._order = real[np.argsort(flat[real], kind="stable")]  # slots grouped by feature
        self._used, self._starts = np.unique(flat[self._order], return_index=True)
        self._chunk = max(1, WORK_BYTES // _Work.row_bytes(self))
        self._scratch = threading.local()  # each thread's `_Work`, kept from call to call

    @classmethod
    def from_booster(cls, booster: xgb.Booster, max_table_bytes: int = MAX_TABLE_BYTES) -> TreeShap:
        """Precompute the leaf tables; `ModelError` if the booster is not supported."""
        learner = json.loads(bytes(booster.save_raw("json")))["learner"]
        n_features = _check_learner(learner)
        nodes = _Nodes.parse(learner["gradient_booster"]["model"], n_features)
        paths = _leaf_paths(nodes)
        slots = _slots(nodes, paths, n_features)
        if slots.bits.max() > MAX_PATTERN_BITS:
            raise ModelError(f"a path needs {slots.bits.max()} pattern bits (limit {MAX_PATTERN_BITS})")
        size = int((1 << slots.bits).sum()) * slots.feature.shape[1] * 8
        if size > max_table_bytes:
            raise ModelError(f"TreeSHAP tables would take {size >> 20} MiB (limit {max_table_bytes >> 20})")
        value = nodes.value[paths.leaf]
        table, row_offset = _tables(slots, value)
        expected = _expected_value(nodes, value, paths)
        inner = nodes.left >= 0
        return cls(n_features, _base_margin(learner), expected, value, slots, table, row_offset,
                   _Margin32.of(learner, nodes, paths), (nodes.feature[inner], nodes.threshold[inner]))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """TreeSHAP values in log-odds, float64 (n, n_features + 1); the last column is the bias."""
        return self._pass(X, with_margin=False)[0]

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """`contributions(X)` and XGBoost's own float32 margin of each row, bit for bit (its base
        margin plus the leaves reached, added in float32 in tree order), from one pass over the
        splits; the margin is None for models with dropout weights."""
        return self._pass(X, with_margin=True)

    def _pass(self, X: np.ndarray, with_margin: bool) -> tuple[np.ndarray, np.ndarray | None]:
        X = self._rows(X)
        contributions = np.empty((len(X), len(self._used)))
        margin = np.empty(len(X), np.float32) if with_margin and self._margin32 is not None else None
        work = self._work(min(len(X), self._chunk))
        for start in range(0, len(X), self._chunk):
            stop = min(start + self._chunk, len(X))
            leaf_rows = self._leaf_rows(X[start:stop], work)
            self._explain(leaf_rows, work, contributions[start:stop])  # used columns: scattered once
            if margin is not None:
                margin[start:stop] = self._margin32.of_reached(leaf_rows == self._reached_row)
        out = np.zeros((len(X), self.n_features + 1))
        out[:, self._used] = contributions
        out[:, -1] += self.bias
        return out, margin

    def probe_rows(self, n: int, seed: int = 0) -> np.ndarray:
        """`n` float32 rows landing on every side of the model's splits (just below, on and just
        above thresholds, or NaN), to check this explainer against XGBoost itself. Values stay
        finite (a DMatrix refuses infinities): a split at -inf is probed by NaN and -max."""
        rng = np.random.default_rng(seed)
        X = np.full((n, self.n_features), np.nan, np.float32)
        feature, threshold = self._splits
        for f in np.unique(feature):
            pool = threshold[feature == f]
            picked = pool[rng.integers(len(pool), size=n)]
            step = rng.integers(-1, 2, size=n)
            values = np.where(step < 0, np.nextafter(picked, np.float32(-np.inf)),
                              np.where(step > 0, np.nextafter(picked, np.float32(np.inf)), picked))
            X[:, f] = np.where(rng.random(n) < 0.1, np.nan, values)
        finite = np.finfo(np.float32).max
        return np.clip(X, -finite, finite)

    def margin(self, X: np.ndarray) -> np.ndarray:
        """Raw log-odds per row (float64): base margin plus the values of the leaves reached."""
        X = self._rows(X)
        out = np.empty(len(X))
        work = self._work(min(len(X), self._chunk))
        for start in range(0, len(X), self._chunk):
            stop = min(start + self._chunk, len(X))
            reached = self._leaf_rows(X[start:stop], work) == self._reached_row
            out[start:stop] = np.where(reached, self._value, 0.0).sum(axis=1)
        return out + self.base_margin

    def _rows(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ModelError(f"expected rows of {self.n_features} features, got {X.shape}")
        return X

    def _work(self, rows: int) -> _Work:
        """This thread's scratch arrays, for chunks of `rows` rows or more. They are kept: a call
        allocating its few MiB anew can pay a page fault per 4 KiB (~1.7 ms for a batch of 500
        here) when the C allocator has handed them back to the system since the last call."""
        work = getattr(self._scratch, "work", None)
        if work is None or len(work.xs) < rows:
            work = self._scratch.work = _Work.of(self, rows)
        return work

    def _leaf_rows(self, X: np.ndarray, work: _Work) -> np.ndarray:
        """(n, L) intp: each leaf's table row for each row, its row offset plus its bit pattern
        (bit = one interval bound holds)."""
        n, F = X.shape
        xs = work.xs[:n]  # [x, -x, x NaN->-inf, -x NaN->-inf]
        xs[:, :F] = X
        np.negative(X, out=xs[:, F : 2 * F])
        np.fmax(xs[:, : 2 * F], -np.inf, out=xs[:, 2 * F : 4 * F])
        if self._blocks > 4:  # [..., 0 if NaN else 1, 0 if NaN else -1]: models with splits at -inf
            np.logical_not(np.isnan(X), out=xs[:, 4 * F : 5 * F], casting="unsafe")
            np.negative(xs[:, 4 * F : 5 * F], out=xs[:, 5 * F :])
        tested = xs.take(self._src, axis=1, mode="clip", out=work.tested[:n])
        passes = np.less(tested, self._thr, out=work.passes[:n])  # (n, L * width)
        return np.add(_pack(passes, self._width), self._row_offset, out=work.leaf_rows[:n])

    def _explain(self, leaf_rows: np.ndarray, work: _Work, out: np.ndarray) -> None:
        """Write into out (n, len(used)) the sums of the table rows `leaf_rows`, per used feature."""
        n = len(leaf_rows)
        if not len(self._order):
            out[:] = 0.0
            return
        phi = self.table.take(leaf_rows, axis=0, mode="clip", out=work.phi[:n])  # (n, L, P)
        by_feature = phi.reshape(n, -1).take(self._order, axis=1, mode="clip", out=work.by_feature[:n])
        np.add.reduceat(by_feature, self._starts, axis=1, out=out)


class _Work(NamedTuple):
    """Scratch arrays for a chunk of up to c rows, written by every chunk of every call of one
    thread (`TreeShap._work`)."""

    xs: np.ndarray  # (c, blocks * F) float32, the row-expanded copies of x
    tested: np.ndarray  # (c, L * width) float32, the operand of each pattern bit's test
    passes: np.ndarray  # (c, L * width) bool
    leaf_rows: np.ndarray  # (c, L) intp
    phi: np.ndarray  # (c, L, P) float64, the table row of every leaf
    by_feature: np.ndarray  # (c, real slots) float64, phi in feature-sorted order

    @classmethod
    def of(cls, shap: TreeShap, rows: int) -> _Work:
        L, P, tests = shap._row_offset.size, shap.table.shape[1], shap._src.size
        return cls(np.empty((rows, shap._blocks * shap.n_features), np.float32), np.empty((rows, tests), np.float32),
                   np.empty((rows, tests), bool), np.empty((rows, L), np.intp), np.empty((rows, L, P)),
                   np.empty((rows, shap._order.size)))  # fmt: skip

    @staticmethod
    def row_bytes(shap: TreeShap) -> int:
        L, P = shap._row_offset.size, shap.table.shape[1]
        return 4 * shap._blocks * shap.n_features + 5 * shap._src.size + 8 * (L + L * P + shap._order.size)


def _check_learner(learner: dict) -> int:
    """The number of features; `ModelError` for anything but a binary:logistic gbtree model."""
    name = learner["gradient_booster"].get("name")
    if name != "gbtree":
        raise ModelError(f"TreeSHAP supports gbtree boosters only, got {name!r}")
    objective = learner["objective"]["name"]
    if objective != "binary:logistic":
        raise ModelError(f"TreeSHAP supports binary:logistic only, got {objective!r}")
    param = learner["learner_model_param"]
    if int(param.get("num_class", 0)) > 1 or int(param.get("num_target", 1)) > 1:
        raise ModelError("TreeSHAP supports single-output models only")
    if not np.little_endian:
        raise ModelError("TreeSHAP bit packing assumes a little-endian machine")
    return int(param["num_feature"])


def _base_score(learner: dict) -> float:
    """The base score, a probability; XGBoost 3.x writes it as "[5E-1]", older versions as "5E-1"."""
    text = str(learner["learner_model_param"]["base_score"]).strip().strip("[]")
    values = [float(v) for v in text.split(",") if v.strip()]
    if len(values) != 1 or not 0.0 < values[0] < 1.0:
        raise ModelError(f"unsupported base_score {text!r}")
    return float(np.float32(values[0]))


def _base_margin(learner: dict) -> float:
    """logit(base_score), in float64."""
    p = _base_score(learner)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class _Margin32:
    """XGBoost's float32 margin: base margin, then each tree's leaf added in tree order."""

    base: np.float32
    leaf: np.ndarray  # (L,) float32 leaf values, leaves in tree order (one reached per tree)
    trees: int

    @classmethod
    def of(cls, learner: dict, nodes: _Nodes, paths: _Paths) -> _Margin32 | None:
        if learner["gradient_booster"]["model"].get("weight_drop"):
            return None  # dropout factors: XGBoost's float32 order of operations not modelled
        return cls(_base_margin32(learner), nodes.threshold[paths.leaf], len(nodes.roots))

    def of_reached(self, reached: np.ndarray) -> np.ndarray:
        """(n, L) reached flags (one per tree and row) -> (n,) float32 margins."""
        steps = np.empty((len(reached), self.trees + 1), np.float32)
        steps[:, 0] = self.base
        flat = np.flatnonzero(reached).reshape(len(reached), self.trees)  # row * L + leaf, tree order
        self.leaf.take(flat, mode="wrap", out=steps[:, 1:])  # wrap: the leaf is flat % L
        return np.add.accumulate(steps, axis=1, dtype=np.float32)[:, -1]


def _base_margin32(learner: dict) -> np.float32:
    """XGBoost's float32 base margin, -logf(1 / p - 1) in float32 operations."""
    odds = np.float32(1) / np.float32(_base_score(learner)) - np.float32(1)
    return np.float32(-libm.logf(float(odds)) if libm.logf is not None else -np.log(odds))


@dataclass(frozen=True)
class _Nodes:
    """The nodes of all trees, concatenated; children are global indices, -1 for leaves."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float32 split_conditions
    default_left: np.ndarray
    cover: np.ndarray  # float32 sum_hessian
    roots: np.ndarray
    value: np.ndarray  # float64 leaf value times the tree's dropout weight

    @classmethod
    def parse(cls, model: dict, n_features: int) -> _Nodes:
        trees = model["trees"]
        weight = _check_trees(model)
        sizes = np.array([len(t["left_children"]) for t in trees], dtype=np.int64)
        shift = np.repeat(np.cumsum(sizes) - sizes, sizes)

        def column(key: str, dtype: type) -> np.ndarray:
            return np.concatenate([np.asarray(t[key], dtype=dtype) for t in trees] or [np.empty(0, dtype)])

        left, right = column("left_children", np.int64), column("right_children", np.int64)
        threshold = column("split_conditions", np.float32)
        nodes = cls(np.where(left < 0, -1, left + shift), np.where(left < 0, -1, right + shift),
                    column("split_indices", np.int64), threshold, column("default_left", bool),
                    column("sum_hessian", np.float32), np.cumsum(sizes) - sizes,
                    threshold.astype(np.float64) * np.repeat(weight, sizes))  # fmt: skip
        inner = nodes.left >= 0
        if ((nodes.feature < 0) | (nodes.feature >= n_features))[inner].any():
            raise ModelError("a split uses a feature outside the model's feature range")
        if (nodes.cover < 0).any():
            raise ModelError("TreeSHAP is undefined for negative covers")
        return nodes


def _check_trees(model: dict) -> np.ndarray:
    """The per-tree dropout weights; `ModelError` for vector leaves or categorical splits."""
    trees = model["trees"]
    for tree in trees:
        if int(tree["tree_param"].get("size_leaf_vector", 1)) > 1:
            raise ModelError("TreeSHAP does not support multi-target trees")
        if any(tree.get("split_type", ())) or tree.get("categories_nodes"):
            raise ModelError("TreeSHAP does not support categorical splits")
    weight = np.asarray(model.get("weight_drop") or np.ones(len(trees)), dtype=np.float32)
    if weight.shape != (len(trees),):
        raise ModelError("weight_drop does not match the trees")
    return weight


@dataclass(frozen=True)
class _Paths:
    """Root-to-leaf paths padded to the deepest leaf: step k goes from `node` to `child`."""

    leaf: np.ndarray  # (L,) leaf node indices, in tree order
    node: np.ndarray  # (L, D) -1 for padding
    child: np.ndarray  # (L, D)
    went_left: np.ndarray  # (L, D)

    @property
    def valid(self) -> np.ndarray:
        return self.node >= 0


def _leaf_paths(nodes: _Nodes, max_depth: int = 256) -> _Paths:
    """Every reachable leaf with its path, built one tree level at a time for all trees."""
    if not len(nodes.roots):
        raise ModelError("the booster has no trees")
    frontier, path = nodes.roots, np.empty((len(nodes.roots), 0), np.int64)
    left = np.empty_like(path, dtype=bool)
    found = []
    while len(frontier):
        if len(found) > max_depth:
            raise ModelError(f"a tree is deeper than {max_depth}")
        leaf = nodes.left[frontier] < 0
        found.append((frontier[leaf], path[leaf], left[leaf]))
        inner, path, left = frontier[~leaf], path[~leaf], left[~leaf]
        frontier = np.concatenate((nodes.left[inner], nodes.right[inner]))
        path = np.vstack((np.column_stack((path, inner)),) * 2)
        ones = np.ones((len(inner), 1), dtype=bool)
        left = np.vstack((np.hstack((left, ones)), np.hstack((left, ~ones))))
    depth = len(found) - 1
    leaf = np.concatenate([f[0] for f in found])
    node = np.vstack([np.pad(f[1], ((0, 0), (0, depth - f[1].shape[1])), constant_values=-1) for f in found])
    went = np.vstack([np.pad(f[2], ((0, 0), (0, depth - f[2].shape[1]))) for f in found])
    order = np.argsort(leaf, kind="stable")
    node, went = node[order], went[order]
    safe = np.maximum(node, 0)
    child = np.where(went, nodes.left[safe], nodes.right[safe])
    return _Paths(leaf[order], node, np.where(node >= 0, child, -1), went)


def _branch_weight(child: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """cover(child) / cover(parent) as XGBoost's TreeSHAP takes it (clamped), in float64."""
    child, parent = child.astype(np.float64), parent.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = child / parent
    return np.where(parent <= 0, 0.5, np.maximum(ratio, MIN_BRANCH_WEIGHT))


def _expected_value(nodes: _Nodes, value: np.ndarray, paths: _Paths) -> float:
    """Sum over trees of the cover-weighted mean leaf value (a zero-cover parent averages)."""
    valid = paths.valid
    parent = nodes.cover[np.maximum(paths.node, 0)].astype(np.float64)
    child = nodes.cover[np.maximum(paths.child, 0)].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(parent == 0, 0.5, child / parent)
    return float((value * np.where(valid, ratio, 1.0).prod(axis=1)).sum())


def _distinct(feature: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, D) slot of each path step (rank of its feature's first occurrence), (L,) p."""
    depth = feature.shape[1]
    if depth == 0:
        return np.zeros(feature.shape, np.int64), np.zeros(len(feature), np.int64)
    first = (feature[:, :, None] == feature[:, None, :]).argmax(axis=2)
    is_first = valid & (first == np.arange(depth))
    rank = np.cumsum(is_first, axis=1) - 1
    slot = np.where(valid, np.take_along_axis(rank, first, axis=1), 0)
    return slot, is_first.sum(axis=1)


def _slots(nodes: _Nodes, paths: _Paths, n_features: int) -> _Slots:
    """Per leaf and distinct feature: z, the interval [lo, hi) and where NaN goes."""
    valid, safe = paths.valid, np.maximum(paths.node, 0)
    feature = np.where(valid, nodes.feature[safe], -1)
    slot, p = _distinct(feature, valid)
    if p.max(initial=0) > MAX_PATH_FEATURES:
        raise ModelError(f"a path splits on {p.max()} features (limit {MAX_PATH_FEATURES})")
    weight = _branch_weight(nodes.cover[np.maximum(paths.child, 0)], nodes.cover[safe])
    shape = (len(p), max(int(p.max(initial=0)), 1))
    s = _Slots(np.full(shape, n_features), np.ones(shape), np.full(shape, np.inf, np.float32),
               np.full(shape, -np.inf, np.float32), np.ones(shape, bool), np.ones(shape, bool),
               np.zeros(shape, bool), np.zeros(shape, bool), p)  # fmt: skip
    for k in range(feature.shape[1]):
        rows = np.flatnonzero(valid[:, k])
        j, node = slot[rows, k], safe[rows, k]
        s.feature[rows, j] = feature[rows, k]
        s.z[rows, j] *= weight[rows, k]
        go = paths.went_left[rows, k]
        _tighten(s.hi, s.nan_hi, s.has_hi, rows[go], j[go], nodes.threshold[node[go]],
                 nodes.default_left[node[go]], np.minimum)  # fmt: skip
        _tighten(s.lo, s.nan_lo, s.has_lo, rows[~go], j[~go], nodes.threshold[node[~go]],
                 ~nodes.default_left[node[~go]], np.maximum)  # fmt: skip
    return s


def _tighten(bound: np.ndarray, nan_ok: np.ndarray, has: np.ndarray, rows: np.ndarray, j: np.ndarray,
             threshold: np.ndarray, nan_follows: np.ndarray, combine: np.ufunc) -> None:  # fmt: skip
    """Intersect a slot's interval with one more path node (rows/j pairs are unique)."""
    bound[rows, j] = combine(bound[rows, j], threshold)
    nan_ok[rows, j] &= nan_follows
    has[rows, j] = True


def _tables(slots: _Slots, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum of 2^bits, P) table and (L,) row offsets: row offset[l] + pattern is leaf l's phi.

    Pattern bit j < p is slot j's first test; bit p + m is the lower-bound test of the m-th
    two-sided slot, so o_j is the AND of two bits there (rows are repeated accordingly).
    Blocks are laid out by (p, t) so that each group is filled through one slice.
    """
    t = slots.bits - slots.p
    order = np.lexsort((t, slots.p))
    size = 1 << slots.bits[order]
    start = np.cumsum(size) - size
    offset = np.empty(len(order), np.int64)
    offset[order] = start
    table = np.zeros((int(size.sum()), slots.z.shape[1]))
    key = (slots.p * 64 + t)[order]
    bounds = [0, *(np.flatnonzero(np.diff(key)) + 1).tolist(), len(order)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        for first in range(lo, hi, GAME_CHUNK):
            leaves = order[first : min(first + GAME_CHUNK, hi)]
            rows = table[start[first] : start[first] + size[first] * len(leaves)]
            _fill(rows.reshape(len(leaves), size[first], -1), slots, value, leaves)
    return table, offset


def _fill(block: np.ndarray, slots: _Slots, value: np.ndarray, leaves: np.ndarray) -> None:
    """Write the tables of `leaves` (all with the same p and t) into block (G, 2^(p+t), P)."""
    p, t = int(slots.p[leaves[0]]), int(slots.bits[leaves[0]] - slots.p[leaves[0]])
    if p == 0:
        return
    phi = _leaf_game_tables(slots.z[leaves, :p], value[leaves])
    if t:
        two_sided = np.nonzero(slots.two_sided[leaves])[1].reshape(len(leaves), t)
        phi = np.take_along_axis(phi, _fold(p, two_sided)[:, None, :], axis=2)
    block[:, :, :p] = phi.transpose(0, 2, 1)


def _fold(p: int, two_sided: np.ndarray) -> np.ndarray:
    """(G, 2^(p+t)) feature pattern o of each bit pattern: a failed bit p + m clears its slot."""
    bits = np.arange(1 << (p + two_sided.shape[1]))
    o = np.broadcast_to(bits & ((1 << p) - 1), (len(two_sided), len(bits)))
    for m in range(two_sided.shape[1]):
        failed = (((bits >> (p + m)) & 1) ^ 1)[None, :]
        o = o & ~(failed << two_sided[:, m, None])
    return o


def _leaf_game_tables(z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(G, p, 2^p) Shapley values of G leaf games for every pattern o (bit j = o_j).

    phi_i(o) = v (o_i - z_i) sum_s w_s [t^s] prod_{j<i} (z_j + o_j t) prod_{j>i} (z_j + o_j t)
    with w_s = s!(p-1-s)!/p!: a bilinear form of prefix and suffix polynomials, one matmul pair.
    """
    G, p = z.shape
    w = np.array([math.factorial(s) * math.factorial(p - 1 - s) / math.factorial(p) for s in range(p)])
    prefix, suffix = [v.reshape(G, 1, 1)], [np.ones((G, 1, 1))]
    for k in range(p - 1):  # prefix[i]: (G, 2^i, i + 1), pattern bits 0..i-1
        prefix.append(_extend(prefix[-1], z[:, k], high=True))
    for k in range(p - 1, 0, -1):  # suffix[i]: (G, 2^(p-1-i), p - i), pattern bits i+1..p-1
        suffix.insert(0, _extend(suffix[0], z[:, k], high=False))
    out = np.empty((G, p, 1 << p))
    for i in range(p):
        hankel = w[np.add.outer(np.arange(p - i), np.arange(i + 1))]
        sums = suffix[i] @ (hankel @ prefix[i].transpose(0, 2, 1))  # (G, hi, lo)
        view = out[:, i].reshape(G, 1 << (p - 1 - i), 2, 1 << i)  # pattern = hi, o_i, lo
        zi = z[:, i, None, None]
        np.multiply(sums, -zi, out=view[:, :, 0])
        np.multiply(sums, 1 - zi, out=view[:, :, 1])
    return out


def _extend(poly: np.ndarray, zk: np.ndarray, high: bool) -> np.ndarray:
    """(G, n, d) polynomials of n patterns -> (G, 2n, d + 1): times z_k (o_k = 0) and times
    z_k + t (o_k = 1), o_k becoming the high or the low bit of the pattern."""
    G, n, d = poly.shape
    out = np.zeros((G, 2, n, d + 1) if high else (G, n, 2, d + 1))
    off, on = (out[:, 0], out[:, 1]) if high else (out[:, :, 0], out[:, :, 1])
    np.multiply(poly, zk[:, None, None], out=off[..., :-1])
    on[..., :-1] = off[..., :-1]
    on[..., 1:] += poly
    return out.reshape(G, 2 * n, d + 1)


def _comparisons(s: _Slots, n_features: int, width: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat `xs[src] < thr` tests, `width` per leaf, on xs = [x, -x, x NaN->-inf, -x NaN->-inf],
    and the number of blocks of xs (4, or 6 when a bound is -inf).

    Slot j's first test (bit j) is x < hi, or for slots without an upper bound x >= lo written
    as -x < nextafter(-lo); two-sided slots add that lower test as bit p + m. Padding compares
    with -inf and never passes.

    A split at -inf (XGBoost's split of the unknown values from all others) defeats the NaN->-inf
    copies: `x < -inf` holds for NaN alone (when it goes left) and `x >= -inf` for every number,
    -inf included. Those bounds test two more blocks, 0/1 and 0/-1 (0 for NaN): "NaN" is
    `nan01 < 0.5`, "a number" is `-nan01 < -0.5`, "always" is `nan01 < 2`.
    """
    L, P = s.feature.shape
    f = np.minimum(s.feature, n_features - 1)
    upper_src = f + np.where(s.nan_hi, 2 * n_features, 0)
    lower_src = f + np.where(s.nan_lo, 3 * n_features, n_features)
    lower_thr = np.nextafter(-s.lo, np.float32(np.inf))
    upper_thr = s.hi.copy()
    minus_inf_hi, minus_inf_lo = s.has_hi & (s.hi == -np.inf), s.has_lo & (s.lo == -np.inf)
    blocks = 6 if (minus_inf_hi.any() or minus_inf_lo.any()) else 4
    if blocks == 6:
        upper_src = np.where(minus_inf_hi, f + 4 * n_features, upper_src)
        upper_thr = np.where(minus_inf_hi, np.where(s.nan_hi, 0.5, -np.inf), upper_thr).astype(np.float32)
        lower_src = np.where(minus_inf_lo, f + np.where(s.nan_lo, 4, 5) * n_features, lower_src)
        lower_thr = np.where(minus_inf_lo, np.where(s.nan_lo, 2.0, -0.5), lower_thr).astype(np.float32)
    real = np.arange(P) < s.p[:, None]
    src, thr = np.zeros((L, width), np.intp), np.full((L, width), -np.inf, np.float32)
    src[:, :P] = np.where(s.has_hi, upper_src, lower_src)
    thr[:, :P] = np.where(real, np.where(s.has_hi, upper_thr, lower_thr), -np.inf)
    two = s.two_sided
    rows = np.nonzero(two)[0]
    cols = s.p[rows] + (np.cumsum(two, axis=1) - 1)[two]
    src[rows, cols], thr[rows, cols] = lower_src[two], lower_thr[two]
    return src.ravel(), thr.ravel(), blocks


def _pack(passes: np.ndarray, width: int) -> np.ndarray:
    """(n, L * width) 0/1 bytes -> (n, L) patterns (bit j = byte j), via one multiply per word."""
    if width == 16:
        both = _pack(passes, 8)
        return both[:, 0::2] | (both[:, 1::2].astype(np.intp) << 8)
    dtype, magic = _MAGIC[width]
    product = passes.view(dtype) * dtype(magic)  # wraps; bit j lands in bit 8 * (width - 1) + j
    return product.view(np.uint8)[:, width - 1 :: width]
