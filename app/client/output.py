"""What the CLI prints: results on stdout, progress and errors on stderr, tables in plain text."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from app.client.api import ApiError

MAX_LISTED_ERRORS = 20


def out(text: str = "") -> None:
    print(text, flush=True)


def say(text: str) -> None:
    """Progress, notes and errors: on stderr, so stdout stays the result."""
    print(text, file=sys.stderr, flush=True)


def as_json(value: Any) -> None:
    out(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> None:
    """Columns as wide as their widest cell; numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(header)]
    numeric = [all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(header))]
    out("  ".join(name.rjust(w) if num else name.ljust(w) for name, w, num in zip(header, widths, numeric,
                                                                                 strict=True)).rstrip())
    for row in cells:
        out("  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric,
                                                                            strict=True)).rstrip())


def problem_lines(error: ApiError) -> list[str]:
    """An API problem: `401 Unauthorized: <detail>`, then each invalid field, then the request id."""
    body = error.body
    title = body.get("title") or ""
    lines = [f"{error.status_code} {title}: {body.get('detail', '')}".replace(" : ", ": ").strip()]
    entries = error.errors
    for entry in entries[:MAX_LISTED_ERRORS]:
        where = f"item {entry['index']}, " if entry.get("index") is not None else ""
        lines.append(f"  {where}{entry.get('field') or 'body'}: {entry.get('message', '')}")
    if len(entries) > MAX_LISTED_ERRORS:
        lines.append(f"  ... and {len(entries) - MAX_LISTED_ERRORS} more")
    if body.get("request_id"):
        lines.append(f"  (request id {body['request_id']})")
    return lines


def listed(lines: list[str]) -> list[str]:
    """At most MAX_LISTED_ERRORS lines, then how many more."""
    if len(lines) <= MAX_LISTED_ERRORS:
        return lines
    return lines[:MAX_LISTED_ERRORS] + [f"... and {len(lines) - MAX_LISTED_ERRORS} more"]


def metrics_lines(model: dict) -> list[str]:
    m = model["metrics"]
    lines = [f"model version {model['version']}{' (active)' if model.get('active') else ''}, "
             f"threshold {model['threshold']:.3f}, trained in {model['training_seconds']:.1f}s"]
    lines += evaluation_lines(m)
    return lines


def evaluation_lines(m: dict) -> list[str]:
    lines = [f"  {name:10s} {m[name]:.4f}" for name in
             ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier")
             if m.get(name) is not None]
    if m.get("confusion_matrix"):
        (tn, fp), (fn, tp) = m["confusion_matrix"]["matrix"]
        lines += ["  confusion (rows actual, columns predicted)   billed  blocked",
                  f"    billed  {tn:>40} {fp:>8}",
                  f"    blocked {fn:>40} {tp:>8}"]
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit() or text == "-"
