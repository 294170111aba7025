"""The report page of a scored slice: one self-contained HTML document (inline CSS and SVG, no
script, no external asset) with the curves (app/ml/curves.py) drawn by app/ml/charts.py.

Every interpolated string goes through `html.escape` (feature names and titles may come from a
company); numbers are formatted here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.ml import charts
from app.ml.curves import Curves

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.15rem;margin:0 0 8px}
.sub{color:#555;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:16px;margin-bottom:16px}
section svg{max-width:100%;height:auto}
p.note{color:#555;font-size:.85rem;margin:6px 0 0}
table{border-collapse:collapse;font-size:.9rem;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e2e2e2;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.chosen td{font-weight:600;background:#fff6e0}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dt{color:#555}dd{margin:0}
"""


@dataclass(frozen=True)
class ReportInput:
    """What a page shows: its title, facts (label, value) for the summary, the curves, and the
    feature importance with the words that say what its numbers are."""

    title: str
    subtitle: str
    curves: Curves
    importance: Mapping[str, float]
    importance_label: str
    facts: Sequence[tuple[str, str]] = field(default_factory=tuple)


def page(report: ReportInput) -> str:
    c = report.curves
    sections = [
        _section("Summary", _facts(report, c)),
        _section("ROC curve", charts.roc(c), "Each point is a threshold: the orders the company blocked that it "
                 "catches, against the billed orders it blocks too."),
        _section("Precision-recall curve", charts.precision_recall(c), "Of the orders blocked at each threshold, "
                 "the share the company blocked too, against the share of its blocked orders caught."),
        _section("Calibration", charts.calibration(c), "Calibrated probability of block (bin mean) against the "
                 "block rate observed in the bin; on the diagonal a probability means what it says."),
        _section("Confusion matrix", charts.confusion(c), f"Orders at the threshold {c.threshold:.4f} (block when "
                 "probability ≥ threshold): the company's outcome in rows, the model's in columns."),
        _section("Score distribution", charts.score_distribution(c), "Probability of block of the orders the "
                 "company billed and of those it blocked."),
        _section("Feature importance", charts.importance(report.importance, report.importance_label),
                 html.escape(report.importance_label)),
    ]
    table = _section("Threshold table", _threshold_table(c), "Blocking from each threshold up; the highlighted "
                     "row is the threshold this version decides with.")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<h1>{html.escape(report.title)}</h1>\n<p class=\"sub\">{html.escape(report.subtitle)}</p>\n"
        f'<div class="grid">\n{"".join(sections)}</div>\n{table}</main>\n</body>\n</html>\n'
    )


def _section(heading: str, body: str, note: str | None = None) -> str:
    # `note` is written here, or escaped by the caller when it carries a company's text
    caption = f'<p class="note">{note}</p>' if note else ""
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n{body}\n{caption}</section>\n"


def _facts(report: ReportInput, c: Curves) -> str:
    rows = [*report.facts,
            ("orders", f"{c.orders:,} ({c.blocked:,} blocked, {c.billed:,} billed by the company)"),
            ("ROC AUC", _num(c.roc_auc)), ("average precision", _num(c.pr_auc)),
            ("expected calibration error", _num(c.ece)), ("threshold", f"{c.threshold:.4f}")]
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return f"<dl>{items}</dl>"


def _threshold_table(c: Curves) -> str:
    head = ("<tr><th>threshold</th><th>orders blocked</th><th>block rate</th><th>blocked orders caught</th>"
            "<th>billed orders blocked</th><th>precision</th></tr>")
    rows = []
    for row in c.table:
        chosen = ' class="chosen"' if row.threshold == c.threshold else ""
        rows.append(f"<tr{chosen}><td>{row.threshold:.4f}</td><td>{row.orders_blocked:,}</td>"
                    f"<td>{_pct(row.block_rate)}</td><td>{_pct(row.blocked_caught)}</td>"
                    f"<td>{_pct(row.billed_blocked)}</td><td>{_pct(row.precision)}</td></tr>")
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
