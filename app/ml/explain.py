"""Decision reasons: the features that pushed a decision most, each in words an analyst reads.

Contributions are TreeSHAP values in log-odds (`ScoringModel.contributions`): positive pushes
towards block, negative towards bill. A reason is a feature that pushed towards the decision; its
sentence comes from the catalogue (app/ml/templates.py) for the direction it pushed, and ends
with where the value stands among the company's training orders (app/ml/reference.py): "Order is
2.1x the customer's credit limit (R$ 23,095.24) - higher than in 96% of this company's orders".

For a directional feature (app/ml/monotone.py) the comparison looks the way it pushed (a late
share pushing towards bill reads "lower than in 70%"); a value that stands at the other end of
the company's range from where it pushed is not cited (a model trained without constraints can
learn such pushes; they would contradict the sentence). Other features compare on the side where
most orders are. Facts without a direction of their own (`templates.DIRECTIONLESS`) and unknown
values pushing towards bill are never cited. Each reason's `share` is its percentage of the total
push towards the decision (the sum over every feature that pushed that way, shown or not).

A batch's reasons come from `explain_rows` as columns (`Explained`): the pushes, their order, the
contributions and the shares are NumPy operations over the whole batch; only the sentences are
written row by row. `reasons` and `reasons_of_rows` give them as `Reason`s.
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from string import Formatter
from typing import NamedTuple

import numpy as np

from app.ml import monotone
from app.ml.features import HISTORY_FEATURES, SERASA_FEATURES
from app.ml.reference import Reference, Standing
from app.ml.schema import SERASA_PERCENT_FIELDS
from app.ml.templates import (
    CATALOGUE,
    COMPARISONS,
    COUNTED_BY,
    DIRECTIONLESS,
    GENERIC,
    LANGUAGES,
    MISSING,
    RATIO_PHRASES,
    SEPARATOR,
)

DECISIONS = ("bill", "block")

MONEY = frozenset({
    "amount", "limit_amount", "pefin_amount", "refin_amount", "overdue_debts_amount",
    "past_mean_amount", "exposure_30d", "exposure_90d",
})  # fmt: skip
RATIOS = frozenset({"amount_to_limit", "amount_to_past_mean"})
PERCENTAGES = frozenset(SERASA_PERCENT_FIELDS)
FRACTIONS = frozenset({"past_block_rate"})
_SERASA_GROUP = frozenset({*SERASA_FEATURES, "serasa_score", "serasa_age_days"})
_HISTORY_GROUP = frozenset(HISTORY_FEATURES)
_HISTORY_TALK = _HISTORY_GROUP - {"exposure_30d", "exposure_90d"}
"""History features that read as "No earlier orders from this customer" when there are none."""
_DIRECTIONS = {name: sign for name, (sign, _) in monotone.MONOTONE.items()}
_LIMIT_GROUP = frozenset({"amount_to_limit", "limit_age_days"})

_WORDS = {
    "en": {"unknown": "unknown", "day": "day", "days": "days", "hour": "hour", "hours": "hours",
           "years": "years", "before": "before the order", "on_date": "on the order date",
           "under_hour": "less than an hour", "tiny": "less than {p}"},
    "pt-BR": {"unknown": "desconhecido", "day": "dia", "days": "dias", "hour": "hora",
              "hours": "horas", "years": "anos", "before": "antes do pedido",
              "on_date": "na data do pedido", "under_hour": "menos de uma hora", "tiny": "menos de {p}"},
}  # fmt: skip

Row = Mapping[str, float | None]


class Reason(NamedTuple):
    """One feature behind a decision: its value, its log-odds contribution, a sentence, its share
    (%) of the push towards the decision, the way it pushed and the share (%) of the company's
    training orders with a lower value (None without a reference or for an unknown value).

    A named tuple: a frozen dataclass costs ~1.5 µs more each. (The decision pipeline builds none:
    it writes its answers from `explain_rows`' columns.)"""

    feature: str
    value: float | None
    contribution: float
    text: str
    share: float = 0.0
    direction: str = "block"
    percentile: int | None = None


def reasons(
    features_row: Row,
    contributions: np.ndarray,
    feature_names: Sequence[str],
    decision: str,
    lang: str = "en",
    top_n: int = 5,
    reference: Reference | None = None,
) -> list[Reason]:
    """Up to `top_n` features that pushed most towards `decision` ("bill" or "block")."""
    contrib = np.asarray(contributions, dtype=np.float64).ravel()
    return reasons_of_rows([features_row], contrib.reshape(1, -1), feature_names, [decision], lang, top_n,
                           reference)[0]


def reasons_of_rows(
    rows: Sequence[Row],
    contributions: np.ndarray,
    feature_names: Sequence[str],
    decisions: Sequence[str],
    lang: str = "en",
    top_n: int = 5,
    reference: Reference | None = None,
) -> list[list[Reason]]:
    """`reasons` of each row of a batch (`contributions`: one row of each, bias column last)."""
    return explain_rows(rows, contributions, feature_names, decisions, lang, top_n, reference).reasons()


@dataclass(frozen=True, slots=True)
class Explained:
    """The reasons of a batch, as columns of one entry per reason, row after row: row k's are
    entries `ends[k - 1]` (0 for the first row) to `ends[k]`; each column is a `Reason` field.

    Columns, not a `Reason` each: the decision pipeline writes its answers' reasons straight from
    them and rounds all their contributions in one NumPy pass."""

    ends: list[int]
    features: list[str]
    values: list[float | None]
    contributions: np.ndarray
    """float64, signed (negative towards bill)."""
    texts: list[str]
    shares: list[float]
    directions: list[str]
    percentiles: list[int | None]

    def reasons(self) -> list[list[Reason]]:
        """Each row's reasons as `Reason`s."""
        every = list(map(Reason, self.features, self.values, self.contributions.tolist(), self.texts, self.shares,
                         self.directions, self.percentiles))
        return [every[start:end] for start, end in zip([0, *self.ends], self.ends, strict=False)]


def explain_rows(
    rows: Sequence[Row],
    contributions: np.ndarray,
    feature_names: Sequence[str],
    decisions: Sequence[str],
    lang: str = "en",
    top_n: int = 5,
    reference: Reference | None = None,
) -> Explained:
    """The reasons of each row of a batch (`contributions`: one row of each, bias column last): the
    pushes, their totals, their order, the contributions and shares of the reasons come from NumPy
    passes over the whole batch, the sentences from a loop that stops at each row's `top_n`-th
    reason."""
    contrib = np.asarray(contributions, dtype=np.float64)
    pushes = _pushes(contrib, feature_names, decisions, lang)
    positive = pushes > 0
    totals = np.where(positive, pushes, 0.0).sum(axis=1)
    ranks = np.argsort(-pushes, axis=1, kind="stable").tolist()  # the positive pushes first, largest first
    said = _sentences(rows, ranks, positive.sum(axis=1).tolist(), feature_names, decisions, lang, top_n, reference)
    cells = np.array(said.cells, dtype=np.intp)
    owners = np.searchsorted(said.ends, np.arange(len(cells)), side="right")  # each reason's row
    # a contribution is its push with the decision's sign: `contrib` itself; a share is
    # round(100 * push / total, 1), each operation in that order on the same float64s
    shares = rounded(100.0 * pushes[owners, cells] / totals[owners], 1)
    return Explained(said.ends, [feature_names[i] for i in said.cells], said.values, contrib[owners, cells],
                     said.texts, shares, said.directions, said.percentiles)


@dataclass(frozen=True, slots=True)
class _Said:
    """`_sentences`' columns: each reason's feature (column index), value, sentence, percentile
    and direction, and where each row's reasons end."""

    ends: list[int]
    cells: list[int]
    values: list[float | None]
    texts: list[str]
    percentiles: list[int | None]
    directions: list[str]


def _sentences(rows: Sequence[Row], ranks: list[list[int]], positives: list[int], feature_names: Sequence[str],
               decisions: Sequence[str], lang: str, top_n: int, reference: Reference | None) -> _Said:
    """Row by row, the features that pushed towards the decision (`positives` of them, first in
    `ranks`) in order, described until `top_n` are said: each sentence once per row."""
    describers = {decision: _describers(feature_names, decision, lang, reference) for decision in set(decisions)}
    ends: list[int] = []
    cells: list[int] = []
    values: list[float | None] = []
    texts: list[str] = []
    percentiles: list[int | None] = []
    directions: list[str] = []
    for row, rank, positive, decision in zip(rows, ranks, positives, decisions, strict=True):
        describe_ = describers[decision]
        seen: set[str] = set()
        for i in rank[:positive]:
            if len(seen) == top_n:
                break
            described = describe_[i](row)
            if described is None or described[0] in seen:
                continue
            text, percentile = described
            seen.add(text)
            value = row.get(feature_names[i])
            cells.append(i)
            values.append(None if value is None or value != value else float(value))  # _value(value), inline
            texts.append(text)
            percentiles.append(percentile)
            directions.append(decision)
        ends.append(len(cells))
    return _Said(ends, cells, values, texts, percentiles, directions)


def rounded(values: np.ndarray, decimals: int) -> list[float]:
    """`[round(v, decimals) for v in values]`, bit for bit, from a few NumPy passes (round() costs
    ~0.3 µs a number; a batch of 500 decisions rounds ~7,000).

    round() rounds the exact binary value, half to even; rint(v * 10**decimals) / 10**decimals
    gives the same float unless the scaled product (itself rounded) lands within a few ulps of a
    half, is too big to have a fraction or is not finite: those few are left to round(), and so
    are short arrays (NumPy's fixed cost is that of ~30 round()s)."""
    if not 0 <= decimals <= 22:  # 10**decimals exact
        raise ValueError(f"decimals must be in 0..22, got {decimals}")
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(v) < 32:
        return [round(x, decimals) for x in v.tolist()]
    scale = 10.0**decimals
    scaled = v * scale
    out = (np.rint(scaled) / scale).tolist()
    magnitude = np.abs(scaled)
    with np.errstate(invalid="ignore"):
        doubtful = ~(magnitude < 2.0**52) | (np.abs(scaled - np.floor(scaled) - 0.5) <= magnitude * 2.0**-50)
    for i in np.flatnonzero(doubtful).tolist():
        out[i] = round(float(v[i]), decimals)
    return out


def describe(
    feature: str, row: Row, direction: str, lang: str = "en", reference: Reference | None = None
) -> tuple[str, int | None] | None:
    """The sentence for `feature` of `row` pushing towards `direction`, and the value's percentile
    among the training orders; None when it is not a reason (see the module docstring)."""
    return _describer(feature, direction, lang, reference)(row)


def sentence(feature: str, row: Row, lang: str = "en", direction: str = "block") -> str:
    """The catalogue sentence for a known value of `feature` pushing towards `direction` (no
    comparison)."""
    return _sentence_writer(feature, direction, lang)(row)


def comparison(feature: str, standing: Standing, direction: str, lang: str) -> str | None | bool:
    """Where a value stands, in words; None when there is nothing to say; False when a
    directional feature's value stands at the end opposite to where it pushed."""
    return _comparer(feature, direction, lang)(*standing)


# Sentences are compiled: each (feature, direction, language) becomes a function of the row, with
# its template cut into literal text and placeholder writers, its variants, its reference's
# quantiles and its comparison phrases bound once, so that a reason costs a few calls and no
# lookup in the catalogue (a batch of 500 decisions writes ~2,500 of them).

Describer = Callable[[Row], "tuple[str, int | None] | None"]
_DESCRIBERS: dict[tuple[str, str, str], Describer] = {}
"""Describers without a reference (with one, they live in `Reference.said`, dropped with it)."""


def _describers(feature_names: Sequence[str], direction: str, lang: str,
                reference: Reference | None) -> list[Describer]:
    cache = _DESCRIBERS if reference is None else reference.said
    key = (tuple(feature_names), direction, lang)
    found = cache.get(key)
    if found is None:
        found = cache[key] = [_describer(name, direction, lang, reference) for name in feature_names]
    return found


def _describer(feature: str, direction: str, lang: str, reference: Reference | None) -> Describer:
    cache = _DESCRIBERS if reference is None else reference.said
    key = (feature, direction, lang)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _compile_describer(feature, direction, lang, reference)
    return found


def _compile_describer(feature: str, direction: str, lang: str, reference: Reference | None) -> Describer:
    if feature in DIRECTIONLESS:
        return _nothing
    unknown = _unknown_describer(feature, direction, lang, reference)
    known = _known_describer(feature, direction, lang, reference)
    # "No earlier orders from this customer", not "0 of 0": the count speaks, at value 0
    first_order = _known_describer("past_orders_count", direction, lang, reference) \
        if feature in _HISTORY_TALK else None

    def said(row: Row) -> tuple[str, int | None] | None:
        value = row.get(feature)
        if value is None or value != value:  # unknown (None or NaN)
            return unknown(row)
        if first_order is not None:
            past = row.get("past_orders_count")
            if past is None or past != past or not past:
                return first_order(row, 0.0)
        return known(row, float(value))

    return said


def _nothing(row: Row) -> None:
    return None


def _unknown_describer(feature: str, direction: str, lang: str, reference: Reference | None) -> Describer:
    """An unknown value: a reason to block only, worded by the `MISSING` entry it reads as."""
    if direction != "block":
        return _nothing
    keys = [key for key, group in (("serasa_age_days", _SERASA_GROUP), ("past_orders_count", _HISTORY_GROUP),
                                   ("limit_amount", _LIMIT_GROUP)) if feature in group]
    said = {key: _missing_said(key, reference, lang) for key in [*keys, feature] if key in MISSING}

    def unknown(row: Row) -> tuple[str, None] | None:
        missing = _missing(feature, row)
        return None if missing is None else said[missing]

    return unknown


def _missing_said(key: str, reference: Reference | None, lang: str) -> tuple[str, None]:
    text = MISSING[key][lang]
    phrase = _missing_comparison(key, reference, lang)
    return (text if phrase is None else text + SEPARATOR + phrase), None


def _known_describer(feature: str, direction: str, lang: str,
                     reference: Reference | None) -> Callable[[Row, float], tuple[str, int | None] | None]:
    """A known value: the sentence, then where the value stands (with a reference)."""
    write = _sentence_writer(feature, direction, lang)
    ref = reference.features.get(feature) if reference is not None else None
    if ref is None or ref.quantiles is None:
        return lambda row, value: (write(row), None)
    quantiles, compare = ref.quantiles, _comparer(feature, direction, lang)

    def known(row: Row, value: float) -> tuple[str, int | None] | None:
        # ref.standing(value) unpacked here (tests/ml/test_explain.py checks they agree): ~2,500
        # reasons a batch save a call and a named tuple each
        lo, hi = bisect_left(quantiles, value), bisect_right(quantiles, value)
        below = lo - 1 if lo else 0
        phrase = compare(below, 100 - hi if hi < 101 else 0, hi - lo - 1 if hi > lo else 0)
        if phrase is False:
            return None
        text = write(row)
        return (text if phrase is None else text + SEPARATOR + phrase), below

    return known


Comparer = Callable[[int, int, int], "str | None | bool"]
"""Where a value stands in words, from its `Standing` (below, above, equal)."""


def _comparer(feature: str, direction: str, lang: str) -> Comparer:
    phrases = _COMPARED[lang]
    same = phrases["same"]
    sign = _DIRECTIONS.get(feature, 0)
    if sign:
        higher = (sign > 0) == (direction == "block")
        extreme, side = phrases["highest" if higher else "lowest"][0], phrases["higher" if higher else "lower"]

        def directional(below: int, above: int, equal: int) -> str | bool:
            if equal >= 50:
                return same[equal]
            beyond = below if higher else above
            if beyond >= 100:
                return extreme
            return side[beyond] if beyond >= 1 else False

        return directional

    def either_way(below: int, above: int, equal: int) -> str | None:
        if equal >= 50:
            return same[equal]
        higher = below >= above
        beyond = below if higher else above
        if beyond >= 100:
            return phrases["highest" if higher else "lowest"][0]
        if beyond >= 1:
            return phrases["higher" if higher else "lower"][beyond]
        return same[equal] if equal >= 1 else None

    return either_way


_COMPARED = {lang: {key: [text.format(p=f"{p}%") for p in range(101)] for key, text in words.items()}
             for lang, words in COMPARISONS.items()}
"""Every comparison phrase for every whole percentage, built once (a decision formats none)."""


@functools.cache  # per (feature, direction, language): a bounded set
def _sentence_writer(feature: str, direction: str, lang: str) -> Callable[[Row], str]:
    entry = CATALOGUE.get(feature)
    if entry is None:
        label, generic = feature.replace("_", " ").capitalize(), GENERIC[lang]
        return lambda row: generic.format(feature=label, value=format_value(feature, row.get(feature), lang))
    template = entry[direction][lang]
    if not isinstance(template, tuple):
        return _template_writer(template, lang)
    # (zero, one, many) by the selector's value: exactly 0, exactly 1, else; an empty variant is many
    zero, one, many = (_template_writer(variant or template[2], lang) for variant in template)
    selector = COUNTED_BY.get(feature, feature)

    def variant(row: Row) -> str:
        chosen = row.get(selector)
        if chosen is None or chosen != chosen or chosen == 0:  # _value(chosen) or 0.0, inline: unknown is 0
            return zero(row)
        return (one if chosen == 1 else many)(row)

    return variant


def _template_writer(template: str, lang: str) -> Callable[[Row], str]:
    """The template's literal text around its placeholders' texts (the catalogue's have at most
    two: written as concatenations, cheaper than a join)."""
    literals, writers = [""], []
    for text, field, _, _ in Formatter().parse(template):
        literals[-1] += text
        if field is not None:
            writers.append(_placeholder_writer(field, lang))
            literals.append("")
    if not writers:
        return lambda row: template
    if len(writers) == 1:
        (head, tail), (write,) = literals, writers
        return lambda row: head + write(row) + tail
    if len(writers) == 2:
        (head, middle, tail), (first, second) = literals, writers
        return lambda row: head + first(row) + middle + second(row) + tail
    pieces, tail = tuple(zip(literals, writers, strict=False)), literals[-1]  # the tail last
    return lambda row: "".join([text + write(row) for text, write in pieces]) + tail


def _placeholder_writer(key: str, lang: str) -> Callable[[Row], str]:
    """A placeholder's text for one row: a phrase, a ratio or a formatted value."""
    phrase = _PHRASES.get(key)
    if phrase is not None:
        words, source = phrase
        return lambda row: words(row.get(source), lang)
    write = _ratio_writer(lang) if key in RATIOS else _formatter(key, lang)
    unknown = _WORDS[lang]["unknown"]

    def placeholder(row: Row) -> str:
        value = row.get(key)
        return unknown if value is None or value != value else write(float(value))  # format_value, inline

    return placeholder


def missing_features(row: Row) -> list[str]:
    """Which inputs were unknown for this row: customer, credit_limit, serasa_report,
    serasa_score, order_history."""
    # unknown: None or NaN (`_value(x) is None`), written inline: one call per decision, not six
    tenure, simples, limit = row.get("tenure_days"), row.get("simples_nacional"), row.get("limit_amount")
    serasa, score, past = row.get("serasa_age_days"), row.get("serasa_score"), row.get("past_orders_count")
    missing = []
    if (tenure is None or tenure != tenure) and (simples is None or simples != simples):
        missing.append("customer")
    if limit is None or limit != limit:
        missing.append("credit_limit")
    if serasa is None or serasa != serasa:
        missing.append("serasa_report")
    elif score is None or score != score:
        missing.append("serasa_score")
    if past is None or past != past or not past:
        missing.append("order_history")
    return missing


def format_money(amount: float, lang: str) -> str:
    """R$ 12,345.67 (en) or R$ 12.345,67 (pt-BR)."""
    return "R$ " + _number(amount, 2, lang)


def _missing(feature: str, row: Row) -> str | None:
    """The `MISSING` entry an unknown `feature` reads as, or None when it says nothing."""
    if feature in _SERASA_GROUP and _value(row.get("serasa_age_days")) is None:
        return "serasa_age_days"
    if feature in _HISTORY_GROUP and not _value(row.get("past_orders_count")):
        return "past_orders_count"
    if feature in _LIMIT_GROUP and _value(row.get("limit_amount")) is None:
        return "limit_amount"
    return feature if feature in MISSING else None


def _missing_comparison(key: str, reference: Reference | None, lang: str) -> str | None:
    ref = reference.get(key) if reference is not None else None
    if ref is None:
        return None
    words = COMPARISONS[lang]
    if key == "past_orders_count":  # known (0), not null: the share of first orders
        standing = ref.standing(0.0)
        return None if standing is None or not standing.equal else words["same"].format(p=f"{standing.equal}%")
    if ref.missing <= 0:
        return words["never_missing"]
    return words["missing"].format(p=_share_text(ref.missing, lang))


def _share_text(share: float, lang: str) -> str:
    percent = math.floor(100 * share)
    return f"{percent}%" if percent >= 1 else _WORDS[lang]["tiny"].format(p="1%")


def format_value(feature: str, value: float | None, lang: str) -> str:
    """A feature value as an analyst reads it (money, 2.4x or 12%, 12.5%, counts)."""
    v = _value(value)
    return _WORDS[lang]["unknown"] if v is None else _formatter(feature, lang)(v)


@functools.cache
def _formatter(feature: str, lang: str) -> Callable[[float], str]:
    """`format_value` of a known value, compiled once per (feature, language)."""
    if feature in MONEY:
        cents = _number_writer(2, lang)
        return lambda v: "R$ " + cents(v)
    if feature in RATIOS:
        tenths = _number_writer(1, lang)
        return lambda v: (tenths(v) + "x") if abs(v) >= 1 else _percent(100 * v, lang)
    if feature in PERCENTAGES:
        tenths = _number_writer(1, lang, trim=True)
        return lambda v: tenths(v) + "%"
    if feature in FRACTIONS:
        tenths = _number_writer(1, lang, trim=True)
        return lambda v: tenths(100 * v) + "%"
    return _number_writer(2, lang, trim=True)


def _ratio_writer(lang: str) -> Callable[[float], str]:
    """'2.1x the' / '12% of the' ('2,1x o' / '12% do') of a known ratio: below 1 it reads as a
    percentage."""
    multiple, share = RATIO_PHRASES[lang]
    tenths = _number_writer(1, lang, trim=True)
    return lambda v: multiple.format(x=tenths(v)) if abs(v) >= 1 else share.format(p=_percent(100 * v, lang))


def _percent(percent: float, lang: str) -> str:
    """12%, 4.5%, 0.25%; 'less than 0.01%' for a tiny positive share."""
    if 0 < percent < 0.01:
        return _WORDS[lang]["tiny"].format(p=_number(0.01, 2, lang) + "%")
    decimals = 0 if percent >= 10 else 1 if percent >= 1 else 2
    return _number_writer(decimals, lang, trim=True)(percent) + "%"


def _ago(days: float | None, lang: str) -> str:
    words, d = _WORDS[lang], _value(days)
    if d is None:
        return words["unknown"]
    n = max(round(d), 0)
    if n == 0:
        return words["on_date"]
    return f"{_number(n, 0, lang)} {words['day'] if n == 1 else words['days']} {words['before']}"


def _tenure(days: float | None, lang: str) -> str:
    words, d = _WORDS[lang], _value(days)
    if d is None:
        return words["unknown"]
    n = max(round(d), 0)
    if n < 365:
        return f"{_number(n, 0, lang)} {words['day'] if n == 1 else words['days']}"
    return f"{_number(n / 365.25, 1, lang)} {words['years']}"


def _gap(days: float | None, lang: str) -> str:
    words, d = _WORDS[lang], _value(days)
    if d is None:
        return words["unknown"]
    if d < 1:
        hours = round(d * 24)
        if hours == 0:
            return words["under_hour"]
        return f"{hours} {words['hour'] if hours == 1 else words['hours']}"
    n = round(d)
    return f"{_number(n, 0, lang)} {words['day'] if n == 1 else words['days']}"


_PHRASES = {
    "serasa_when": (_ago, "serasa_age_days"),
    "limit_when": (_ago, "limit_age_days"),
    "tenure": (_tenure, "tenure_days"),
    "previous_gap": (_gap, "days_since_previous_order"),
}
"""Placeholders that are phrases: (formatter, the feature it reads)."""


def _number(value: float, decimals: int, lang: str) -> str:
    """12,345.67 (en) or 12.345,67 (pt-BR)."""
    return _number_writer(decimals, lang)(value)


@functools.cache
def _number_writer(decimals: int, lang: str, trim: bool = False) -> Callable[[float], str]:
    """A number with these decimals in this language, as one call; `trim` drops trailing decimal
    zeros (12.0 -> 12, 12,50 -> 12,5)."""
    portuguese = lang == "pt-BR"
    # pt-BR: grouped by "_", then the marks swapped by two replaces (~3x cheaper than str.translate)
    spec, point = (f"_.{decimals}f", ",") if portuguese else (f",.{decimals}f", ".")

    def number(value: float) -> str:
        text = format(value, spec)
        if portuguese:
            text = text.replace(".", ",").replace("_", ".")
        return text.rstrip("0").rstrip(point) if trim and point in text else text

    return number


def _value(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def _pushes(contributions: np.ndarray, names: Sequence[str], decisions: Sequence[str], lang: str) -> np.ndarray:
    """(rows, features): each contribution towards its row's decision (bias column dropped)."""
    contrib = np.asarray(contributions, dtype=np.float64)
    if contrib.ndim != 2 or contrib.shape[1] != len(names) + 1 or len(contrib) != len(decisions):
        raise ValueError(f"expected {len(decisions)} rows of {len(names) + 1} contributions (+ bias), "
                         f"got {contrib.shape}")
    unknown = set(decisions).difference(DECISIONS)
    if unknown:
        raise ValueError(f"decision must be one of {DECISIONS}, got {sorted(unknown)[0]!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    block = np.fromiter((d == "block" for d in decisions), dtype=bool, count=len(decisions))
    return np.where(block[:, None], contrib[:, :-1], -contrib[:, :-1])
