"""Decision reasons: the features that pushed a decision most, each with a sentence.

Contributions are TreeSHAP values in log-odds (`ScoringModel.contributions`): positive pushes
towards block, negative towards bill. Sentences state facts about the order ("Order amount is
2.4x the customer's credit limit"), so the same sentence reads right for either decision.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.ml.features import HISTORY_FEATURES, SERASA_FEATURES, UFS
from app.ml.schema import SERASA_PERCENT_FIELDS
from app.ml.templates import COUNTED_BY, GENERIC, MISSING_TEMPLATES, TEMPLATES

LANGUAGES = ("en", "pt-BR")
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

_WORDS = {
    "en": {"unknown": "unknown", "day": "day", "days": "days", "hour": "hour", "hours": "hours",
           "years": "years", "before": "before the order", "on_date": "on the order date",
           "under_hour": "less than an hour"},
    "pt-BR": {"unknown": "desconhecido", "day": "dia", "days": "dias", "hour": "hora",
              "hours": "horas", "years": "anos", "before": "antes do pedido",
              "on_date": "na data do pedido", "under_hour": "menos de uma hora"},
}  # fmt: skip

Row = Mapping[str, float | None]


@dataclass(frozen=True)
class Reason:
    """One feature behind a decision: its value, its log-odds contribution and a sentence."""

    feature: str
    value: float | None
    contribution: float
    text: str


def reasons(
    features_row: Row,
    contributions: np.ndarray,
    feature_names: Sequence[str],
    decision: str,
    lang: str = "en",
    top_n: int = 5,
) -> list[Reason]:
    """Up to `top_n` features that pushed most towards `decision` ("bill" or "block").

    Nulls are skipped unless informative (no credit limit, no Serasa report, no history);
    features producing an already used sentence are skipped too.
    """
    contrib = _check(contributions, feature_names, decision, lang)
    sign = 1.0 if decision == "block" else -1.0
    out: list[Reason] = []
    seen: set[str] = set()
    for i in np.argsort(-sign * contrib, kind="stable"):
        if sign * contrib[i] <= 0 or len(out) == top_n:
            break
        name = feature_names[i]
        text = sentence(name, features_row, lang)
        if text is None or text in seen:
            continue
        seen.add(text)
        out.append(Reason(name, _value(features_row.get(name)), float(contrib[i]), text))
    return out


def sentence(feature: str, row: Row, lang: str = "en") -> str | None:
    """The sentence for one feature of `row`, or None for an uninformative null."""
    value = _value(row.get(feature))
    if value is None:
        return _missing_sentence(feature, row, lang)
    if feature in _HISTORY_GROUP and not _value(row.get("past_orders_count")):
        return TEMPLATES["past_orders_count"][lang][0]
    template = TEMPLATES.get(COUNTED_BY.get(feature, feature), {}).get(lang)
    if template is None:
        label = feature.replace("_", " ").capitalize()
        return GENERIC[lang].format(feature=label, value=format_value(feature, value, lang))
    if isinstance(template, tuple):
        selector = _value(row.get(COUNTED_BY.get(feature, feature))) or 0.0
        template = _variant(template, selector)
    return template.format_map(_Context(row, lang))


def missing_features(row: Row) -> list[str]:
    """Which inputs were unknown for this row: customer, credit_limit, serasa_report,
    serasa_score, order_history."""
    missing = []
    if _value(row.get("tenure_days")) is None and _value(row.get("simples_nacional")) is None:
        missing.append("customer")
    if _value(row.get("limit_amount")) is None:
        missing.append("credit_limit")
    if _value(row.get("serasa_age_days")) is None:
        missing.append("serasa_report")
    elif _value(row.get("serasa_score")) is None:
        missing.append("serasa_score")
    if not _value(row.get("past_orders_count")):
        missing.append("order_history")
    return missing


def format_money(amount: float, lang: str) -> str:
    """R$ 12,345.67 (en) or R$ 12.345,67 (pt-BR)."""
    return "R$ " + _number(amount, 2, lang)


def _missing_sentence(feature: str, row: Row, lang: str) -> str | None:
    if feature in _SERASA_GROUP and _value(row.get("serasa_age_days")) is None:
        return MISSING_TEMPLATES["serasa_age_days"][lang]
    if feature in _HISTORY_GROUP and not _value(row.get("past_orders_count")):
        return MISSING_TEMPLATES["past_orders_count"][lang]
    if feature in ("amount_to_limit", "limit_age_days") and _value(row.get("limit_amount")) is None:
        return MISSING_TEMPLATES["limit_amount"][lang]
    template = MISSING_TEMPLATES.get(feature)
    return template[lang] if template else None


def _variant(template: tuple[str, str, str], selector: float) -> str:
    """(zero, one, many) by the selector value; an empty variant falls back to 'many'."""
    count = round(selector)
    chosen = template[0] if count == 0 else template[1] if count == 1 else template[2]
    return chosen or template[2]


class _Context(dict[str, str]):
    """Lazily formatted placeholder values for one row and language."""

    def __init__(self, row: Row, lang: str):
        super().__init__()
        self.row, self.lang = row, lang

    def __missing__(self, key: str) -> str:
        words = _WORDS[self.lang]
        phrases = {
            "serasa_when": lambda: _ago(self.row.get("serasa_age_days"), self.lang),
            "limit_when": lambda: _ago(self.row.get("limit_age_days"), self.lang),
            "tenure": lambda: _tenure(self.row.get("tenure_days"), self.lang),
            "previous_gap": lambda: _gap(self.row.get("days_since_previous_order"), self.lang),
            "state": lambda: _state(self.row.get("state_code"), words["unknown"]),
        }
        if key in phrases:
            return phrases[key]()
        return format_value(key, self.row.get(key), self.lang)


def format_value(feature: str, value: float | None, lang: str) -> str:
    """A feature value as an analyst reads it (money, 2.4x, 12.5%, counts)."""
    v = _value(value)
    if v is None:
        return _WORDS[lang]["unknown"]
    if feature in MONEY:
        return format_money(v, lang)
    if feature in RATIOS:
        return _number(v, 1 if abs(v) >= 1 else 2, lang) + "x"
    if feature in PERCENTAGES:
        return _trim(_number(v, 1, lang), lang) + "%"
    if feature in FRACTIONS:
        return _trim(_number(100 * v, 1, lang), lang) + "%"
    return _trim(_number(v, 2, lang), lang)


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


def _state(code: float | None, unknown: str) -> str:
    c = _value(code)
    return UFS[int(c)] if c is not None and 0 <= int(c) < len(UFS) else unknown


def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "pt-BR" else text


def _trim(text: str, lang: str) -> str:
    """Drop trailing decimal zeros: 12.0 -> 12, 12,50 -> 12,5."""
    point = "," if lang == "pt-BR" else "."
    return text.rstrip("0").rstrip(point) if point in text else text


def _value(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def _check(contributions: np.ndarray, names: Sequence[str], decision: str, lang: str) -> np.ndarray:
    contrib = np.asarray(contributions, dtype=np.float64).ravel()
    if len(contrib) != len(names) + 1:
        raise ValueError(f"expected {len(names) + 1} contributions (+ bias), got {len(contrib)}")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return contrib[:-1]
